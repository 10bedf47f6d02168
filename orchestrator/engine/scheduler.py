"""Waves in order, each through its gates: window, approval, failure threshold, bake.

Inside a wave every org runs in parallel with a bounded pool of item
workers per org (the client enforces each org's request concurrency, quota
and 429 pause). Every gate decision is journaled, so a resumed run continues
from exactly where a gate stopped it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anyio

from orchestrator.engine.gates import Gates, Tripwire, Verdict
from orchestrator.engine.job import Job, by_org, failure
from orchestrator.engine.pool import fan_out
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.shards import Coordinator
from orchestrator.engine.verifier import Verifier
from orchestrator.engine.worker import OrgWrites, Worker
from orchestrator.errors import RequestError
from orchestrator.genesys.retry import Budget
from orchestrator.journal.rows import WaveRow
from orchestrator.journal.store import Journal
from orchestrator.models import Plan, Wave
from orchestrator.statuses import RunStatus, Status, WaveStatus

# Skipped for these reasons, an item is taken up again by ``resume``.
RESUMABLE_SKIPS = frozenset({"run.halted", "window.closed"})


class Scheduler:
    """Runs a planned run's waves through their gates."""

    def __init__(
        self,
        *,
        plan: Plan,
        journal: Journal,
        run_id: str,
        recorder: Recorder,
        gates: Gates,
        stop: anyio.Event,
        coordinator: Coordinator | None = None,
    ) -> None:
        self._plan = plan
        self._journal = journal  # read only: every write goes through the recorder
        self._run_id = run_id
        self._recorder = recorder
        self._gates = gates
        self._stop = stop
        self._shared = coordinator  # a sharded run: waves close across processes
        self._closer = True  # whether this process closed the last wave (records what follows)
        self._writes = OrgWrites()
        self._tripwire: Tripwire | None = None
        self._halted = False
        recorder.listeners.append(self._on_done)

    def _on_done(self, job: Job) -> None:
        """Every final status passes through here."""
        if self._tripwire is not None:
            self._tripwire.record(job)
            if self._tripwire.tripped:
                self._halted = True

    async def run(self, jobs: Sequence[Job]) -> Verdict:
        """Run every wave not yet finished; the verdict says how the run ends."""
        for idx, wave in enumerate(self._plan.waves):
            rows = await self._journal.waves(self._run_id)  # other shards move them too
            row = rows[idx]
            wave_jobs = [j for j in jobs if j.wave == wave.name]
            finished = row.status in (WaveStatus.SUCCEEDED, WaveStatus.PARTIAL)
            if finished and all(j.status is not None for j in wave_jobs):
                continue  # a finished wave runs again only for items resume took up
            closed = self._gates.window_closed(wave)
            if closed is not None:
                await self._skip_later(idx - 1, jobs, "window.closed", closed)
                return Verdict(RunStatus.HALTED, closed)
            so_far = rows[:idx]
            verdict = await self._gates.approval(idx, wave, row, row.items, so_far)
            if verdict is not None:
                return verdict  # nothing of this wave started: later waves stay pending
            verdict = await self._run_wave(idx, wave, row, wave_jobs)
            if verdict is not None:
                if verdict.status is RunStatus.HALTED:
                    await self._skip_later(idx, jobs, "run.halted", verdict.reason or "run halted")
                return verdict
        if self._shared is not None:  # every wave closed: every shard's items are final
            counts = await self._journal.status_counts(self._run_id)
            return Verdict(overall_of(counts))
        return Verdict(overall(jobs))

    async def _run_wave(
        self, idx: int, wave: Wave, row: WaveRow, jobs: list[Job]
    ) -> Verdict | None:
        resumed_halt = row.status is WaveStatus.RUNNING and row.approved_by and row.failed
        acknowledged = row.failed if row.status is WaveStatus.HALTED or resumed_halt else 0
        self._tripwire = tripwire = Tripwire(wave.max_failed, len(jobs), acknowledged=acknowledged)
        self._halted = False
        for job in jobs:
            tripwire.record(job)
        await self._recorder.wave_started(idx, wave, jobs)
        if self._shared is not None:
            await self._shared.say("running", wave=idx)
        await self._execute([j for j in jobs if j.status is None])
        if self._stop.is_set():
            return Verdict(RunStatus.INTERRUPTED, "interrupted")
        if not self._halted and wave.bake > 0:
            await self._bake(wave, jobs)
            if self._stop.is_set():
                return Verdict(RunStatus.INTERRUPTED, "interrupted during the bake")
        if self._shared is not None:
            return await self._close_shared(idx, wave, jobs, acknowledged)
        return await self._close_wave(idx, wave, jobs, tripwire)

    async def _execute(self, pending: list[Job]) -> None:
        stopped = self._stop.is_set
        verifier = Verifier(
            limits=self._plan.limits,
            finish=self._recorder.done,
            may_continue=lambda: not stopped(),
        )
        worker = Worker(
            limits=self._plan.limits,
            recorder=self._recorder,
            writes=self._writes,
            may_write=lambda: not stopped(),
            verify=verifier.submit,
        )

        def proceed() -> bool:
            return not stopped() and not self._halted

        async def pools() -> None:
            await fan_out(
                by_org(pending), self._width, worker.run, total=self._total, proceed=proceed
            )
            verifier.close()

        def halt() -> None:
            self._halted = True

        async with anyio.create_task_group() as tg:
            if self._shared is not None and pending:  # another shard's part may trip the wave
                idx = [w.name for w in self._plan.waves].index(pending[0].wave)
                tg.start_soon(self._shared.watch, idx, halt)
            tg.start_soon(pools)
            await verifier.run()
            tg.cancel_scope.cancel()  # the watcher

    async def _bake(self, wave: Wave, jobs: list[Job]) -> None:
        await self._recorder.flush()  # a long wait: have everything on disk first
        self._recorder.observer.waiting(f"baking wave {wave.name} before re-checking it", wave.bake)
        with anyio.move_on_after(wave.bake):
            await self._stop.wait()
        if self._stop.is_set():
            return
        held = [j for j in jobs if j.status in (Status.SUCCEEDED, Status.ALREADY_AT_TARGET)]
        await fan_out(by_org(held), self._width, self._recheck, total=self._total)

    def _width(self, org: str) -> int:
        return self._plan.environment.org(org).concurrency

    @property
    def _total(self) -> int:
        return self._plan.limits.concurrency

    async def _recheck(self, job: Job) -> None:
        assert job.target is not None
        limits = self._plan.limits
        try:
            live = await job.read(limits, Budget(limits.attempts))
        except RequestError as exc:
            job.fail(Status.FAILED, exc, message=f"re-check after the bake failed: {exc.detail}")
            self._recorder.done(job)
            return
        if live.hash != job.target.hash:
            job.fail(
                Status.FAILED,
                failure(
                    "bake.regression",
                    f"content moved away from its target during the bake (now version "
                    f"{live.version}, modified {live.modified})",
                ),
            )
            self._recorder.event(job.seq, "bake.regression", {"version": live.version})
            self._recorder.done(job)

    async def _close_wave(
        self, idx: int, wave: Wave, jobs: list[Job], tripwire: Tripwire
    ) -> Verdict | None:
        failed = tripwire.failures
        if self._halted:
            reason = (
                f"wave {wave.name} tripped max_failed: {failed} of its {len(jobs)} items failed,"
                f" more than the {tripwire.allowed} allowed (max_failed: {wave.max_failed})"
            )
            self._recorder.skip(jobs, "run.halted", f"not started: {reason}")
            await self._recorder.wave_finished(
                idx, wave, WaveStatus.HALTED, failed=failed, reason=reason
            )
            return Verdict(RunStatus.HALTED, reason)
        status = WaveStatus.PARTIAL if failed else WaveStatus.SUCCEEDED
        await self._recorder.wave_finished(idx, wave, status, failed=failed)
        return None

    async def _close_shared(
        self, idx: int, wave: Wave, jobs: list[Job], acknowledged: int
    ) -> Verdict | None:
        """Wait for every shard's part of the wave, judge it whole, close it once."""
        assert self._shared is not None
        if self._halted:  # tripped (here or in another shard): what is left never starts
            self._recorder.skip(jobs, "run.halted", f"not started: wave {wave.name} tripped")
        await self._recorder.flush()  # our part is final in the journal before we wait
        if self._halted:  # no waiting for the others: the wave stops here
            counts: dict[Status, int] | None = await self._shared.counts(wave.name)
        else:
            counts = await self._shared.wave_final(idx, wave.name, self._stop, RESUMABLE_SKIPS)
        if self._stop.is_set():
            return Verdict(RunStatus.INTERRUPTED, "interrupted waiting for the other shards")
        if counts is None:  # another shard closed it halted
            row = (await self._journal.waves(self._run_id))[idx]
            self._closer = False
            return Verdict(RunStatus.HALTED, row.reason or f"wave {wave.name} halted")
        failed = sum(n for status, n in counts.items() if status.is_failure)
        total = sum(counts.values())
        allowed = wave.max_failed.allowed(total)
        status, reason = WaveStatus.PARTIAL if failed else WaveStatus.SUCCEEDED, None
        if failed - acknowledged > allowed or self._halted:
            status = WaveStatus.HALTED
            reason = (
                f"wave {wave.name} tripped max_failed: {failed} of its {total} items failed,"
                f" across shards, more than the {allowed} allowed (max_failed: {wave.max_failed})"
            )
        self._closer = await self._recorder.close_wave(
            idx, wave, status, failed=failed, reason=reason
        )
        if not self._closer:
            row = (await self._journal.waves(self._run_id))[idx]  # another shard closed it
            status, reason = row.status, row.reason
        if status is WaveStatus.HALTED:
            return Verdict(RunStatus.HALTED, reason or f"wave {wave.name} halted")
        return None

    async def _skip_later(self, idx: int, jobs: Sequence[Job], code: str, reason: str) -> None:
        """Mark every wave after ``idx`` skipped, and its unstarted items with it."""
        for later, wave in enumerate(self._plan.waves):
            if later <= idx:
                continue
            self._recorder.skip(
                (j for j in jobs if j.wave == wave.name), code, f"not started: {reason}"
            )
            if self._closer:  # in a sharded run, the shard that closed the wave
                await self._recorder.wave_finished(later, wave, WaveStatus.SKIPPED, reason=reason)


def overall(jobs: Sequence[Job]) -> RunStatus:
    """A finished run's status from its items' statuses."""
    counts: dict[Status | None, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return overall_of(counts)


def overall_of(counts: Mapping[Status | None, int]) -> RunStatus:
    """A finished run's status from how many of its items have each status."""
    ok = {Status.SUCCEEDED, Status.ALREADY_AT_TARGET}
    good = sum(n for status, n in counts.items() if status in ok)
    if good == sum(counts.values()):
        return RunStatus.SUCCEEDED
    if good:
        return RunStatus.PARTIAL
    return RunStatus.FAILED
