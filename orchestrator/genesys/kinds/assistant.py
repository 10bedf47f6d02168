"""Kind ``assistant``, the whole of it: its own fields and its copilot (api.md 6).

No version and no ETag guard an assistant: the worker re-reads right before
writing and reads back after. The assistant's own fields go in one ``PATCH``
and the copilot in one ``PUT .../copilot`` (a full replace), each only when
it differs; if the second request fails after the first landed, the worker's
re-read sees our own progress and sends what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from orchestrator.errors import TargetUnavailable, Unrestorable
from orchestrator.genesys import answers
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import canonical, content_hash
from orchestrator.genesys.fields import COPILOT, COPILOT_FIELD, IMMUTABLE_COPILOT, strip
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

EXPAND = "expand=copilot"  # a plain GET leaves the copilot out


class Assistant:
    """``assistant``: PATCH its own fields, PUT its copilot; re-read before, read back after."""

    kind = Kind.ASSISTANT
    has_server_history = False
    rereads_before_write = True
    partial_writes = True  # the assistant, then its copilot

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path."""
        return f"/api/v2/assistants/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        path = f"{self.path(rid)}?{EXPAND}"
        resp = await client.request("GET", path, resource_id=rid, stats=stats)
        return live_of(answers.resource(self.kind, resp, rid, versioned=False), resp.correlation_id)

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        raise TargetUnavailable(
            "assistants have no server-side history: use a snapshot target", code="target.missing"
        )

    def problem(self, live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
        unknown = unknown_fields(self.kind, live, target)
        if unknown is not None:
            return unknown
        now, then = live.get(COPILOT_FIELD), target.get(COPILOT_FIELD)
        if isinstance(now, Mapping) and not isinstance(then, Mapping):
            return Unrestorable(
                "the target has no copilot (its snapshot was taken without one) and a write "
                "cannot remove the live copilot; take a new snapshot to restore from",
                code="target.incomplete",
            )
        if isinstance(now, Mapping) and isinstance(then, Mapping):
            return _immutable(now, then)
        return None

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        """PATCH the assistant's own fields that differ, then PUT the copilot if it differs.

        Each answer must show what was sent (a 200 that does not is an unknown
        outcome: the worker re-reads, never re-sends blindly).
        """
        fields = dict(live.fields)
        modified = live.modified
        own = _own_changes(live.fields, target.fields)
        if own:
            resp = await client.request(
                "PATCH", self.path(rid), body=own, resource_id=rid, stats=stats
            )
            answered = resp.body if isinstance(resp.body, dict) else None
            if answered is None or any(
                canonical(answered.get(key)) != canonical(value) for key, value in own.items()
            ):
                raise resp.malformed("does not show the fields written", rid)
            for key, value in own.items():
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = value
            modified = answered.get("dateModified", modified)
        copilot = target.fields.get(COPILOT_FIELD)
        if isinstance(copilot, Mapping) and _differs(live.fields.get(COPILOT_FIELD), copilot):
            path = f"{self.path(rid)}/copilot"
            resp = await client.request("PUT", path, body=copilot, resource_id=rid, stats=stats)
            shown = strip(COPILOT, resp.body) if isinstance(resp.body, dict) else None
            if shown is None or _differs(shown, copilot):
                raise resp.malformed("does not show the copilot written", rid)
            fields[COPILOT_FIELD] = shown
        return Live(
            version=None, etag=None, modified=modified, fields=fields, hash=content_hash(fields)
        )

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        return await read_back(self, client, rid, target, stats)


def _differs(a: Any, b: Any) -> bool:
    return canonical(a) != canonical(b)


def _own_changes(live: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body: the assistant's own fields that differ; null clears one the target lacks."""
    keys = (set(live) | set(target)) - {COPILOT_FIELD}
    return {k: target.get(k) for k in sorted(keys) if _differs(live.get(k), target.get(k))}


def _immutable(live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
    for name in IMMUTABLE_COPILOT:
        now, then = live.get(name), target.get(name)
        if now is not None and _differs(now, then):
            return Unrestorable(
                f"copilot.{name} is {canonical(now).decode()} and the target says "
                f"{canonical(then).decode()}: the server forbids changing it once set "
                "(a PUT that does is refused with 400 invalid.value), so nothing is written",
                code="field.immutable",
            )
    return None


async def list_assistants(client: OrgClient, stats: HttpStats) -> list[dict[str, Any]]:
    """Every assistant of an org with its copilot, following the listing's ``nextUri``."""
    return await cursor_pages(client, f"/api/v2/assistants?pageSize={PAGE_SIZE}&{EXPAND}", stats)
