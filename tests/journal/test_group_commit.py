"""Group commit under concurrency: many durable steps at once, each durable on return.

On PostgreSQL the pool let two commits run at once, and the scale bench met
``deadlock detected`` at 20 items (a timing this test does not reproduce
reliably); commits now go one at a time. This checks what must hold however
they are ordered: every intent is visible to another connection when its
call returns, and the target content read back per item is what was planned.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from orchestrator.canonical import canonical_text
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, open_journal
from orchestrator.journal.rows import NewItem, Planned
from orchestrator.statuses import RunStatus, State
from tests.conftest import parametrize_backends
from tests.support import ACTOR

pytestmark = [pytest.mark.anyio, parametrize_backends()]

ITEMS = 40


async def run_with_items(journal: Journal) -> None:
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


def planned_with(target_fields: dict[str, Any]) -> Planned:
    return Planned(
        name=None,
        from_version=1,
        etag="e",
        modified=None,
        planned_hash="h",
        target_version=0,
        target_label="v0",
        target_hash="t",
        target_fields=target_fields,
        requests=1,
    )


async def test_each_intent_is_committed_when_it_returns_however_many_race(
    journal: Journal, journal_at: str
) -> None:
    """40 intents at once, steps queued between them: each is visible elsewhere on return."""
    await run_with_items(journal)
    other = await open_journal(journal_at)
    unseen: list[int] = []

    async def intend(seq: int) -> None:
        journal.record_planned("r1", seq, planned_with({"n": seq}))
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


# What a server or an operator may put in a name or a message: quotes, backslashes,
# placeholders of every driver, dollar quoting, a statement's end, and more than ASCII.
AWKWARD = "it's 100% \\x00 %s %(n)s ? $1 $$; DROP TABLE runs; -- ünï ☃ \U0001f600\n\t\""


async def test_awkward_text_comes_back_from_a_commit_as_it_went_in(journal: Journal) -> None:
    """Values are bound, never spliced: text shaped like SQL is stored as text."""
    await run_with_items(journal)
    journal.record_event("r1", 3, "note", {"text": AWKWARD, "big": 2**62, "ratio": 1.5e300})
    journal.record_planned("r1", 3, planned_with({"name": AWKWARD}))
    await journal.flush()
    trail = [e for e in await journal.events("r1") if e.event == "note"]
    assert [e.detail for e in trail] == [{"text": AWKWARD, "big": 2**62, "ratio": 1.5e300}]
    assert await journal.target_text("r1", 3) == canonical_text({"name": AWKWARD})
    assert (await journal.run("r1")).plan_name == "p"  # the table is still there


async def test_a_commit_that_fails_writes_none_of_its_steps_and_loses_none(
    journal: Journal, journal_at: str
) -> None:
    """One statement refused: the statements before it and the queued steps are not written.

    The queued steps stay queued, and the next commit writes them: a full
    disk or a lost connection costs a retry, never half of a commit.
    """
    await run_with_items(journal)
    journal.record_event("r1", 1, "note", {"n": 1})
    journal.record_planned("r1", 1, planned_with({"n": 1}))
    refused = [
        ("UPDATE runs SET status = ? WHERE id = ?", ("halted", "r1")),
        ("INSERT INTO no_such_table VALUES (?)", (1,)),
    ]
    with pytest.raises(JournalError, match="no_such_table"):
        await journal._commit(refused)  # type: ignore[attr-defined]
    other = await open_journal(journal_at)
    try:
        assert (await other.run("r1")).status is not RunStatus.HALTED
        assert [e.event for e in await other.events("r1")] == ["run.created"]
        assert await other.target_text("r1", 1) is None
        await journal.flush()
        assert [e.event for e in await other.events("r1")][-2:] == ["note", "planned"]
        assert await other.target_text("r1", 1) == '{"n":1}'
    finally:
        await other.aclose()
