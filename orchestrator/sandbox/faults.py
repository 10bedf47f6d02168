"""Fault settings per org (api.md section 7) and the seeded dice that fire them.

Every fault is off by default. A faults file maps org names to settings; the
key ``"*"`` applies to every org the file does not name::

    canary:
      server_error_rate: 0.05
      throttle_rate: 0.02
      throttle_burst: 3
    "*":
      latency: 0.02

Durations are seconds. The same keys may sit under an org's ``faults:`` in the
seed file. ``orchestrator.sandbox.seed.load_faults`` reads such a file.

Reproducibility: each decision draws from its own ``random.Random`` derived from
``(rng_seed, org, fault, resource)``. A client that hits four configs of one org
concurrently therefore sees the same outcome per config whatever order its
requests arrive in; only org-wide faults (429 bursts) follow arrival order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import Problem

WRITER_MODES = ("bump", "edit")


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """What may go wrong for one org; every field's default is "off".

    Raises:
        ValueError: a value is out of range.
    """

    latency: float = 0.0  # extra delay, uniform in 0..latency s, before handling
    server_error_rate: float = 0.0  # share of API requests answered 500/502/503/504
    throttle_rate: float = 0.0  # chance that an API request starts a 429 burst
    throttle_burst: int = 1  # consecutive API requests of the org that get 429
    throttle_retry_after: float = 1.0  # seconds announced in Retry-After
    throttle_http_date: bool = False  # Retry-After as an HTTP date, not seconds
    throttle_at: int | None = None  # the org's Nth API request (from 1) starts a 429 burst
    concurrent_writer_rate: float = 0.0  # chance another writer changes the resource first
    concurrent_writer_mode: str = "bump"  # "bump": same content; "edit": content changes
    token_ttl: float | None = None  # tokens die after N s, whatever expires_in said
    propagation_delay: float = 0.0  # s before analytics activeVersion shows a write
    assistant_read_lag: float = 0.0  # s GETs of assistants (copilot, queues), checklists lag
    version_retention: int | None = 25  # newest versions kept; None keeps all
    page_size_cap: int | None = None  # largest pageSize the listings honour
    conflict_status: int = 409  # 409 general.resource.conflict or 412 precondition.failed
    version_mismatch_as_400: bool = False  # wrong body version: 400 bad.request, not 409
    drop_after_write_rate: float = 0.0  # apply the write, then drop the connection
    token_requests_per_minute: int | None = None  # token endpoint limit (answers 400)
    ratelimit_headers_on_429_only: bool = False  # inin-ratelimit-* only with 429s, as some do

    def __post_init__(self) -> None:
        problems = list(_range_problems(self))
        if problems:
            raise ValueError("; ".join(problems))


def _range_problems(f: Faults) -> list[str]:
    out: list[str] = []
    for name in ("server_error_rate", "throttle_rate", "concurrent_writer_rate"):
        if not 0.0 <= getattr(f, name) <= 1.0:
            out.append(f"{name} must be between 0 and 1")
    if not 0.0 <= f.drop_after_write_rate <= 1.0:
        out.append("drop_after_write_rate must be between 0 and 1")
    for name in ("latency", "throttle_retry_after", "propagation_delay", "assistant_read_lag"):
        if getattr(f, name) < 0:
            out.append(f"{name} must not be negative")
    for name in (
        "throttle_burst",
        "version_retention",
        "page_size_cap",
        "token_requests_per_minute",
        "throttle_at",
    ):
        value = getattr(f, name)
        if value is not None and value < 1:
            out.append(f"{name} must be at least 1")
    if f.token_ttl is not None and f.token_ttl <= 0:
        out.append("token_ttl must be positive")
    if f.conflict_status not in (409, 412):
        out.append("conflict_status must be 409 or 412")
    if f.concurrent_writer_mode not in WRITER_MODES:
        out.append("concurrent_writer_mode must be 'bump' or 'edit'")
    return out


# Field types as written in the annotations above; `from __future__ import
# annotations` leaves them as strings, which is all the parser needs.
_KINDS = {f.name: str(f.type) for f in dataclasses.fields(Faults)}


def _check_value(name: str, value: Any) -> str | None:
    kind = _KINDS[name]
    if value is None:
        return None if "None" in kind else "must not be null"
    if kind.startswith("bool"):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool):
        return "must be a number"
    if kind.startswith("float"):
        return (
            None if isinstance(value, int | float) else "must be a number (seconds or a fraction)"
        )
    if kind.startswith("int"):
        return None if isinstance(value, int) else "must be an integer"
    return None if isinstance(value, str) else "must be a string"


def parse_faults(data: Any, *, file: str, path: str) -> tuple[Faults, list[Problem]]:
    """Faults from one YAML mapping, and every problem found in it."""
    if data is None:
        return Faults(), []
    if not isinstance(data, Mapping):
        return Faults(), [Problem(file=file, path=path, message="must be a mapping")]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            problems.append(Problem(file=file, path=where, message="unknown fault", hint=known))
        elif (why := _check_value(key, value)) is not None:
            problems.append(Problem(file=file, path=where, message=why))
        else:
            values[key] = (
                float(value) if _KINDS[key].startswith("float") and value is not None else value
            )
    try:
        faults = Faults(**values)
    except ValueError as exc:
        problems.append(Problem(file=file, path=path, message=str(exc)))
    return (Faults(), problems) if problems else (faults, [])


class FaultDice:
    """Seeded random streams for one org, one per (fault, resource)."""

    __slots__ = ("_base", "_streams")

    def __init__(self, rng_seed: int, org: str) -> None:
        self._base = f"{rng_seed}\x00{org}"
        self._streams: dict[str, random.Random] = {}

    def stream(self, fault: str, key: str = "") -> random.Random:
        """The stream for one fault and resource (created on first use)."""
        name = f"{fault}\x00{key}"
        rng = self._streams.get(name)
        if rng is None:
            # hash() of a str is salted per process; sha256 is the same everywhere.
            digest = hashlib.sha256(f"{self._base}\x00{name}".encode()).digest()
            rng = self._streams[name] = random.Random(int.from_bytes(digest[:8], "big"))
        return rng

    def chance(self, rate: float, fault: str, key: str = "") -> bool:
        """True with probability ``rate``; draws nothing when the fault is off."""
        if rate <= 0.0:
            return False
        return self.stream(fault, key).random() < rate
