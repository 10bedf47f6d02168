"""The snapshot store: rollback targets for resources whose server keeps no history.

Snapshots live in the journal's database. ``orchestrator snapshot`` stores
what is live now; the engine stores the content it is about to replace before
every write, dated at its run's start, so ``to: {snapshot: <run start>}``
undoes that run.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.errors import TargetUnavailable
from orchestrator.genesys.kinds import Live
from orchestrator.journal.sqlite import Journal, SnapshotRow, parse_stamp, seconds


def store(
    journal: Journal,
    *,
    org: str,
    kind: str,
    resource_id: str,
    live: Live,
    taken_at: str,
    source: str,
    run_id: str | None = None,
) -> None:
    """Keep ``live``'s content as the snapshot of ``resource_id`` at ``taken_at``."""
    journal.add_snapshot(
        org=org,
        kind=kind,
        resource_id=resource_id,
        taken_at=taken_at,
        source=source,
        run_id=run_id,
        version=live.version,
        modified=live.modified,
        content_hash=live.hash,
        fields=dict(live.fields),
    )


def find(
    journal: Journal, kind: str, resource_id: str, instant: datetime, *, strictly_before: bool
) -> SnapshotRow:
    """The newest snapshot taken at (or strictly before) ``instant``.

    Raises:
        TargetUnavailable: none qualifies; the message lists what exists.
    """
    rows = journal.snapshots(kind, resource_id)
    chosen = None
    for row in rows:
        taken = parse_stamp(row.taken_at)
        if taken < instant or (taken == instant and not strictly_before):
            chosen = row
    if chosen is not None:
        return chosen
    relation = "before" if strictly_before else "at or before"
    if rows:
        times = ", ".join(seconds(r.taken_at) for r in rows[-5:])
        more = f" (newest {min(5, len(rows))} of {len(rows)})" if len(rows) > 5 else ""
        known = f"snapshots exist at {times}{more}"
    else:
        known = "there is no snapshot of it at all (take one with `orchestrator snapshot`)"
    when = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TargetUnavailable(
        f"no local snapshot {relation} {when}: {known}", code="snapshot.missing"
    )
