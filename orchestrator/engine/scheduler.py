"""Waves and their gates: schedule window, approval, failure threshold, bake.

Waves run in order; inside a wave every org runs in parallel with a bounded
pool of item workers per org (the client enforces each org's request
concurrency, quota and 429 pause). Every gate decision is journaled, so a
resumed run continues from exactly where a gate stopped it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio

from orchestrator.engine.job import Job, Recorder, by_org, error_dict
from orchestrator.engine.pool import drain
from orchestrator.engine.verifier import Verifier
from orchestrator.engine.worker import OrgWrites, Worker
from orchestrator.errors import RequestError
from orchestrator.genesys.retry import Budget
from orchestrator.journal.sqlite import Journal, WaveRow, utcnow
from orchestrator.models import Plan, Threshold, Wave
from orchestrator.statuses import RunStatus, Status, WaveStatus
from orchestrator.ui.observers import Observer

# Asked at a gate; True = go on, False = the operator declined, None = nobody to ask.
Approver = Callable[[str], Awaitable[bool | None]]
# Skipped for these reasons, an item is taken up again by ``resume``.
RESUMABLE_SKIPS = frozenset({"run.halted", "window.closed"})


class Tripwire:
    """A wave's ``max_failed`` gate: trips when failures exceed what is allowed."""

    def __init__(self, threshold: Threshold, items: int, *, acknowledged: int = 0) -> None:
        self.allowed = threshold.allowed(items)
        self._acknowledged = acknowledged  # failures an operator already accepted on resume
        self._statuses: dict[int, Status] = {}
        self.failures = 0  # failing items of the wave so far

    def record(self, job: Job) -> None:
        """Count ``job``'s (latest) status; a bake may turn a success into a failure."""
        if job.status is None:
            return
        previous = self._statuses.get(job.seq)
        if previous is not None and previous.is_failure:
            self.failures -= 1
        if job.status.is_failure:
            self.failures += 1
        self._statuses[job.seq] = job.status

    @property
    def tripped(self) -> bool:
        """More failures than allowed (beyond any acknowledged on resume)."""
        return self.failures - self._acknowledged > self.allowed


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the run ended; ``exit_code`` overrides the status's usual one."""

    status: RunStatus
    reason: str | None = None
    exit_code: int | None = None


