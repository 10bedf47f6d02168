"""What every resource kind shares: the live state, the target, and the seam.

Paths, write verb, concurrency guard, history source and verification live
behind the small :class:`ResourceKind` protocol; the engine's algorithm is
written once against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.genesys.answers import Checked
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import comparable, content_hash
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The content an item must end up with, resolved from its ``to:`` (``set`` applied)."""

    fields: Mapping[str, Any]
    hash: str
    version: int | None  # the history version (or snapshot's version) it came from
    label: str  # "v4", "snapshot 2026-11-27T22:00:00Z"

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
        return cls(fields=merged, hash=content_hash(merged), version=version, label=label)


class ResourceKind(Protocol):
    """The seam between the worker's algorithm and one resource kind's API."""

    kind: Kind
    has_server_history: bool  # targets can come from the server's version history
    rereads_before_write: bool  # no server-side guard: compare dateModified first

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

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        """Send the guarded write; the new live state as the server answered it."""
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
