"""What ``resume`` takes up again: which run, which of its items, and what each had.

A run is resumable while it is unfinished (running, halted, interrupted) or
while any of its items ended with a write whose outcome is unknown
(``write.unknown``): those go back to ``intended``, so the worker reads the
live state first and decides from it, and nothing is ever written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from orchestrator.engine.job import NO_FIELDS, Job
from orchestrator.engine.recorder import REVIEWED_SPEC, Recorder
from orchestrator.engine.scheduler import RESUMABLE_SKIPS
from orchestrator.errors import JournalError
from orchestrator.genesys.kinds import Live, Target
from orchestrator.journal.rows import LIMITED, ItemRow, RunRow
from orchestrator.journal.store import Journal
from orchestrator.models import Plan
from orchestrator.planfile.saved import REVIEWED, reviewed_of
from orchestrator.statuses import WRITE_UNKNOWN, RunStatus, State, Status

_UNFINISHED = (RunStatus.RUNNING, RunStatus.HALTED, RunStatus.INTERRUPTED)
_RECENT = 50  # finished runs looked at for writes whose outcome is unknown


async def resumable(journal: Journal, run_id: str | None) -> RunRow:
    """The run ``resume`` would continue: ``run_id``, or the latest unfinished one.

    A finished run with items whose write may have happened (``write.unknown``)
    is not done either: ``resume`` reads those items and decides.

    Raises:
        JournalError: no such run, or it is already finished.
    """
    if run_id is None:
        candidates = [row for row in [await journal.latest_unfinished()] if row is not None]
        for row in await journal.runs(_RECENT):
            if row.status not in _UNFINISHED and await _unknown_writes(journal, row.id):
                candidates.append(row)
                break  # newest first: older ones need their id named
        if not candidates:
            raise JournalError(f"no unfinished run in journal {journal.location}")
        return max(candidates, key=lambda row: (row.started_at, row.id))
    row = await journal.run(run_id)
    if row.status not in _UNFINISHED and not await _unknown_writes(journal, run_id):
        raise JournalError(f"run {run_id} is {row.status}: there is nothing to resume")
    return row


async def named_run(journal: Journal, run_id: str | None, plan: Plan) -> RunRow | None:
    """The run ``run --run-id`` names, if the journal has it; None for a new one.

    Raises:
        JournalError: that run was started from another plan.
    """
    if run_id is None:
        return None
    try:
        row = await journal.run(run_id)
    except JournalError:
        return None
    if row.plan_sha256 != plan.sha256:
        raise JournalError(
            f"run {run_id} was started from another plan ({row.plan_path}, sha256"
            f" {row.plan_sha256[:12]}…); this plan's sha256 is {plan.sha256[:12]}…:"
            " choose another --run-id"
        )
    return row


async def rescoped(journal: Journal, run_id: str, plan: Plan) -> Plan:
    """``plan`` as the run was started: restricted again by its ``--limit``, if it had one.

    An ``apply`` run is cut down to its saved plan's items and waves instead.
    """
    events = await journal.events(run_id)
    for event in events:
        if event.event == REVIEWED and isinstance(event.detail, dict):
            return reviewed_of(plan, event.detail)
    if any(row.spec.startswith(REVIEWED_SPEC) for row in await lean_items(journal, run_id)):
        raise JournalError(
            f"run {run_id} is an apply that stopped before its saved plan was journaled"
            " (before any request: nothing was written); run `orchestrator apply FILE` again"
        )
    for event in events:
        if event.event == LIMITED and isinstance(event.detail, dict):
            return plan.limited(tuple(event.detail["limit"]))
    return plan


async def ended(journal: Journal, row: RunRow) -> bool:
    """True when ``row`` has nothing left to resume."""
    return row.status not in _UNFINISHED and not await _unknown_writes(journal, row.id)


async def _unknown_writes(journal: Journal, run_id: str) -> int:
    """How many of the run's items ended with a write whose outcome is unknown."""
    counts = await journal.status_counts(run_id)
    if not counts.get(Status.UNVERIFIED):
        return 0
    return sum(1 for item in await lean_items(journal, run_id) if _in_doubt(item))


async def lean_items(journal: Journal, run_id: str) -> list[ItemRow]:
    """Every item of the run without its target content, which stays in the journal.

    A resumed 100,000-item run would otherwise hold every target at once; the
    worker reads an item's back at its turn (``Job.target_shed``).
    """
    return [row async for page in journal.item_pages(run_id) for row in page]


def _in_doubt(row: ItemRow) -> bool:
    return (
        row.status is Status.UNVERIFIED
        and row.error is not None
        and row.error.code == WRITE_UNKNOWN
    )


def reopen(recorder: Recorder, items: list[ItemRow]) -> list[ItemRow]:
    """Take up again the items a halt or a closed window skipped, and writes in doubt.

    A write whose outcome is unknown goes back to ``intended``: the worker
    reads the live state first and decides from it (landed: verify; not
    landed: write; changed: drift rules), so nothing is ever written twice.
    """
    out = []
    for row in items:
        code = row.error.code if row.error else None
        if row.status is Status.SKIPPED and code in RESUMABLE_SKIPS:
            state = State.PLANNED if row.target_hash else State.NEW
            if row.started_at is not None:  # a write was intended once: read before deciding
                state = State.INTENDED
            recorder.event(row.seq, "item.reopened", {"was": code})
            row = replace(row, state=state, status=None, error=None)
        elif _in_doubt(row):
            recorder.event(row.seq, "item.reopened", {"was": code})
            row = replace(row, state=State.INTENDED, status=None, error=None)
        out.append(row)
    return out


def restore(job: Job, row: ItemRow) -> None:
    """Put back into ``job`` what earlier processes recorded of it."""
    job.state, job.status, job.error, job.name = row.state, row.status, row.error, row.name
    job.conflicts = row.conflicts
    job.carried_attempts, job.carried_requests = row.attempts, row.requests
    if row.planned_hash is not None:
        job.baseline = Live(
            version=row.from_version,
            etag=row.planned_etag,
            modified=row.planned_modified,
            fields={},
            hash=row.planned_hash,
        )
    if row.target_hash is not None:
        job.target = Target(
            fields=row.target_fields or NO_FIELDS,
            hash=row.target_hash,
            version=row.target_version,
            label=row.target_label or "",
        )
        # Read without its content (lean_items): the worker reads it back at the item's turn.
        job.target_shed = row.target_fields is None
    if row.state is State.WRITTEN:
        job.written = Live(
            version=row.new_version, etag=None, modified=None, fields={}, hash=row.target_hash or ""
        )
    if job.state is State.INTENDED or job.state is State.WRITTEN:
        job.snapshot_hash = row.planned_hash


async def recall_baselines(journal: Journal, jobs: Sequence[Job]) -> None:
    """Give each item resumed mid-write the parts of what planning saw.

    The journal keeps only the baseline's hash; the worker needs its fields to
    tell our own half-finished write (an assistant patched, its copilot not
    yet) from someone else's change. The pre-write snapshot, committed with
    the item's first intent, holds exactly that content.
    """
    for job in jobs:
        if job.state is not State.INTENDED or job.baseline is None:
            continue
        for snap in await journal.snapshots(job.kind.kind.value, job.rid):
            if snap.content_hash == job.baseline.hash:
                job.baseline = replace(job.baseline, fields=dict(snap.fields))
                break
