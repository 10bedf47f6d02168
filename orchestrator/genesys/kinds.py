"""Resource kinds: what differs between ``agentassist-config`` and ``assistant``.

Paths, write verb, concurrency guard, history source and verification live
behind the small :class:`ResourceKind` protocol; the worker's algorithm is
written once against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from orchestrator.errors import NotFound, TargetUnavailable
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import comparable, content_hash
from orchestrator.models import Kind, Target, ToBefore, ToPrevious, ToVersion

PAGE_SIZE = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class Live:
    """A resource as the server showed it at one moment."""

    version: int | None  # None for assistants: they have no version
    etag: str | None  # None for assistants
    modified: str | None  # dateModified, the assistant's only guard
    fields: Mapping[str, Any]  # comparable content (writable minus version)
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetState:
    """The content an item must end up with (the plan's ``set`` already applied)."""

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
    ) -> TargetState:
        """Target content from history or a snapshot, with ``set`` laid on top."""
        merged = {**fields, **overrides}
        return cls(fields=merged, hash=content_hash(merged), version=version, label=label)


class ResourceKind(Protocol):
    """The seam between the worker's algorithm and one resource kind's API."""

    kind: Kind
    has_server_history: bool  # targets can come from the server's version history
    rereads_before_write: bool  # no server-side guard: compare dateModified first

    async def read(self, client: OrgClient, rid: str, tally: HttpStats) -> Live:
        """The live state (one GET)."""
        ...

    async def resolve(
        self, client: OrgClient, rid: str, to: Target, live: Live, tally: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        """Version number and comparable content of a history target.

        Raises:
            TargetUnavailable: the target does not exist or was pruned.
        """
        ...

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: TargetState, tally: HttpStats
    ) -> Live:
        """Send the guarded write; the new live state as the server answered it."""
        ...

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: TargetState, tally: HttpStats
    ) -> bool:
        """One verification probe: has the write gone live?"""
        ...


def live_from(kind: Kind, body: Any, etag: str | None = None) -> Live:
    """A :class:`Live` from a resource body as the API serves it."""
    if not isinstance(body, dict):
        body = {}
    fields = comparable(kind, body)
    version = body.get("version")
    return Live(
        version=version if isinstance(version, int) else None,
        etag=etag,
        modified=body.get("dateModified"),
        fields=fields,
        hash=content_hash(fields),
    )