class Scheduler:
    """Runs a planned run's waves through their gates."""

    def __init__(
        self,
        *,
        plan: Plan,
        journal: Journal,
        run_id: str,
        recorder: Recorder,
        observer: Observer,
        approver: Approver,
        stop: anyio.Event,
        approve_once: bool = False,
    ) -> None:
        self._plan = plan
        self._journal = journal
        self._run_id = run_id
        self._recorder = recorder
        self._observer = observer
        self._approver = approver
        self._stop = stop
        self._approve_once = approve_once  # `resume --approve`: pass the first gate met
        self._writes = OrgWrites()
        self._tripwire: Tripwire | None = None
        self._halted = False

    def on_done(self, job: Job) -> None:
        """Recorder callback: every final status passes through here."""
        if self._tripwire is not None:
            self._tripwire.record(job)
            if self._tripwire.tripped:
                self._halted = True
        self._observer.item_done(job)

    async def run(self, jobs: Sequence[Job]) -> Verdict:
        """Run every wave not yet finished; the verdict says how the run ends."""
        rows = self._journal.waves(self._run_id)
        for idx, wave in enumerate(self._plan.waves):
            row = rows[idx]
            if row.status in (WaveStatus.SUCCEEDED, WaveStatus.PARTIAL):
                continue
            wave_jobs = [j for j in jobs if j.wave == wave.name]
            verdict = await self._gates(idx, wave, row, jobs)
            if verdict is not None:
                return verdict
            verdict = await self._run_wave(idx, wave, row, wave_jobs)
            if verdict is not None:
                if verdict.status is RunStatus.HALTED:
                    self._skip_later(idx, jobs, "run.halted", verdict.reason or "run halted")
                return verdict
        return Verdict(overall(jobs))

    # ----- gates ------------------------------------------------------------

    async def _gates(
        self, idx: int, wave: Wave, row: WaveRow, jobs: Sequence[Job]
    ) -> Verdict | None:
        not_after = self._plan.schedule.not_after
        if not_after is not None and utcnow() >= not_after:
            reason = f"the change window closed at {_iso(not_after)} before wave {wave.name}"
            self._skip_later(idx - 1, jobs, "window.closed", reason)
            return Verdict(RunStatus.HALTED, reason)
        if row.status is WaveStatus.HALTED:
            question = (
                f"wave {wave.name} halted earlier: {row.reason}. Accept those failures and"
                " continue with what remains?"
            )
            verdict = await self._ask(idx, wave, question)
            if verdict is not None:
                return verdict
        elif wave.approve and row.approved_by is None:
            mine = sum(1 for j in jobs if j.wave == wave.name)
            question = (
                f"{self._so_far(idx)}start wave {wave.name} ({mine} items in"
                f" {len(wave.orgs)} orgs)?"
            )
            verdict = await self._ask(idx, wave, question)
            if verdict is not None:
                return verdict
        return None

    def _so_far(self, idx: int) -> str:
        """The earlier waves' results, for the operator deciding on the next one."""
        done = self._journal.waves(self._run_id)[:idx]
        if not done:
            return ""
        parts = [f"{w.name} {w.status} ({w.failed} failed of {w.items})" for w in done]
        return "so far: " + "; ".join(parts) + ". "

    async def _ask(self, idx: int, wave: Wave, question: str) -> Verdict | None:
        if self._approve_once:
            self._approve_once = False
            self._journal.approve_wave(self._run_id, idx, "resume --approve")
            return None
        self._journal.flush()  # the operator may take a while
        answer = await self._approver(question)
        if answer:
            self._journal.approve_wave(self._run_id, idx, "operator")
            return None
        if answer is None:
            reason = (
                f"wave {wave.name} waits for approval: run `orchestrator resume"
                f" {self._run_id} --approve` to start it"
            )
        else:
            reason = f"the operator declined to start wave {wave.name}"
        self._journal.record_event(self._run_id, None, "gate.pending", {"wave": idx})
        return Verdict(RunStatus.HALTED, reason)

    # ----- one wave ---------------------------------------------------------

    async def _run_wave(
        self, idx: int, wave: Wave, row: WaveRow, jobs: list[Job]
    ) -> Verdict | None:
        acknowledged = row.failed if row.status is WaveStatus.HALTED else 0
        self._tripwire = tripwire = Tripwire(wave.max_failed, len(jobs), acknowledged=acknowledged)
        self._halted = False
        for job in jobs:
            tripwire.record(job)
        self._journal.update_wave(self._run_id, idx, WaveStatus.RUNNING)
        self._observer.wave_started(idx, wave, jobs)
        await self._execute([j for j in jobs if j.status is None])
        if self._stop.is_set():
            return Verdict(RunStatus.INTERRUPTED, "interrupted")
        if not self._halted and wave.bake > 0:
            await self._bake(wave, jobs)
            if self._stop.is_set():
                return Verdict(RunStatus.INTERRUPTED, "interrupted during the bake")
        return self._close_wave(idx, wave, jobs, tripwire)

    async def _execute(self, pending: list[Job]) -> None:
        may_write = self._stop.is_set
        verifier = Verifier(
            limits=self._plan.limits,
            finish=self._recorder.done,
            may_continue=lambda: not may_write(),
        )
        worker = Worker(
            limits=self._plan.limits,
            recorder=self._recorder,
            writes=self._writes,
            may_write=lambda: not may_write(),
            verify=verifier.submit,
        )

        def proceed() -> bool:
            return not self._stop.is_set() and not self._halted

        async def pools() -> None:
            async with anyio.create_task_group() as inner:
                for org, org_jobs in by_org(pending).items():
                    size = self._plan.environment.org(org).concurrency
                    inner.start_soon(partial(drain, org_jobs, size, worker.run, proceed=proceed))
            verifier.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(pools)
            await verifier.run()

    async def _bake(self, wave: Wave, jobs: list[Job]) -> None:
        self._journal.flush()  # a long wait: have everything on disk first
        self._observer.waiting(f"baking wave {wave.name} before re-checking it", wave.bake)
        with anyio.move_on_after(wave.bake):
            await self._stop.wait()
        if self._stop.is_set():
            return
        held = [j for j in jobs if j.status in (Status.SUCCEEDED, Status.ALREADY_AT_TARGET)]
        for org, org_jobs in by_org(held).items():
            size = self._plan.environment.org(org).concurrency
            await drain(org_jobs, size, self._recheck)

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
                error_dict(
                    "bake.regression",
                    f"content moved away from its target during the bake (now version "
                    f"{live.version}, modified {live.modified})",
                ),
            )
            self._recorder.event(job, "bake.regression", {"version": live.version})
            self._recorder.done(job)

    def _close_wave(
        self, idx: int, wave: Wave, jobs: list[Job], tripwire: Tripwire
    ) -> Verdict | None:
        failed = tripwire.failures
        if self._halted:
            reason = (
                f"wave {wave.name} tripped max_failed: {failed} of its {len(jobs)} items failed,"
                f" more than the {tripwire.allowed} allowed (max_failed: {wave.max_failed})"
            )
            for job in jobs:
                if job.status is None:
                    job.status = Status.SKIPPED
                    job.error = error_dict("run.halted", f"not started: {reason}")
                    self._recorder.done(job)
            self._journal.update_wave(
                self._run_id, idx, WaveStatus.HALTED, failed=failed, reason=reason
            )
            self._observer.wave_finished(idx, wave, WaveStatus.HALTED, reason)
            return Verdict(RunStatus.HALTED, reason)
        status = WaveStatus.PARTIAL if failed else WaveStatus.SUCCEEDED
        self._journal.update_wave(self._run_id, idx, status, failed=failed)
        self._observer.wave_finished(idx, wave, status, None)
        return None

    def _skip_later(self, idx: int, jobs: Sequence[Job], code: str, reason: str) -> None:
        """Mark every wave after ``idx`` skipped, and its unstarted items with it."""
        for later, wave in enumerate(self._plan.waves):
            if later <= idx:
                continue
            for job in jobs:
                if job.wave == wave.name and job.status is None:
                    job.status = Status.SKIPPED
                    job.error = error_dict(code, f"not started: {reason}")
                    self._recorder.done(job)
            self._journal.update_wave(self._run_id, later, WaveStatus.SKIPPED, reason=reason)
            self._observer.wave_finished(later, wave, WaveStatus.SKIPPED, reason)


def overall(jobs: Sequence[Job]) -> RunStatus:
    """A finished run's status from its items' statuses."""
    ok = {Status.SUCCEEDED, Status.ALREADY_AT_TARGET}
    if all(j.status in ok for j in jobs):
        return RunStatus.SUCCEEDED
    if any(j.status in ok for j in jobs):
        return RunStatus.PARTIAL
    return RunStatus.FAILED


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
