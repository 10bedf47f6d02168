"""Group commit under concurrency: many durable steps at once, each durable on return.

On PostgreSQL the pool let two commits run at once, and the scale bench met
``deadlock detected`` at 20 items (a timing this test does not reproduce
reliably); commits now go one at a time. This checks what must hold however
they are ordered: every intent is visible to another connection when its
call returns, and the target content read back per item is what was planned.
"""

from __future__ import annotations

import anyio
import pytest

from orchestrator.journal import Journal, open_journal
from orchestrator.journal.rows import NewItem, Planned
from orchestrator.statuses import State
from tests.conftest import parametrize_backends
from tests.support import ACTOR

pytestmark = [pytest.mark.anyio, parametrize_backends()]

ITEMS = 40


async def _run_with_items(journal: Journal) -> None:
    await journal.create_run(
        run_id="r1",
        plan_name="p",
        plan_path="p.yaml",
        plan_sha256="0",
        started_at="2026-12-01T00:00:00.000Z",
        actor=ACTOR,
        waves=[("all", ITEMS, False)],
        items=[
            NewItem(seq=n, org="o", kind="agentassist-config", id=f"c{n}", wave="all", spec="prev")
            for n in range(ITEMS)
        ],
    )


async def test_each_intent_is_committed_when_it_returns_however_many_race(
    journal: Journal, journal_at: str
) -> None:
    """40 intents at once, steps queued between them: each is visible elsewhere on return."""
    await _run_with_items(journal)
    other = await open_journal(journal_at)
    unseen: list[int] = []

    async def intend(seq: int) -> None:
        planned = Planned(
            name=None,
            from_version=1,
            etag="e",
            modified=None,
            planned_hash="h",
            target_version=0,
            target_label="v0",
            target_hash="t",
            target_fields={"n": seq},
            requests=1,
        )
        journal.record_planned("r1", seq, planned)
        journal.record_event("r1", seq, "note", {"n": seq})
        await journal.record_intent(
            "r1", seq, expected_version=2, etag="e", attempts=1, conflicts=0, requests=1
        )
        rows = {row.seq: row for row in await other.items("r1")}
        if rows[seq].state is not State.INTENDED:
            unseen.append(seq)

    try:
        async with anyio.create_task_group() as tg:
            for seq in range(ITEMS):
                tg.start_soon(intend, seq)
    finally:
        await other.aclose()
    assert unseen == []
    assert await journal.target_text("r1", 7) == '{"n":7}'
    assert await journal.target_text("r1", ITEMS + 1) is None
