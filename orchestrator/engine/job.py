"""One item at work, and the recorder its every step is written through.

A :class:`Job` is the mutable working record of one plan item during a run
(the models in :mod:`orchestrator.models` stay frozen). The :class:`Recorder`
is the outcome sink: the journal when a run is recorded, nothing when
``orchestrator plan`` only looks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import RequestError, TargetUnavailable
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import Change
from orchestrator.genesys.kinds import Live, ResourceKind, TargetState
from orchestrator.genesys.retry import Budget, retrying
from orchestrator.journal import snapshots
from orchestrator.journal.sqlite import Journal
from orchestrator.logs import get_logger
from orchestrator.models import Item, Limits
from orchestrator.statuses import State, Status

_log = get_logger()


@dataclass(slots=True, kw_only=True)
class Job:
    """Everything known about one item while a run works on it."""

    seq: int
    item: Item
    wave: str
    kind: ResourceKind
    client: OrgClient
    budget: Budget
    state: State = State.NEW
    name: str | None = None
    baseline: Live | None = None  # what planning saw: the drift reference
    target: TargetState | None = None
    changes: tuple[Change, ...] = ()
    written: Live | None = None  # the state our write produced (to verify)
    status: Status | None = None
    error: dict[str, Any] | None = None
    conflicts: int = 0
    tally: HttpStats = field(default_factory=HttpStats)
    started: float | None = None
    duration: float | None = None
    snapshot_hash: str | None = None  # content last kept in the snapshot store
    carried_attempts: int = 0  # spent by earlier processes on this item (resume)
    carried_requests: int = 0

    @property
    def attempts(self) -> int:
        """Attempts spent on this item across every process that worked on it."""
        return self.carried_attempts + self.budget.used

    @property
    def requests(self) -> int:
        """Requests sent for this item across every process that worked on it."""
        return self.carried_requests + self.tally.requests

    @property
    def org(self) -> str:
        """The org's name."""
        return self.item.org

    @property
    def rid(self) -> str:
        """The resource id."""
        return self.item.id

    def fail(
        self,
        status: Status,
        error: RequestError | TargetUnavailable | dict[str, Any],
        *,
        message: str | None = None,
    ) -> None:
        """Set a final failing status with its error object (``message`` overrides its text)."""
        self.status = status
        self.error = error if isinstance(error, dict) else error.as_dict()
        if message is not None:
            self.error = {**self.error, "message": message}

    async def read(self, limits: Limits, budget: Budget | None = None) -> Live:
        """The live state; transient failures retried within ``budget`` (the item's)."""
        return await retrying(
            lambda: self.kind.read(self.client, self.rid, self.tally),
            budget=budget or self.budget,
            backoff=limits.backoff,
            max_retry_after=limits.max_retry_after,
            on_retry=lambda exc: self.retried(),
        )

    def retried(self) -> None:
        """Count one retry, for the item and for the run."""
        self.tally.retries += 1
        self.client.stats.retries += 1

    def begin(self) -> None:
        """Start the item's clock (once)."""
        if self.started is None:
            self.started = time.monotonic()


def error_dict(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An ``error`` object for failures without an HTTP answer of their own."""
    return {"http_status": None, "code": code, "message": message, "correlation_id": None, **extra}


def by_org(jobs: Sequence[Job]) -> dict[str, list[Job]]:
    """Jobs grouped by org, each group in plan order."""
    grouped: dict[str, list[Job]] = {}
    for job in jobs:
        grouped.setdefault(job.org, []).append(job)
    return grouped


class Recorder:
    """Writes a job's steps to the journal (if any) and tells the observer."""

    def __init__(
        self,
        journal: Journal | None,
        run_id: str | None,
        run_started: str | None,
        on_done: Callable[[Job], None] | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.run_started = run_started
        self.on_done = on_done

    def planned(self, job: Job) -> None:
        """Planning read the item and resolved its target."""
        job.state = State.PLANNED
        if self.journal is None or self.run_id is None:
            return
        live, target = job.baseline, job.target
        self.journal.record_planned(
            self.run_id,
            job.seq,
            name=job.name,
            from_version=live.version if live else None,
            etag=live.etag if live else None,
            modified=live.modified if live else None,
            planned_hash=live.hash if live else None,
            target_version=target.version if target else None,
            target_label=target.label if target else None,
            target_hash=target.hash if target else None,
            target_fields=dict(target.fields) if target else None,
            requests=job.requests,
        )

    def intent(self, job: Job, live: Live) -> None:
        """Before a write leaves: keep what it replaces, and say what it will create."""
        job.state = State.INTENDED
        if self.journal is None or self.run_id is None:
            return
        if job.snapshot_hash != live.hash:
            snapshots.store(
                self.journal,
                org=job.org,
                kind=job.kind.kind.value,
                resource_id=job.rid,
                live=live,
                taken_at=self.run_started or "",
                source="pre-write",
                run_id=self.run_id,
            )
            job.snapshot_hash = live.hash
        self.journal.record_intent(
            self.run_id,
            job.seq,
            expected_version=None if live.version is None else live.version + 1,
            etag=live.etag,
            attempts=job.attempts,
            conflicts=job.conflicts,
            requests=job.requests,
        )

    def written(self, job: Job) -> None:
        """The write is confirmed (by the answer or by a re-read)."""
        job.state = State.WRITTEN
        if self.journal is not None and self.run_id is not None:
            self.journal.record_written(
                self.run_id,
                job.seq,
                new_version=job.written.version if job.written else None,
                requests=job.requests,
            )

    def event(self, job: Job, event: str, detail: Any = None) -> None:
        """An audit event about the job (conflict, retry, drift...)."""
        if self.journal is not None and self.run_id is not None:
            self.journal.record_event(self.run_id, job.seq, event, detail)

    def done(self, job: Job) -> None:
        """The job has its final status: journal it, log its one canonical line."""
        assert job.status is not None
        job.state = State.DONE
        if job.started is not None and job.duration is None:
            job.duration = time.monotonic() - job.started
        if self.run_id is None:
            return  # `orchestrator plan`: nothing ran, nothing to record
        _log.info(
            "item finished",
            run_id=self.run_id,
            org=job.org,
            config_id=job.rid,
            kind=job.kind.kind.value,
            wave=job.wave,
            status=str(job.status),
            from_version=job.baseline.version if job.baseline else None,
            new_version=job.written.version if job.written else None,
            attempts=job.attempts,
            conflicts=job.conflicts,
            requests=job.requests,
            error=job.error,
        )
        if self.journal is not None:
            self.journal.record_done(
                self.run_id,
                job.seq,
                status=job.status,
                new_version=job.written.version if job.written else None,
                attempts=job.attempts,
                conflicts=job.conflicts,
                requests=job.requests,
                duration_s=None if job.duration is None else round(job.duration, 3),
                error=job.error,
            )
        if self.on_done is not None:
            self.on_done(job)
