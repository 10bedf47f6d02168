"""What every resource kind shares: the live state, the target, and the seam.

Paths, write verb, concurrency guard, history source and verification live
behind the small :class:`ResourceKind` protocol; the engine's algorithm is
written once against it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.errors import TargetUnavailable, Unrestorable
from orchestrator.genesys.answers import Checked
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import comparable, content_hash, unrestorable
from orchestrator.genesys.references import Mapped
from orchestrator.models import Kind, To

PAGE_SIZE = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class Live:
    """A resource as the server showed it at one moment."""

    version: int | None  # None for assistants: they have no version
    etag: str | None  # None for assistants
    modified: str | None  # dateModified, the assistant's only guard
    fields: Mapping[str, Any]  # comparable content (writable minus version)
    hash: str
    # ININ-Correlation-Id of the write that produced this state (None for reads):
    # the key into Genesys Cloud's own audit log.
    correlation_id: str | None = None

    def holding(self, fields: Mapping[str, Any]) -> Live:
        """This state with ``fields`` as its content (``dataclasses.replace``, cheaper:
        the engine sheds and recalls content on every item)."""
        return Live(
            version=self.version,
            etag=self.etag,
            modified=self.modified,
            fields=fields,
            hash=self.hash,
            correlation_id=self.correlation_id,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The content an item must end up with, resolved from its ``to:`` (``set`` applied)."""

    fields: Mapping[str, Any]
    hash: str
    version: int | None  # the history version (or snapshot's version) it came from
    label: str  # "v4", "snapshot 2026-11-27T22:00:00Z", "from canary/<id>"
    mapped: tuple[Mapped, ...] = ()  # references of rolled-out content, as `ids:` mapped them

    def holding(self, fields: Mapping[str, Any]) -> Target:
        """This target with ``fields`` as its content (see :meth:`Live.holding`)."""
        return Target(
            fields=fields,
            hash=self.hash,
            version=self.version,
            label=self.label,
            mapped=self.mapped,
        )

    @classmethod
    def build(
        cls,
        fields: Mapping[str, Any],
        overrides: Mapping[str, Any],
        *,
        version: int | None,
        label: str,
    ) -> Target:
        """Target content from history or a snapshot, with ``set`` laid on top."""
        merged = {**fields, **overrides}
        # Labels repeat ("v4", "snapshot <instant>"): one string each, not one per item.
        label = sys.intern(label)
        return cls(fields=merged, hash=content_hash(merged), version=version, label=label)


class ResourceKind(Protocol):
    """The seam between the worker's algorithm and one resource kind's API."""

    kind: Kind
    has_server_history: bool  # targets can come from the server's version history
    rereads_before_write: bool  # no server-side guard: compare dateModified first
    # A write of several requests can stop halfway; telling that from drift needs the
    # baseline's parts, so an item of such a kind keeps them while it is worked on.
    partial_writes: bool

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        """The live state (one GET)."""
        ...

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        """Version number and comparable content of a history target.

        Raises:
            TargetUnavailable: the target does not exist or was pruned.
        """
        ...

    def problem(self, live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
        """Why writing ``target`` over ``live`` would not restore it safely, or None.

        Checked at planning and again right before each write: a field the
        kind does not know that differs, or a change the server forbids.
        """
        ...

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        """Send the guarded write (one request or several); the new live state as answered.

        A write of several requests may fail halfway; the worker re-reads and
        calls it again with what is left to do (see ``content.between``).

        Raises:
            QueueTaken: the target would take a queue from another assistant.
        """
        ...

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        """One verification probe: has the write gone live?"""
        ...


def live_of(checked: Checked, correlation_id: str | None = None) -> Live:
    """The :class:`Live` of an answer :mod:`~orchestrator.genesys.answers` has checked."""
    return Live(
        version=checked.version,
        etag=checked.etag,
        modified=checked.modified,
        fields=checked.fields,
        hash=checked.hash,
        correlation_id=correlation_id,
    )


def unknown_fields(
    kind: Kind, live: Mapping[str, Any], target: Mapping[str, Any]
) -> Unrestorable | None:
    """The refusal for fields ``kind`` does not know that differ, or None."""
    paths = unrestorable(kind, live, target)
    if not paths:
        return None
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return Unrestorable(
        f"{shown}: not a field the orchestrator knows for {kind}, and it differs from the "
        "target; a write could not promise to put it back, so nothing is written (a field "
        "is never silently ignored)",
        code="field.unknown",
    )


async def read_back(
    kind: ResourceKind, client: OrgClient, rid: str, target: Target, stats: HttpStats
) -> bool:
    """One read-back probe: does the live content equal the target yet?

    Reads may lag behind a write for a while (caches), so the verifier calls
    this again until it matches or ``verify_timeout`` runs out.
    """
    return (await kind.read(client, rid, stats)).hash == target.hash


async def cursor_pages(
    client: OrgClient, first: str, stats: HttpStats, rid: str | None = None
) -> list[dict[str, Any]]:
    """Every entity of a cursor-paged listing, following ``nextUri`` (each page once)."""
    found: list[dict[str, Any]] = []
    path: str | None = first
    seen: set[str] = set()
    while path and path not in seen:
        seen.add(path)
        resp = await client.request("GET", path, resource_id=rid, stats=stats)
        body = resp.body
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            # A page that is not a listing is not "nothing there": never read it as empty.
            raise resp.malformed(f"is not a page of entities (got {resp.shape()})", rid or path)
        found.extend(entities)
        next_uri = body.get("nextUri")
        path = next_uri if isinstance(next_uri, str) and next_uri.startswith("/api/v2/") else None
    return found


def live_from(
    kind: Kind, body: Any, etag: str | None = None, correlation_id: str | None = None
) -> Live:
    """A :class:`Live` from a resource body as the API serves it."""
    if not isinstance(body, dict):
        body = {}
    fields = comparable(kind, body)
    version = body.get("version")
    modified = body.get("dateModified")
    return Live(
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        etag=etag,
        modified=modified if isinstance(modified, str) else None,
        fields=fields,
        hash=content_hash(fields),
        correlation_id=correlation_id,
    )


class SnapshotOnly:
    """What the kinds whose server keeps no history share: targets come from snapshots only,
    the guard is a re-read before the write, and unknown fields that differ are refused."""

    kind: Kind
    noun: str  # "agent checklists": for the message a history target gets
    has_server_history = False
    rereads_before_write = True
    partial_writes = True  # queues' bindings: added and removed one by one

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        raise TargetUnavailable(
            f"{self.noun} have no server-side history: use a snapshot target",
            code="target.missing",
        )

    def problem(self, live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
        return unknown_fields(self.kind, live, target)