def _parse_instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class AgentAssistConfig:
    """``agentassist-config``: PUT guarded by ``If-Match`` and ``version`` + 1."""

    kind = Kind.AGENTASSIST_CONFIG
    has_server_history = True
    rereads_before_write = False

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path (ids are validated; quoted anyway)."""
        return f"/api/v2/agentassist/configs/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, tally: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, tally=tally)
        return live_from(self.kind, resp.body, resp.etag)

    async def resolve(
        self, client: OrgClient, rid: str, to: Target, live: Live, tally: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        current = live.version or 0
        if isinstance(to, ToBefore):
            wanted = await self._version_before(client, rid, to.instant, tally)
        elif isinstance(to, ToPrevious):
            wanted = current - 1
            if wanted < 1:
                raise TargetUnavailable(
                    f"version {current} is the first one: there is no previous version",
                    code="target.missing",
                )
        elif isinstance(to, ToVersion):
            wanted = to.version
            if wanted > current:
                raise TargetUnavailable(
                    f"version {wanted} does not exist (the current version is {current})",
                    code="target.missing",
                )
        else:
            raise TypeError(f"{to!r} is not a history target")
        if wanted == current:
            return wanted, live.fields
        path = f"{self.path(rid)}/versions/{wanted}"
        try:
            resp = await client.request("GET", path, resource_id=rid, tally=tally)
        except NotFound as exc:
            raise TargetUnavailable(
                f"version {wanted} is no longer in the server's history (pruned: the server "
                "keeps only its newest versions)",
                code="target.pruned",
                cause=exc,
            ) from None
        return wanted, comparable(self.kind, resp.body if isinstance(resp.body, dict) else {})

    async def _version_before(
        self, client: OrgClient, rid: str, instant: datetime, tally: HttpStats
    ) -> int:
        page, pages, oldest = 1, 1, None
        while page <= pages:
            path = f"{self.path(rid)}/versions?pageSize={PAGE_SIZE}&pageNumber={page}"
            resp = await client.request("GET", path, resource_id=rid, tally=tally)
            body = resp.body if isinstance(resp.body, dict) else {}
            for entity in body.get("entities") or []:
                created = _parse_instant(entity.get("dateCreated"))
                version = entity.get("version")
                if created is None or not isinstance(version, int):
                    continue
                if created < instant:
                    return version  # newest first: the first match is the newest
                oldest = (version, entity.get("dateCreated"))
            pages = int(body.get("pageCount") or 1)
            page += 1
        kept = f" (oldest kept: version {oldest[0]}, created {oldest[1]})" if oldest else ""
        raise TargetUnavailable(
            f"no kept version was created before {instant.isoformat()}{kept}; "
            "older versions may have been pruned",
            code="target.pruned",
        )

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: TargetState, tally: HttpStats
    ) -> Live:
        assert live.etag is not None and live.version is not None
        body = {**target.fields, "version": live.version + 1}
        resp = await client.request(
            "PUT",
            self.path(rid),
            body=body,
            headers={"If-Match": live.etag},
            resource_id=rid,
            tally=tally,
        )
        return live_from(self.kind, resp.body, resp.etag)

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: TargetState, tally: HttpStats
    ) -> bool:
        resp = await client.request(
            "POST",
            "/api/v2/analytics/agentassist/conversations/query",
            body={"filter": {"configId": rid}},
            resource_id=rid,
            tally=tally,
        )
        results = resp.body.get("results") if isinstance(resp.body, dict) else None
        for result in results or []:
            if result.get("configId") == rid:
                active = result.get("activeVersion")
                # Another writer may already have moved past our version.
                return isinstance(active, int) and active >= (written.version or 0)
        return False


class Assistant:
    """``assistant``: PATCH with no server guard; re-read before, read back after."""

    kind = Kind.ASSISTANT
    has_server_history = False
    rereads_before_write = True

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path."""
        return f"/api/v2/assistants/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, tally: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, tally=tally)
        return live_from(self.kind, resp.body, None)

    async def resolve(
        self, client: OrgClient, rid: str, to: Target, live: Live, tally: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        raise TargetUnavailable(
            "assistants have no server-side history: use a snapshot target", code="target.missing"
        )

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: TargetState, tally: HttpStats
    ) -> Live:
        resp = await client.request(
            "PATCH", self.path(rid), body=dict(target.fields), resource_id=rid, tally=tally
        )
        return live_from(self.kind, resp.body, None)

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: TargetState, tally: HttpStats
    ) -> bool:
        # Reads may lag behind a PATCH for a while (caches); keep reading back.
        return (await self.read(client, rid, tally)).hash == target.hash


KINDS: Mapping[Kind, ResourceKind] = {
    Kind.AGENTASSIST_CONFIG: AgentAssistConfig(),
    Kind.ASSISTANT: Assistant(),
}


async def list_assistants(client: OrgClient, tally: HttpStats) -> list[dict[str, Any]]:
    """Every assistant of an org, following the listing's ``nextUri`` cursor."""
    found: list[dict[str, Any]] = []
    path: str | None = f"/api/v2/assistants?pageSize={PAGE_SIZE}"
    seen: set[str] = set()
    while path and path not in seen:
        seen.add(path)
        resp = await client.request("GET", path, tally=tally)
        body = resp.body if isinstance(resp.body, dict) else {}
        found.extend(e for e in body.get("entities") or [] if isinstance(e, dict))
        next_uri = body.get("nextUri")
        path = next_uri if isinstance(next_uri, str) and next_uri.startswith("/api/v2/") else None
    return found
