"""A sharded run's processes as ``status`` and the reports show them.

Every shard's state, wave, progress and heartbeat; a shard whose process
has not been heard from for :data:`~orchestrator.engine.shards.SILENT_SECONDS`
while it should be working is named silent, with what to do about it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from orchestrator.engine.shards import SILENT_SECONDS, assign
from orchestrator.journal.rows import RunRow
from orchestrator.journal.store import Journal
from orchestrator.models import Plan
from orchestrator.timestamps import parse_instant, utcnow

# States in which a shard's process has ended on purpose: its silence is expected.
_ENDED = frozenset({"done", "held", "interrupted", "refused"})


async def shards(journal: Journal, run: RunRow) -> list[dict[str, Any]]:
    """One entry per shard of ``run`` (none for a run of one process)."""
    if run.shards is None:
        return []
    seen = {row.idx: row for row in await journal.shards(run.id)}
    counts = await journal.shard_counts(run.id)
    out = []
    for idx in range(run.shards):
        row = seen.get(idx)
        entry: dict[str, Any] = {
            "shard": f"{idx}/{run.shards}",
            "state": "not started" if row is None else row.state,
            "wave": None if row is None else row.wave,
            "items": counts.get(idx, (0, 0))[0],
            "final": counts.get(idx, (0, 0))[1],
            "heartbeat_at": None if row is None else row.heartbeat_at,
            "holder": None if row is None else row.holder,
            "actor": None if row is None else row.actor,
            "note": None if row is None else row.note,
            "http": None if row is None else row.http,
            "silent_for": None,
        }
        if row is not None and row.state not in _ENDED:
            quiet = (utcnow() - parse_instant(row.heartbeat_at)).total_seconds()
            if quiet > SILENT_SECONDS:
                entry["silent_for"] = round(quiet)
        out.append(entry)
    return out


def http_total(entries: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, int] | None:
    """Every shard's requests added up (None for a run of one process)."""
    if not entries:
        return None
    return {k: sum(int((e["http"] or {}).get(k, 0)) for e in entries) for k in keys}


def shard_lines(report: dict[str, Any]) -> list[str]:
    """Text lines for the report's ``shards``, a silent one named loudly."""
    lines = []
    for entry in report.get("shards") or []:
        where = f", wave {entry['wave']}" if entry["wave"] is not None else ""
        line = (
            f"shard {entry['shard']}: {entry['state']}{where}, {entry['final']}/{entry['items']}"
            " items final"
        )
        if entry["heartbeat_at"]:
            line += f", last heard {entry['heartbeat_at']} ({entry['holder']})"
        if entry["note"]:
            line += f": {entry['note']}"
        if entry["silent_for"] is not None:
            line += (
                f"; SILENT for {entry['silent_for']} s: its process is gone or stuck;"
                " start it again with the same command (it resumes its part)"
            )
        lines.append(line)
    return lines


def assignment(plan: Plan, count: int) -> list[dict[str, Any]]:
    """``plan --shards N``: which orgs (and how many items) each shard drives."""
    owner = assign(plan, count)
    items = Counter(owner[item.org] for item in plan.items)
    return [
        {
            "shard": f"{idx}/{count}",
            "orgs": [org for org in owner if owner[org] == idx],
            "items": items[idx],
        }
        for idx in range(count)
    ]


def assignment_lines(table: Sequence[dict[str, Any]]) -> list[str]:
    """The assignment as text, one line per shard."""
    return [
        f"shard {row['shard']}: {row['items']} items in {len(row['orgs'])} orgs:"
        f" {', '.join(row['orgs']) or '-'}"
        for row in table
    ]
