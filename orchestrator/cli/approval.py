"""``orchestrator approve``: pass a run's pending approval gate from any machine.

It writes the approval into the journal and drives nothing; the next
``resume RUN_ID`` (or ``run PLAN --run-id RUN_ID [--shard I/N]``) finds the
gate passed. A wave halted on its ``max_failed`` is approved the same way:
its failures are accepted and the rest of the run goes on.
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
        what = (
            f"wave {wave.name} of run {row.id} (halted: {wave.reason}) approved by"
            f" {current_actor()}: its {wave.failed} failures are accepted and what remains"
            if wave.status is WaveStatus.HALTED
            else f"wave {wave.name} of run {row.id} approved by {current_actor()}: it"
        )
        how = (
            f"every shard started again with its same command (`--run-id {row.id} --shard"
            f" I/{row.shards}`)"
            if row.shards
            else f"`orchestrator resume {row.id}`"
        )
        return f"{what} starts with {how}"

    print(anyio.run(give))
    return 0


async def _gate(journal: Journal, row: RunRow, name: str | None) -> WaveRow:
    """The wave whose approval gate is pending: ``name``, else the first one.

    Raises:
        JournalError: no such wave, or its gate is not an approval gate waiting.
    """
    waves = await journal.waves(row.id)
    if any(wave.gated is None for wave in waves):  # journaled before schema v4: ask the plan
        plan = load_plan(row.plan_path)
        gated = {wave.name for wave in plan.waves if wave.approve}
    else:
        gated = {wave.name for wave in waves if wave.gated}
    if name is not None and name not in {w.name for w in waves}:
        known = ", ".join(w.name for w in waves)
        raise JournalError(f"run {row.id} has no wave {name!r} (its waves: {known})")
    for wave in waves:
        if name is not None and wave.name != name:
            continue
        if wave.status is WaveStatus.HALTED and not wave.approved_by:
            return wave  # approving it accepts its failures: what remains goes on
        if wave.status is WaveStatus.PENDING and wave.name in gated and not wave.approved_by:
            return wave
        if name is not None:
            raise JournalError(f"wave {wave.name} of run {row.id} has no approval pending")
    raise JournalError(f"run {row.id} has no approval pending")
