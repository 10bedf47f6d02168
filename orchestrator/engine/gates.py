"""A wave's gates: the change window, approval, and the failure threshold.

Each decision is journaled through the recorder, so a resumed run continues
from exactly where a gate stopped it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from orchestrator.engine.job import Job
from orchestrator.engine.recorder import Recorder
from orchestrator.journal.rows import WaveRow
from orchestrator.logs import get_logger
from orchestrator.models import Plan, Threshold, Wave
from orchestrator.statuses import ExitCode, RunStatus, Status, WaveStatus
from orchestrator.timestamps import utcnow, zulu

# Asked at a gate; True = go on, False = the operator declined, None = nobody to ask.
Approver = Callable[[str], Awaitable[bool | None]]

_log = get_logger()


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the run ended; ``exit_code`` overrides the status's usual one."""

    status: RunStatus
    reason: str | None = None
    exit_code: ExitCode | None = None


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


class Gates:
    """Decides, before each wave, whether it may start."""

    def __init__(
        self,
        *,
        plan: Plan,
        run_id: str,
        recorder: Recorder,
        approver: Approver,
        actor: str,
        approve_once: bool = False,
        once: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._plan = plan
        self._once = once  # a sharded run: claims a run-wide decision for this process
        self._run_id = run_id
        self._recorder = recorder
        self._approver = approver
        self._actor = actor
        self._approve_once = approve_once  # `resume --approve`: pass the first gate met

    def window_closed(self, wave: Wave) -> str | None:
        """Why ``wave`` may not start because the change window closed, or None."""
        not_after = self._plan.schedule.not_after
        if not_after is not None and utcnow() >= not_after:
            return f"the change window closed at {zulu(not_after)} before wave {wave.name}"
        return None

    async def approval(
        self, idx: int, wave: Wave, row: WaveRow, items: int, so_far: Sequence[WaveRow]
    ) -> Verdict | None:
        """Ask where the wave needs a go-ahead; a verdict when it may not start."""
        if row.status is WaveStatus.HALTED and row.approved_by is not None:
            return None  # its failures were accepted (`orchestrator approve`)
        if row.status is WaveStatus.HALTED:
            question = (
                f"wave {wave.name} halted earlier: {row.reason}. Accept those failures and"
                " continue with what remains?"
            )
            return await self._ask(idx, wave, question)
        if wave.approve and row.approved_by is None:
            question = (
                f"{_so_far(so_far)}start wave {wave.name} ({items} items in {len(wave.orgs)} orgs)?"
            )
            return await self._ask(idx, wave, question)
        return None

    async def _ask(self, idx: int, wave: Wave, question: str) -> Verdict | None:
        if self._approve_once:
            self._approve_once = False
            await self._recorder.approved(idx, f"{self._actor} (resume --approve)")
            return None
        await self._recorder.flush()  # the operator may take a while
        answer = await self._approver(question)
        if answer:
            await self._recorder.approved(idx, self._actor)
            return None
        if answer is None and self._once is not None:
            reason = (
                f"wave {wave.name} waits for approval: run `orchestrator approve"
                f" {self._run_id} --wave {wave.name}`, then start the shards again"
            )
        elif answer is None:
            reason = (
                f"wave {wave.name} waits for approval: run `orchestrator resume"
                f" {self._run_id} --approve` to start it"
            )
        else:
            reason = f"the operator declined to start wave {wave.name}"
        decision = "pending" if answer is None else "declined"
        if self._once is None or await self._once(f"wave {idx} {decision}"):
            detail = {"wave": idx, "name": wave.name, "decision": decision, "actor": self._actor}
            _log.warning("gate decision", **detail)
            self._recorder.run_event("gate.pending", detail)
        return Verdict(RunStatus.HALTED, reason)


def _so_far(done: Sequence[WaveRow]) -> str:
    """The earlier waves' results, for the operator deciding on the next one."""
    if not done:
        return ""
    parts = [f"{w.name} {w.status} ({w.failed} failed of {w.items})" for w in done]
    return "so far: " + "; ".join(parts) + ". "
