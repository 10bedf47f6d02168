"""The one path by which the engine writes down what happens: journal, log, observer.

Every step of an item, every wave change and the run's status go through a
:class:`Recorder`, which writes it to the journal (when the run is recorded;
``orchestrator plan`` records nothing), logs the canonical line of a finished
item, and tells the observer. Nothing else in the engine writes to the journal.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from orchestrator import logs
from orchestrator.engine.events import Observer, Pace, RunStarted, WaveFinished, WaveStarted
from orchestrator.engine.job import Job, failure
from orchestrator.genesys.kinds import Live
from orchestrator.journal.rows import (
    LIMITED,
    PRE_WRITE,
    SNAPSHOT_TAKEN,
    Finished,
    NewItem,
    Planned,
    Snapshot,
)
from orchestrator.journal.store import Journal
from orchestrator.logs import get_logger
from orchestrator.models import Plan, Wave
from orchestrator.statuses import WRITE_CONFIRMED, RunStatus, State, Status, WaveStatus
from orchestrator.timestamps import stamp, utcnow

_log = get_logger()
REVIEWED_SPEC = "reviewed:"  # the spec of an item of a saved plan: `apply` planned it


class Recorder:
    """Writes one run's steps to its journal (if any) and tells its observer (if any)."""

    def __init__(
        self,
        journal: Journal | None,
        run_id: str | None,
        started_at: str | None,
        observer: Observer | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.started_at = started_at  # pre-write snapshots are dated at the run's start
        self.observer = observer or Observer()
        self.listeners: list[Callable[[Job], None]] = []  # told of every final status

    @property
    def recording(self) -> bool:
        """Whether steps go to a journal (a run), or nowhere (a plan preview)."""
        return self.journal is not None and self.run_id is not None

    def _journal(self) -> tuple[Journal, str] | None:
        if self.journal is None or self.run_id is None:
            return None
        return self.journal, self.run_id

    # ----- the run ----------------------------------------------------------

    async def create_run(
        self, plan: Plan, actor: str, shards: Mapping[str, int] | None = None, count: int = 0
    ) -> bool:
        """Record a new run of ``plan`` with its waves and items, all ``new``.

        ``shards`` (org -> shard of ``count``) makes it a sharded run. False
        when the run exists already (another shard created it first).
        """
        assert self.journal is not None and self.run_id is not None
        logs.bind(run_id=self.run_id)  # planning's log lines belong to the run too
        items_in = Counter(plan.wave_of(item.org).name for item in plan.items)
        created = await self.journal.create_run(
            run_id=self.run_id,
            plan_name=plan.name,
            plan_path=str(plan.path),
            plan_sha256=plan.sha256,
            started_at=self.started_at or "",
            actor=actor,
            waves=[(w.name, items_in[w.name], w.approve) for w in plan.waves],
            items=[
                NewItem(
                    seq=seq,
                    org=item.org,
                    kind=item.kind.value,
                    id=item.id,
                    wave=plan.wave_of(item.org).name,
                    spec=f"{REVIEWED_SPEC} {item.to}" if item.reviewed else str(item.to),
                    shard=None if shards is None else shards[item.org],
                )
                for seq, item in enumerate(plan.items)
            ],
            shards=count or None,
        )
        if created and plan.limit:  # durable now: resume rebuilds the run's items from it
            detail = {"limit": list(plan.limit), "left_out": list(plan.left_out)}
            self.journal.record_event(self.run_id, None, LIMITED, detail)
            await self.journal.flush()
        return created

    def run_started(self, jobs: Sequence[Job], pace: Pace) -> None:
        """The run is under way in this process."""
        assert self.run_id is not None
        logs.bind(run_id=self.run_id)  # on every log line of the run from here on
        items = tuple(job.view() for job in jobs)
        self.observer.run_started(RunStarted(run_id=self.run_id, items=items, pace=pace))

    async def run_status(
        self, status: RunStatus, reason: str | None = None, http: dict[str, int] | None = None
    ) -> None:
        """The run's status (final, or running again on resume)."""
        if (where := self._journal()) is not None:
            journal, run_id = where
            await journal.set_run_status(run_id, status, reason=reason, http=http)

    async def flush(self) -> None:
        """Everything queued on disk now (before a long wait)."""
        if self.journal is not None:
            await self.journal.flush()

    async def keep_up(self) -> None:
        """Let the journal catch up if its queue has grown long (see ``Journal.keep_up``)."""
        if self.journal is not None:
            await self.journal.keep_up()

    # ----- pacing (the client's PacingListener) -------------------------------

    async def limit_learned(self, org: str, allowed: int, configured: int) -> None:
        """An org's server said its real limit; journal it, and say so where it binds."""
        detail = {"org": org, "allowed": allowed, "configured": configured}
        self.run_event("pacing.learned", detail)
        if allowed < configured:
            message = f"{org}: server allows {allowed}/min; the environment file says {configured}"
            _log.warning("pacing learned", run_id=self.run_id, **detail)
            self.observer.note(message)

    async def paused(self, org: str, seconds: float) -> None:
        """A 429: every later process must honour the pause too, so it is durable at once."""
        until = stamp(utcnow() + timedelta(seconds=seconds))
        if self.journal is not None:
            await self.journal.record_pause(org, until, self.run_id)

    # ----- waves ------------------------------------------------------------

    async def wave_started(self, idx: int, wave: Wave, jobs: Sequence[Job]) -> None:
        """A wave passed its gates."""
        _log.info("wave started", wave=wave.name, orgs=list(wave.orgs), items=len(jobs))
        if (where := self._journal()) is not None:
            journal, run_id = where
            await journal.update_wave(run_id, idx, WaveStatus.RUNNING)
        self.observer.wave_started(
            WaveStarted(index=idx, name=wave.name, orgs=wave.orgs, items=len(jobs))
        )

    async def wave_finished(
        self,
        idx: int,
        wave: Wave,
        status: WaveStatus,
        *,
        failed: int | None = None,
        reason: str | None = None,
    ) -> None:
        """A wave ended: succeeded, partial, halted or skipped."""
        log = _log.warning if status is WaveStatus.HALTED else _log.info
        log("wave finished", wave=wave.name, status=str(status), failed=failed, reason=reason)
        if (where := self._journal()) is not None:
            journal, run_id = where
            await journal.update_wave(run_id, idx, status, failed=failed, reason=reason)
        self.observer.wave_finished(
            WaveFinished(index=idx, name=wave.name, status=status, reason=reason)
        )

    async def close_wave(
        self, idx: int, wave: Wave, status: WaveStatus, *, failed: int, reason: str | None
    ) -> bool:
        """A sharded run's wave, judged whole, closes once; False if another shard closed it."""
        won = True
        if (where := self._journal()) is not None:
            journal, run_id = where
            won = await journal.close_wave(run_id, idx, status, failed=failed, reason=reason)
        if won:
            log = _log.warning if status is WaveStatus.HALTED else _log.info
            log("wave finished", wave=wave.name, status=str(status), failed=failed, reason=reason)
            self.observer.wave_finished(
                WaveFinished(index=idx, name=wave.name, status=status, reason=reason)
            )
        return won

    async def approved(self, idx: int, by: str) -> None:
        """Someone passed wave ``idx``'s gate."""
        _log.info("wave approved", wave=idx, actor=by)
        if (where := self._journal()) is not None:
            journal, run_id = where
            await journal.approve_wave(run_id, idx, by)

    def run_event(self, event: str, detail: Any = None) -> None:
        """An audit event about the run (a gate left pending...)."""
        if (where := self._journal()) is not None:
            journal, run_id = where
            journal.record_event(run_id, None, event, detail)

    # ----- items ------------------------------------------------------------

    @asynccontextmanager
    async def writing(self, job: Job) -> AsyncIterator[bool]:
        """Hold ``job``'s resource against every other run on this journal while it is written.

        Yields True when another run held it first: the caller re-reads and re-decides.
        """
        if self.journal is None:
            yield False
            return
        key = f"{job.org}/{job.kind.kind.value}/{job.rid}"
        # A target shed at planning is read back next: it may come with the lock.
        item = (self.run_id, job.seq) if job.target_shed and self.run_id is not None else None
        async with self.journal.resource_lock(key, item=item) as waited:
            if waited:
                self.event(job.seq, "resource.waited", {"for": "another run writing it"})
            yield waited

    def planned(self, job: Job) -> None:
        """Planning read the item and resolved its target."""
        job.state = State.PLANNED
        if (where := self._journal()) is None:
            return
        journal, run_id = where
        live, target = job.baseline, job.target
        journal.record_planned(
            run_id,
            job.seq,
            Planned(
                name=job.name,
                from_version=live.version if live else None,
                etag=live.etag if live else None,
                modified=live.modified if live else None,
                planned_hash=live.hash if live else None,
                target_version=target.version if target else None,
                target_label=target.label if target else None,
                target_hash=target.hash if target else None,
                target_fields=target.fields if target else None,
                requests=job.requests,
            ),
        )

    def reviewed(self, seq: int, planned: Planned) -> None:
        """An item of a saved plan (``apply``): planned as reviewed, never resolved again."""
        if (where := self._journal()) is not None:
            journal, run_id = where
            journal.record_planned(run_id, seq, planned)

    async def intent(self, job: Job, live: Live, *, keep: bool = True) -> None:
        """Before a write leaves: keep what it replaces, and say what it will create.

        ``keep`` is False when ``live`` is our own write stopped halfway: what the
        write replaces was kept before its first request, and a snapshot of the
        half-written state would be chosen over it by ``{snapshot: <run start>}``.
        """
        job.state = State.INTENDED
        if (where := self._journal()) is None:
            return
        journal, run_id = where
        # Without its parts (shed after planning kept it, or resumed) there is nothing to keep.
        if keep and job.snapshot_hash != live.hash and live.fields:
            taken_at = self.started_at or ""
            journal.add_snapshot(
                snapshot_of(job.org, job.kind.kind.value, job.rid, live, taken_at, run_id=run_id)
            )
            job.snapshot_hash = live.hash
        await journal.record_intent(
            run_id,
            job.seq,
            expected_version=None if live.version is None else live.version + 1,
            etag=live.etag,
            attempts=job.attempts,
            conflicts=job.conflicts,
            requests=job.requests,
        )

    def keep_baseline(self, job: Job) -> None:
        """Planning found a write is needed: keep what it would replace now, as the pre-write
        snapshot (dated at the run's start, as at an intent), so that the content need not
        stay in memory until the item's turn. A write over anything else keeps that too."""
        if (where := self._journal()) is None or job.baseline is None:
            return
        journal, run_id = where
        live = job.baseline
        taken_at = self.started_at or ""
        journal.add_snapshot(
            snapshot_of(job.org, job.kind.kind.value, job.rid, live, taken_at, run_id=run_id)
        )
        job.snapshot_hash = live.hash

    def written(self, job: Job) -> None:
        """The write is confirmed (by the answer or by a re-read)."""
        job.state = State.WRITTEN
        if (where := self._journal()) is not None:
            journal, run_id = where
            journal.record_written(
                run_id,
                job.seq,
                new_version=job.written.version if job.written else None,
                requests=job.requests,
                # So the write can be found in Genesys Cloud's own audit log: each
                # request of it that landed (none when only a re-read confirmed it).
                correlation_id=",".join(job.stats.take_landed()) or None,
            )

    def event(self, seq: int, event: str, detail: Any = None) -> None:
        """An audit event about item ``seq`` (conflict, retry, drift...)."""
        if (where := self._journal()) is not None:
            journal, run_id = where
            journal.record_event(run_id, seq, event, detail)

    def done(self, job: Job) -> None:
        """The job has its final status: journal it, log its one canonical line, tell."""
        assert job.status is not None
        job.state = State.DONE
        if job.stats.landed:
            # Part of a write landed (an assistant's PATCH), then the item failed:
            # those requests changed it, and the report must name them.
            landed = ",".join(job.stats.take_landed())
            detail = {"version": None, "correlation_id": landed, "partial": True}
            self.event(job.seq, WRITE_CONFIRMED, detail)
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
            error=job.error.as_dict() if job.error else None,
        )
        if self.journal is not None:
            self.journal.record_done(
                self.run_id,
                job.seq,
                Finished(
                    status=job.status,
                    new_version=job.written.version if job.written else None,
                    attempts=job.attempts,
                    conflicts=job.conflicts,
                    requests=job.requests,
                    duration_s=None if job.duration is None else round(job.duration, 3),
                    error=job.error,
                ),
            )
        for listener in self.listeners:
            listener(job)
        self.observer.item_done(job.done_event())
        job.release()  # the journal has it all now: memory holds what is in flight only

    def skip(self, jobs: Iterable[Job], code: str, message: str) -> None:
        """Every job of ``jobs`` not final yet ends ``skipped`` with ``code`` and ``message``."""
        for job in jobs:
            if job.status is None:
                job.status = Status.SKIPPED
                job.error = failure(code, message)
                self.done(job)


def snapshot_of(
    org: str, kind: str, rid: str, live: Live, taken_at: str, *, run_id: str | None = None
) -> Snapshot:
    """What the snapshot store keeps of ``live``: taken on purpose, or (in a run) before a write."""
    return Snapshot(
        org=org,
        kind=kind,
        resource_id=rid,
        taken_at=taken_at,
        source=SNAPSHOT_TAKEN if run_id is None else PRE_WRITE,
        run_id=run_id,
        version=live.version,
        modified=live.modified,
        content_hash=live.hash,
        fields=dict(live.fields),
    )
