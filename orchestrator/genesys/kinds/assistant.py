"""Kind ``assistant``: PATCH with no server guard; re-read before, read back after (api.md 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from orchestrator.errors import TargetUnavailable
from orchestrator.genesys import answers
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.kinds.base import PAGE_SIZE, Live, Target, live_of
from orchestrator.models import Kind, To


class Assistant:
    """``assistant``: PATCH with no server guard; re-read before, read back after."""

    kind = Kind.ASSISTANT
    has_server_history = False
    rereads_before_write = True

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path."""
        return f"/api/v2/assistants/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, stats=stats)
        return live_of(answers.resource(self.kind, resp, rid, versioned=False), resp.correlation_id)

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        raise TargetUnavailable(
            "assistants have no server-side history: use a snapshot target", code="target.missing"
        )

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        resp = await client.request(
            "PATCH", self.path(rid), body=dict(target.fields), resource_id=rid, stats=stats
        )
        return live_of(
            answers.confirms(self.kind, resp, rid, target.hash, version=None), resp.correlation_id
        )

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        # Reads may lag behind a PATCH for a while (caches); keep reading back.
        return (await self.read(client, rid, stats)).hash == target.hash


async def list_assistants(client: OrgClient, stats: HttpStats) -> list[dict[str, Any]]:
    """Every assistant of an org, following the listing's ``nextUri`` cursor."""
    found: list[dict[str, Any]] = []
    path: str | None = f"/api/v2/assistants?pageSize={PAGE_SIZE}"
    seen: set[str] = set()
    while path and path not in seen:
        seen.add(path)
        resp = await client.request("GET", path, stats=stats)
        body = resp.body if isinstance(resp.body, dict) else {}
        found.extend(e for e in body.get("entities") or [] if isinstance(e, dict))
        next_uri = body.get("nextUri")
        path = next_uri if isinstance(next_uri, str) and next_uri.startswith("/api/v2/") else None
    return found
