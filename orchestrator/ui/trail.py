"""The journal's event trail as JSON lines, for a SIEM (``orchestrator events``).

One object per event, in journal order: the run, the item it concerns (org,
kind, id) or null for run-level events, when (UTC), what, who acted, the
Genesys correlation id when the event has one, and the event's own detail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from orchestrator.journal.store import Journal
from orchestrator.logs import redact
from orchestrator.timestamps import zulu_of

TRAIL_VERSION = 1


async def trail(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's events as SIEM records (raises JournalError for an unknown run)."""
    run = await journal.run(run_id)
    items = {
        i.seq: {"org": i.org, "kind": i.kind, "id": i.resource_id}
        for i in await journal.items(run_id)
    }
    records = []
    for event in await journal.events(run_id):
        detail = event.detail if isinstance(event.detail, dict) else {"value": event.detail}
        records.append(
            {
                "trail_version": TRAIL_VERSION,
                "run_id": run.id,
                "plan": run.plan_name,
                "seq": event.seq,
                "item": None if event.seq is None else items.get(event.seq),
                "at": zulu_of(event.at),
                "event": event.event,
                # Approvals and gate decisions name who made them; the rest is the run's.
                "actor": detail.get("by") or detail.get("actor") or run.actor,
                "correlation_id": detail.get("correlation_id"),
                "detail": detail,
            }
        )
    return records


def jsonl(records: list[dict[str, Any]]) -> Iterator[str]:
    """One compact JSON object per line, secrets masked."""
    for record in records:
        yield redact(json.dumps(record, separators=(",", ":"), sort_keys=False)) + "\n"
