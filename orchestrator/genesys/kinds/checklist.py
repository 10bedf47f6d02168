"""Kind ``agent-checklist``: PUT replaces name, language and items (api.md 6).

No version and no ETag: the same client-side guard as the assistant (re-read
right before writing, read back after). The body is the whole target
content, so a field the orchestrator does not know goes back as it was read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from orchestrator.genesys import answers
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.kinds.base import (
    PAGE_SIZE,
    Live,
    SnapshotOnly,
    Target,
    cursor_pages,
    live_of,
    read_back,
)
from orchestrator.models import Kind

LISTING = "/api/v2/assistants/agentchecklists"


class AgentChecklist(SnapshotOnly):
    """``agent-checklist``: a full-replace PUT; re-read before, read back after."""

    kind = Kind.AGENT_CHECKLIST
    noun = "agent checklists"
    partial_writes = False  # one full-replace PUT

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path."""
        return f"{LISTING}/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, stats=stats)
        return live_of(answers.resource(self.kind, resp, rid, versioned=False), resp.correlation_id)

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        resp = await client.request(
            "PUT", self.path(rid), body=dict(target.fields), resource_id=rid, stats=stats
        )
        confirmed = answers.confirms(self.kind, resp, rid, target.hash, version=None)
        return live_of(confirmed, resp.correlation_id)

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        return await read_back(self, client, rid, target, stats)


async def list_checklists(client: OrgClient, stats: HttpStats) -> list[dict[str, Any]]:
    """Every agent checklist of an org, following the listing's ``nextUri``."""
    return await cursor_pages(client, f"{LISTING}?pageSize={PAGE_SIZE}", stats)
