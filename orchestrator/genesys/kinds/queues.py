"""Kind ``assistant-queues``: the queues an assistant is deployed on (api.md 6).

The item's id is the assistant's; its content maps each bound queue's id to
the binding (its sorted ``mediaTypes``). A write sends only the difference:
one ``PATCH .../queues`` upserting the bindings to add or change, then
``DELETE .../queues?queueIds=`` for those to remove. A queue is bound to at
most one assistant; one the target would take from another assistant is
never moved: the item ends ``drifted``, naming both.
"""

from __future__ import annotations

from urllib.parse import quote

from orchestrator.errors import Conflict, NotFound, QueueTaken
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import canonical, comparable, content_hash
from orchestrator.genesys.kinds.base import (
    PAGE_SIZE,
    Live,
    SnapshotOnly,
    Target,
    cursor_pages,
    read_back,
)
from orchestrator.models import Kind

DELETE_BATCH = 50  # queue ids per DELETE: keeps the URL far below any server's limit


class AssistantQueues(SnapshotOnly):
    """``assistant-queues``: upsert and remove bindings; re-read before, read back after."""

    kind = Kind.ASSISTANT_QUEUES
    noun = "queue bindings"

    @staticmethod
    def path(rid: str) -> str:
        """The assistant's bindings."""
        return f"/api/v2/assistants/{quote(rid, safe='')}/queues"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        first = f"{self.path(rid)}?pageSize={PAGE_SIZE}"
        entities = await cursor_pages(client, first, stats, rid)
        fields = comparable(self.kind, {"entities": entities})
        stamps = [e["dateModified"] for e in entities if isinstance(e.get("dateModified"), str)]
        return Live(
            version=None,
            etag=None,
            modified=max(stamps) if stamps else None,
            fields=fields,
            hash=content_hash(fields),
        )

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        now, wanted = live.fields, target.fields
        upsert = [q for q in sorted(wanted) if canonical(now.get(q)) != canonical(wanted[q])]
        remove = [q for q in sorted(now) if q not in wanted]
        new = [q for q in upsert if q not in now]
        for queue in new:
            await self._must_be_free(client, rid, queue, stats)
        fields = dict(now)
        if upsert:
            body = [{"id": q, **wanted[q]} for q in upsert]
            try:
                await client.request(
                    "PATCH", self.path(rid), body=body, resource_id=rid, stats=stats
                )
            except Conflict:
                # Someone bound one of them between our check and the PATCH.
                for queue in new:
                    await self._must_be_free(client, rid, queue, stats)
                raise
            fields.update({q: wanted[q] for q in upsert})
        for start in range(0, len(remove), DELETE_BATCH):
            batch = remove[start : start + DELETE_BATCH]
            path = f"{self.path(rid)}?queueIds={','.join(quote(q, safe='') for q in batch)}"
            await client.request("DELETE", path, resource_id=rid, stats=stats)
            for queue in batch:
                fields.pop(queue, None)
        return Live(
            version=None,
            etag=None,
            modified=live.modified,
            fields=fields,
            hash=content_hash(fields),
        )

    async def _must_be_free(
        self, client: OrgClient, rid: str, queue: str, stats: HttpStats
    ) -> None:
        """Raise :class:`QueueTaken` if ``queue`` is bound to an assistant other than ``rid``."""
        path = f"/api/v2/routing/queues/{quote(queue, safe='')}/assistant"
        try:
            resp = await client.request("GET", path, resource_id=rid, stats=stats)
        except NotFound:
            return  # bound to no assistant
        body = resp.body if isinstance(resp.body, dict) else {}
        owner = body.get("assistant")
        if not isinstance(owner, dict):
            return  # a binding without an owner is nobody's
        owner_id = owner.get("id")
        if isinstance(owner_id, str) and owner_id != rid:
            name = owner.get("name")
            raise QueueTaken(
                queue_id=queue,
                assistant_id=rid,
                owner_id=owner_id,
                owner_name=name if isinstance(name, str) else None,
            )

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        return await read_back(self, client, rid, target, stats)
