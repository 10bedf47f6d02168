"""The sandbox's mutable world: orgs, their configs, tokens (assistants: ``unversioned``).

Nothing here awaits. A handler that compares an ETag and then calls
``ConfigState.append`` does so in one uninterrupted step of the event loop,
which is what makes the check-and-write atomic.

Served bodies are never mutated in place: a write builds a new dict, so a
``Version`` (its body, its serialized bytes, its ETag) stays valid forever.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestrator.sandbox.faults import FaultDice, Faults
from orchestrator.sandbox.ratelimit import SlidingWindow

if TYPE_CHECKING:
    from orchestrator.sandbox.unversioned import AssistantState, ChecklistState

CONFIGS_PATH = "/api/v2/agentassist/configs"
ASSISTANTS_PATH = "/api/v2/assistants"


def iso_after(previous: str | None = None) -> str:
    """Now as an API timestamp, strictly later than ``previous``.

    Clients compare ``dateModified`` to detect foreign writes, so two writes in
    the same millisecond (or a seed dated ahead of this machine's clock) must
    still give two different, increasing timestamps.
    """
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the served precision
    if previous is not None:
        before = datetime.fromisoformat(previous)
        if now <= before:
            now = before + timedelta(milliseconds=1)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def api_stamp(value: object) -> str | None:
    """``value`` (a datetime or ISO 8601 text) as an API timestamp, or None if it is neither."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_ref(user_id: str) -> dict[str, str]:
    """A ``modifiedBy``-style reference to a user."""
    return {"id": user_id, "selfUri": f"/api/v2/users/{user_id}"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """One stored version of a config: its complete body, serialized once."""

    number: int
    body: dict[str, Any]
    raw: bytes
    etag: str
    date: str  # when it was written: the body's dateModified
    by: str

    @classmethod
    def build(
        cls,
        config_id: str,
        fields: dict[str, Any],
        *,
        number: int,
        created: str,
        date: str,
        by: str,
    ) -> Version:
        """A version from its writable ``fields`` (all of them) and metadata."""
        body = {
            "id": config_id,
            "name": fields["name"],
            "description": fields.get("description", ""),
            "version": number,
            "deployed": fields.get("deployed", False),
            "trafficPercent": fields.get("trafficPercent", 0),
            "content": fields["content"],
            "dateCreated": created,
            "dateModified": date,
            "modifiedBy": user_ref(by),
            "selfUri": f"{CONFIGS_PATH}/{config_id}",
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        # Derived from the served bytes: two writes never serve the same bytes
        # (version and dateModified differ), so the ETag changes with each.
        etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
        # Parsed back rather than kept: the stored body shares nothing with the
        # caller's objects (a seed, a request body kept in the log).
        return cls(number=number, body=json.loads(raw), raw=raw, etag=etag, date=date, by=by)

    def fields(self) -> dict[str, Any]:
        """The writable fields, without ``version``."""
        b = self.body
        return {
            "name": b["name"],
            "description": b["description"],
            "deployed": b["deployed"],
            "trafficPercent": b["trafficPercent"],
            "content": b["content"],
        }


class ConfigState:
    """One agentassist-config: its kept versions and when each went live."""

    __slots__ = ("_activations", "id", "versions")

    def __init__(self, config_id: str, versions: list[Version]) -> None:
        self.id = config_id
        self.versions = versions  # oldest first, consecutive numbers
        # (time it becomes active, version); seeded history is long live.
        self._activations: list[tuple[float, int]] = [(-math.inf, versions[-1].number)]

    @property
    def current(self) -> Version:
        """The newest version."""
        return self.versions[-1]

    def find(self, number: int) -> Version | None:
        """A kept version by number; None if it never existed or was pruned."""
        index = number - self.versions[0].number
        return self.versions[index] if 0 <= index < len(self.versions) else None

    def append(
        self, fields: dict[str, Any], *, by: str, active_at: float, retention: int | None
    ) -> Version:
        """Store a new version: the current fields overlaid with ``fields``."""
        current = self.current
        merged = current.fields() | {k: v for k, v in fields.items() if k != "version"}
        version = Version.build(
            self.id,
            merged,
            number=current.number + 1,
            created=current.body["dateCreated"],
            date=iso_after(current.date),
            by=by,
        )
        self.versions.append(version)
        self.prune(retention)
        self._activations.append((active_at, version.number))
        return version

    def prune(self, retention: int | None) -> None:
        """Forget all but the ``retention`` newest versions."""
        if retention is not None and len(self.versions) > retention:
            del self.versions[: len(self.versions) - retention]

    def active_version(self, now: float) -> int:
        """The version analytics reports live at ``now`` (propagation delay)."""
        live = [v for at, v in self._activations if at <= now]
        active = max(live)
        self._activations = [(-math.inf, active)] + [p for p in self._activations if p[0] > now]
        return active


class OrgState:
    """One org: identity, credentials, limits, faults and resources."""

    __slots__ = (
        "api_requests",
        "assistants",
        "checklists",
        "client_id",
        "client_secret",
        "client_user",
        "configs",
        "dice",
        "display_name",
        "faults",
        "name",
        "org_id",
        "permissions",
        "queue_owner",
        "queues",
        "requests_per_minute",
        "throttle_left",
        "token_expires_in",
        "token_window",
        "writer_user",
    )

    def __init__(
        self,
        *,
        name: str,
        org_id: str,
        display_name: str,
        client_id: str,
        client_secret: str,
        permissions: frozenset[str],
        requests_per_minute: int | None,
        token_expires_in: int,
        faults: Faults,
        dice: FaultDice,
        configs: dict[str, ConfigState],
        assistants: dict[str, AssistantState],
        checklists: dict[str, ChecklistState],
        queues: dict[str, str],
        client_user: str,
        writer_user: str,
    ) -> None:
        self.name = name
        self.org_id = org_id
        self.display_name = display_name
        self.client_id = client_id
        self.client_secret = client_secret
        self.permissions = permissions
        self.requests_per_minute = requests_per_minute
        self.token_expires_in = token_expires_in
        self.faults = faults
        self.dice = dice
        self.configs = configs
        self.assistants = assistants
        self.checklists = checklists
        self.queues = queues  # routing queue id -> name
        self.queue_owner: dict[str, str] = {  # queue id -> the assistant it is bound to
            q: a.id for a in assistants.values() for q in a.bindings
        }
        self.client_user = client_user  # modifiedBy of writes made through the API
        self.writer_user = writer_user  # modifiedBy of "another writer"
        self.throttle_left = 0  # requests left in the current 429 burst
        self.api_requests = 0  # authenticated API requests so far (for throttle_at)
        self.token_window = SlidingWindow()


class TokenState:
    """An access token: whose it is, until when, and its rate window."""

    __slots__ = ("expires_at", "org", "window")

    def __init__(self, org: OrgState, expires_at: float) -> None:
        self.org = org
        self.expires_at = expires_at
        self.window = SlidingWindow()
