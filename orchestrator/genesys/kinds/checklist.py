"""Kind ``agent-checklist``: PUT replaces name, language and items (api.md 6).

No version and no ETag: the same client-side guard as the assistant (re-read
right before writing, read back after). The body is the whole target
content, so a field the orchestrator does not know goes back as it was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from orchestrator.errors import TargetUnavailable, Unrestorable
from orchestrator.genesys import answers
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.kinds.base import (
    PAGE_SIZE,
    Live,
    Target,
    cursor_pages,
    live_of,
    read_back,
    unknown_fields,
)
from orchestrator.models import Kind, To

LISTING = "/api/v2/assistants/agentchecklists"


class AgentChecklist:
    """``agent-checklist``: a full-replace PUT; re-read before, read back after."""

    kind = Kind.AGENT_CHECKLIST
    has_server_history = False
    rereads_before_write = True

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path."""
        return f"{LISTING}/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, stats=stats)
        return live_of(answers.resource(self.kind, resp, rid, versioned=False), resp.correlation_id)

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        raise TargetUnavailable(
            "agent checklists have no server-side history: use a snapshot target",
            code="target.missing",
        )

    def problem(self, live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
        return unknown_fields(self.kind, live, target)

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
