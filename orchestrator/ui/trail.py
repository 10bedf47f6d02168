"""The journal's event trail as JSON lines, for a SIEM (``orchestrator events``).

One object per event, in journal order: the run, the item it concerns (org,
kind, id) or null for run-level events, when (UTC), what, who acted, the
Genesys correlation id when the event has one, and the event's own detail.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from orchestrator.journal.store import Journal
from orchestrator.logs import redact
from orchestrator.timestamps import zulu_of

TRAIL_VERSION = 1


async def trail(journal: Journal, run_id: str) -> AsyncIterator[dict[str, Any]]:
    """The run's events as SIEM records, read a page at a time (JournalError: unknown run)."""
    run = await journal.run(run_id)
    async for page in journal.event_pages(run_id):
        keys = await journal.item_keys(run_id, sorted({e.seq for e in page if e.seq is not None}))
        for event in page:
            detail = event.detail if isinstance(event.detail, dict) else {"value": event.detail}
            key = None if event.seq is None else keys.get(event.seq)
            yield {
                "trail_version": TRAIL_VERSION,
                "run_id": run.id,
                "plan": run.plan_name,
                "seq": event.seq,
                "item": None if key is None else dict(zip(("org", "kind", "id"), key, strict=True)),
                "at": zulu_of(event.at),
                "event": event.event,
                # Approvals and gate decisions name who made them; the rest is the run's.
                "actor": detail.get("by") or detail.get("actor") or run.actor,
                "correlation_id": detail.get("correlation_id"),
                "detail": detail,
            }


def jsonl(record: dict[str, Any]) -> str:
    """One compact JSON line, secrets masked."""
    return redact(json.dumps(record, separators=(",", ":"), sort_keys=False)) + "\n"
