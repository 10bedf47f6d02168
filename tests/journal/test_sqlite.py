"""The SQLite journal: the audit trail of an item, and schema versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import run_plan
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, open_journal, opened
from orchestrator.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from orchestrator.statuses import RunStatus, State
from tests.support import CONFIGS, QUIET, approve_all, write_plan

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


async def test_journal_records_every_step_of_an_item(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """planned, write.intended, write.confirmed, item.succeeded: in this order."""
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    steps = [e.event for e in await journal.events(result.run_id) if e.seq == 0]
    assert steps == ["planned", "write.intended", "write.confirmed", "item.succeeded"]
    (item,) = await journal.items(result.run_id)
    assert item.state is State.DONE and item.planned_hash and item.target_hash
    assert item.expected_version == item.from_version + 1 == item.new_version  # type: ignore[operator]


async def test_an_older_journal_is_migrated_in_place(tmp_path: Path) -> None:
    """A v1 file (before runs had an actor) opens, gains the column, and keeps its runs."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO runs (id, plan_name, plan_path, plan_sha256, status, started_at)"
        " VALUES ('r0', 'old', 'old.yaml', '0', 'succeeded', '2026-01-01T00:00:00.000Z')"
    )
    db.commit()
    db.close()
    async with opened(path) as journal:
        (run,) = await journal.runs()
        assert (run.id, run.status, run.actor) == ("r0", RunStatus.SUCCEEDED, None)
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    db.close()
    assert (int(version[0]), "actor" in columns) == (SCHEMA_VERSION, True)


async def test_a_journal_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    """A schema version this release does not know is a clear error, and the file is untouched."""
    path = tmp_path / "new.sqlite3"
    async with opened(path):
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match=f"schema version {SCHEMA_VERSION + 1}.*newer"):
        await open_journal(path)
    assert path.read_bytes() == before
