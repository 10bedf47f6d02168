"""Which stored snapshot ``{snapshot: T}`` and ``{before: T}`` choose."""

from __future__ import annotations

from datetime import datetime

import pytest

from orchestrator.errors import TargetUnavailable
from orchestrator.journal import Journal, snapshots
from orchestrator.journal.rows import PRE_WRITE, SNAPSHOT_TAKEN, Snapshot
from orchestrator.timestamps import parse_stamp
from tests.conftest import parametrize_backends

pytestmark = [pytest.mark.anyio, parametrize_backends()]

RID = "a1"
T = "2026-12-01T22:37:49.000Z"
LATER = "2026-12-01T22:37:50.000Z"


def _snapshot(taken_at: str, source: str, state: str) -> Snapshot:
    return Snapshot(
        org="canary",
        kind="assistant",
        resource_id=RID,
        taken_at=taken_at,
        source=source,
        run_id=None if source == SNAPSHOT_TAKEN else "20261201T223749Z-other-0a0b",
        version=None,
        modified=None,
        content_hash=state,
        fields={"state": state},
    )


async def _store(journal: Journal, *stored: Snapshot) -> None:
    for snapshot in stored:
        journal.add_snapshot(snapshot)
    await journal.flush()


async def _chosen(journal: Journal, at: str, *, strictly_before: bool = False) -> str:
    instant: datetime = parse_stamp(at)
    found = await snapshots.find(
        journal, "assistant", RID, instant, strictly_before=strictly_before
    )
    return found.content_hash


async def test_an_operators_snapshot_comes_before_a_run_dated_the_same_second(
    journal: Journal,
) -> None:
    """A run that started in the snapshot's second read later content: it never stands in."""
    await _store(
        journal,
        _snapshot(T, SNAPSHOT_TAKEN, "Active"),
        _snapshot(T, PRE_WRITE, "Inactive"),  # stored after: without the rule, chosen
    )
    assert await _chosen(journal, T) == "Active"
    assert await _chosen(journal, LATER, strictly_before=True) == "Active"


async def test_pre_write_snapshots_of_one_second_give_the_last_stored(journal: Journal) -> None:
    """An intent that found the live state changed since planning keeps that one too: it wins."""
    await _store(journal, _snapshot(T, PRE_WRITE, "planned"), _snapshot(T, PRE_WRITE, "at write"))
    assert await _chosen(journal, T) == "at write"


async def test_the_newest_second_wins_whatever_took_it(journal: Journal) -> None:
    """`{snapshot: <run start>}` undoes that run even after an older operator's snapshot."""
    await _store(journal, _snapshot(T, SNAPSHOT_TAKEN, "old"), _snapshot(LATER, PRE_WRITE, "run"))
    assert await _chosen(journal, LATER) == "run"
    assert await _chosen(journal, T) == "old"
    assert await _chosen(journal, LATER, strictly_before=True) == "old"
    with pytest.raises(TargetUnavailable, match="snapshots exist at"):
        await _chosen(journal, T, strictly_before=True)
