"""``orchestrator approve``: pass a run's pending approval gate from any machine.

It writes the approval into the journal and drives nothing; the next
``resume RUN_ID`` (or ``run PLAN --run-id RUN_ID``) finds the gate passed.
"""

from __future__ import annotations

import argparse

import anyio

from orchestrator.engine.actor import current_actor
from orchestrator.engine.resume import ended
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, opened
from orchestrator.journal.rows import RunRow, WaveRow
from orchestrator.planfile.loader import load_plan
from orchestrator.statuses import WaveStatus


def cmd_approve(args: argparse.Namespace) -> int:
    """``orchestrator approve RUN_ID [--wave NAME]``."""

    async def give() -> str:
        async with opened(args.journal) as journal:
            row = await journal.run(args.run_id)
            if await ended(journal, row):
                raise JournalError(f"run {row.id} is {row.status}: there is nothing to approve")
            wave = await _gate(journal, row, args.wave)
            await journal.approve_wave(row.id, wave.idx, f"{current_actor()} (approve)")
            await journal.flush()
        return (
            f"wave {wave.name} of run {row.id} approved by {current_actor()};"
            f" `orchestrator resume {row.id}` starts it"
        )

    print(anyio.run(give))
    return 0


async def _gate(journal: Journal, row: RunRow, name: str | None) -> WaveRow:
    """The wave whose approval gate is pending: ``name``, else the first one.

    Raises:
        JournalError: no such wave, or its gate is not an approval gate waiting.
    """
    plan = load_plan(row.plan_path)
    gated = {wave.name for wave in plan.waves if wave.approve}
    waves = await journal.waves(row.id)
    if name is not None and name not in {w.name for w in waves}:
        known = ", ".join(w.name for w in waves)
        raise JournalError(f"run {row.id} has no wave {name!r} (its waves: {known})")
    for wave in waves:
        if name is not None and wave.name != name:
            continue
        if wave.status is WaveStatus.HALTED:
            raise JournalError(
                f"wave {wave.name} halted on its failures ({wave.reason}); accepting them is"
                f" `orchestrator resume {row.id} --approve`, by someone watching the run"
            )
        if wave.status is WaveStatus.PENDING and wave.name in gated and not wave.approved_by:
            return wave
        if name is not None:
            raise JournalError(f"wave {wave.name} of run {row.id} has no approval pending")
    raise JournalError(f"run {row.id} has no approval pending")
