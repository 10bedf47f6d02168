"""The snapshot store: rollback targets for resources whose server keeps no history.

Snapshots live in the journal. ``orchestrator snapshot`` stores what is live
now; the engine stores the content it is about to replace before every
write, dated at its run's start, so ``to: {snapshot: <run start>}`` undoes
that run.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.errors import TargetUnavailable
from orchestrator.journal.rows import SNAPSHOT_TAKEN, Snapshot
from orchestrator.journal.store import Journal
from orchestrator.timestamps import parse_stamp, zulu, zulu_of


async def find(
    journal: Journal, kind: str, resource_id: str, instant: datetime, *, strictly_before: bool
) -> Snapshot:
    """The newest snapshot taken at (or strictly before) ``instant``.

    Of snapshots dated the same second, one taken on purpose (``orchestrator
    snapshot``) comes before a run's pre-write ones, then the last stored.
    A pre-write snapshot is dated at its run's start, whole seconds, but it
    holds what the run read later, at the item's turn: a run that started in
    the second an operator's snapshot is dated may have read a change made
    after that snapshot, and ``{snapshot: T}`` would restore the change it
    was written to undo (two runs at once undid each other's rollback so).

    Raises:
        TargetUnavailable: none qualifies; the message lists what exists.
    """
    rows = await journal.snapshots(kind, resource_id)
    qualifying = [
        (taken, row.source == SNAPSHOT_TAKEN, order, row)
        for order, row in enumerate(rows)
        if (taken := parse_stamp(row.taken_at)) < instant
        or (taken == instant and not strictly_before)
    ]
    if qualifying:
        return max(qualifying, key=lambda q: q[:3])[3]
    relation = "before" if strictly_before else "at or before"
    if rows:
        times = ", ".join(zulu_of(r.taken_at) for r in rows[-5:])
        more = f" (newest {min(5, len(rows))} of {len(rows)})" if len(rows) > 5 else ""
        known = f"snapshots exist at {times}{more}"
    else:
        known = "there is no snapshot of it at all (take one with `orchestrator snapshot`)"
    raise TargetUnavailable(
        f"no local snapshot {relation} {zulu(instant)}: {known}", code="snapshot.missing"
    )


async def newest_hint(journal: Journal, kind: str, resource_id: str) -> str:
    """For a pruned history target: whether a local snapshot could stand in, and which."""
    rows = await journal.snapshots(kind, resource_id)
    if not rows:
        return "; no local snapshot of it exists either"
    taken = zulu_of(rows[-1].taken_at)
    return (
        f"; local snapshots exist (newest: version {rows[-1].version} taken {taken}):"
        f" use `to: {{snapshot: {taken}}}`"
    )
