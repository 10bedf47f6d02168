"""The validated, normalised plan: what the core works from, never raw YAML.

``orchestrator.planfile.loader.load_plan`` builds these from the plan and environment
files. Durations are seconds, percentages fractions, ``${VAR}`` resolved,
regions resolved to base URLs, waves resolved to concrete org lists.
"""

from __future__ import annotations

import enum
import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.timestamps import zulu


class Kind(enum.StrEnum):
    """A resource kind the orchestrator can roll back (api.md sections 5 and 6)."""

    AGENTASSIST_CONFIG = "agentassist-config"
    ASSISTANT = "assistant"
    ASSISTANT_QUEUES = "assistant-queues"  # the id is the assistant's; content: its queues
    AGENT_CHECKLIST = "agent-checklist"


class OnDrift(enum.StrEnum):
    """What to do when someone else changed a config since planning."""

    STOP = "stop"
    OVERWRITE = "overwrite"


class Secret(str):
    """A string that never shows itself in ``repr`` or formatted output.

    ``str(secret)`` still returns the value (it has to reach the token
    request); ``repr`` and f-strings with ``!r`` print a placeholder.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True, kw_only=True)
class Org:
    """How to reach one Genesys Cloud org through its own OAuth client."""

    name: str
    api_base: str  # e.g. https://api.mypurecloud.ie or http://127.0.0.1:8787, no trailing /
    login_base: str  # e.g. https://login.mypurecloud.ie; the sandbox uses api_base
    client_id: str
    client_secret: Secret = field(repr=False)
    org_id: str | None = None
    requests_per_minute: int = 300
    concurrency: int = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """The orgs of one environment file (or of a plan's inline ``orgs:``)."""

    path: Path | None
    orgs: tuple[Org, ...]
    # By name, the first of a name winning: looked up per item, and plans have 1,000 orgs.
    _by_name: dict[str, Org] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Org] = {}
        for org in self.orgs:
            by_name.setdefault(org.name, org)
        object.__setattr__(self, "_by_name", by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def org(self, name: str) -> Org:
        """The org called ``name``; ``KeyError`` if there is none."""
        return self._by_name[name]


@dataclass(frozen=True, slots=True)
class ToVersion:
    """``to: 4``: that version from history (or the snapshot store)."""

    version: int

    def __str__(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True, slots=True)
class ToPrevious:
    """``to: previous``: the version just before the current one."""

    def __str__(self) -> str:
        return "previous"


@dataclass(frozen=True, slots=True)
class ToBefore:
    """``to: {before: T}``: the newest version created strictly before T."""

    instant: datetime  # timezone-aware, UTC

    def __str__(self) -> str:
        return f"before {zulu(self.instant)}"


@dataclass(frozen=True, slots=True)
class ToSnapshot:
    """``to: {snapshot: T}``: the newest local snapshot taken at or before T."""

    instant: datetime  # timezone-aware, UTC

    def __str__(self) -> str:
        return f"snapshot at or before {zulu(self.instant)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToContent:
    """``to: {content: PATH}``: the writable fields of a JSON or YAML file, read by the loader."""

    path: Path  # resolved; the file the plan names (relative to the plan file)
    fields: Mapping[str, Any]  # validated against the kind's writable fields

    def __str__(self) -> str:
        return f"content {self.path.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToFrom:
    """``to: {from: {org: NAME, id: ID}}``: the live content of that item in a golden org."""

    org: str
    id: str

    def __str__(self) -> str:
        return f"from {self.org}/{self.id}"


To = ToVersion | ToPrevious | ToBefore | ToSnapshot | ToContent | ToFrom
"""An item's ``to:``: which content it is rolled back (or out) to (resolved into a ``Target``)."""

ROLLOUTS = (ToContent, ToFrom)
"""The ``to:`` forms whose content comes from elsewhere, so its references need ``ids:``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdMap:
    """``ids:``: how references to objects of another org become this org's ids."""

    mapped: Mapping[str, str] = field(default_factory=dict)  # id there -> id here
    keep: frozenset[str] = frozenset()  # ids valid here as they are

    def __bool__(self) -> bool:
        return bool(self.mapped or self.keep)

    def under(self, narrower: IdMap) -> IdMap:
        """This map with ``narrower`` (a target's or an item's) laid on top of it."""
        mapped = {k: v for k, v in self.mapped.items() if k not in narrower.keep}
        keep = (self.keep - set(narrower.mapped)) | narrower.keep
        return IdMap(mapped={**mapped, **narrower.mapped}, keep=frozenset(keep))


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One configuration to roll back in one org."""

    org: str
    kind: Kind
    id: str  # restricted to a URL-safe character set by the loader
    to: To
    on_drift: OnDrift = OnDrift.STOP
    set: Mapping[str, Any] = field(default_factory=dict)  # writable fields forced on top
    reviewed: bool = False  # from a saved plan (`apply`): any drift refuses it, `plan.stale`
    ids: IdMap = field(default_factory=IdMap)  # references of rolled-out content

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the item within a plan: (org, kind, id)."""
        return (self.org, self.kind.value, self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """``max_failed``: a count, or a fraction of the wave's items (rounded down)."""

    count: int | None = None
    fraction: float | None = None

    def allowed(self, items: int) -> int:
        """How many failures are tolerated among ``items``; more than this trips."""
        if self.count is not None:
            return self.count
        if self.fraction is not None:
            return max(0, math.floor(self.fraction * items + 1e-9))
        return items  # no threshold: never trips

    def __str__(self) -> str:
        if self.count is not None:
            return str(self.count)
        if self.fraction is not None:
            return f"{self.fraction * 100:g}%"
        return "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    """A group of orgs run together, with the gates that guard it."""

    name: str
    orgs: tuple[str, ...]  # concrete org names, globs already expanded
    max_failed: Threshold = field(default_factory=Threshold)
    bake: float = 0.0  # seconds
    approve: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Capped exponential backoff with full jitter, in seconds."""

    base: float = 0.2
    max: float = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Run-wide limits; per-org limits live on :class:`Org`."""

    concurrency: int = 32
    attempts: int = 8
    backoff: Backoff = field(default_factory=Backoff)
    verify_timeout: float = 300.0
    max_retry_after: float = 180.0
    request_timeout: float = 30.0  # per attempt; added key, documented in the README
    max_rate: float | None = None  # requests per second over every org; None: no cap


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """The change window."""

    not_before: datetime | None = None
    not_after: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A fully validated plan, ready to run."""

    path: Path
    sha256: str  # of the plan file's bytes
    name: str
    description: str
    environment: Environment
    items: tuple[Item, ...]
    waves: tuple[Wave, ...]
    limits: Limits = field(default_factory=Limits)
    schedule: Schedule = field(default_factory=Schedule)
    limit: tuple[str, ...] = ()  # `--limit`: the org names or globs kept
    left_out: tuple[str, ...] = ()  # the plan's orgs `--limit` left out
    # Each org's wave, the first naming it winning: looked up per item.
    _wave_of: dict[str, Wave] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wave_of: dict[str, Wave] = {}
        for wave in self.waves:
            for org in wave.orgs:
                wave_of.setdefault(org, wave)
        object.__setattr__(self, "_wave_of", wave_of)

    @property
    def orgs(self) -> tuple[str, ...]:
        """The orgs with items, in the order the targets first name them."""
        return tuple(dict.fromkeys(item.org for item in self.items))

    def limited(self, patterns: tuple[str, ...]) -> Plan:
        """This plan restricted to the orgs ``patterns`` (names or globs) match.

        Raises:
            ValueError: a pattern matches none of the plan's orgs.
        """
        orgs = self.orgs
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(org, pattern) for org in orgs):
                raise ValueError(
                    f"--limit {pattern!r} matches no org of plan {self.name!r}"
                    f" (its orgs: {', '.join(orgs)})"
                )
        kept = {o for o in orgs if any(fnmatch.fnmatchcase(o, p) for p in patterns)}
        waves = (replace(w, orgs=tuple(o for o in w.orgs if o in kept)) for w in self.waves)
        return replace(
            self,
            items=tuple(item for item in self.items if item.org in kept),
            waves=tuple(wave for wave in waves if wave.orgs),
            limit=patterns,
            left_out=tuple(org for org in orgs if org not in kept),
        )

    def wave_of(self, org: str) -> Wave:
        """The wave an org belongs to; ``KeyError`` if none."""
        return self._wave_of[org]


_SHARD = re.compile(r"(\d{1,4})/(\d{1,4})")


@dataclass(frozen=True, slots=True)
class Shard:
    """``--shard I/N``: this process drives shard ``index`` of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 0 ≤ I < N.

        Raises:
            ValueError: anything else, in words.
        """
        match = _SHARD.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"expected I/N (for example 0/3), got {text!r}")
        index, count = int(match[1]), int(match[2])
        if count < 1 or index >= count:
            raise ValueError(f"needs 0 <= I < N, got {index}/{count}")
        return cls(index, count)
