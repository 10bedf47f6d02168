"""The SQLite journal: the audit trail of an item, and schema versions."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path
from typing import cast

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import resumable, resume_run, run_plan
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, open_journal, opened
from orchestrator.journal.reading import WRITES_OF_ITEMS
from orchestrator.journal.rows import Snapshot
from orchestrator.journal.sqlite import CHECKPOINT_PAGES, SqliteJournal
from orchestrator.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from orchestrator.statuses import RunStatus, State
from tests.support import CONFIGS, QUIET, approve_all, execute, write_plan

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


async def test_a_v5_trail_is_indexed_in_order_and_its_writes_still_found(tmp_path: Path) -> None:
    """v6 indexes events by (run, id), and writes alone by item: a v5 trail reads the same."""
    path = tmp_path / "v5.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:
        db.executescript(script)
    db.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    trail = [
        (0, "planned", '{"correlation_id": "read-0"}'),
        (1, "write.unknown", '{"correlation_id": "c-1"}'),
        (0, "write.intended", '{"correlation_id": "intent-0"}'),
        (0, "write.confirmed", '{"correlation_id": "c-0"}'),
        (None, "run.finished", None),
    ]
    db.executemany(
        "INSERT INTO events (run_id, seq, at, event, detail) VALUES ('r0', ?, 'at', ?, ?)", trail
    )
    db.commit()
    db.close()
    async with opened(path) as journal:
        assert await journal.write_correlation_ids("r0", 0, 9) == {0: ["c-0"], 1: ["c-1"]}
        read = [(e.seq, e.event) async for page in journal.event_pages("r0") for e in page]
        assert read == [(seq, event) for seq, event, _ in trail]
    db = sqlite3.connect(path)
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    plan = db.execute(f"EXPLAIN QUERY PLAN {WRITES_OF_ITEMS}", ("r0", 0, 9)).fetchall()
    db.close()
    assert {"events_in_order", "writes_by_item"} <= indexes and "events_by_run" not in indexes
    assert "USING INDEX writes_by_item" in " ".join(str(step[-1]) for step in plan)


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


async def test_commits_gather_in_the_wal_until_many_pages_are_there(tmp_path: Path) -> None:
    """A checkpoint waits for CHECKPOINT_PAGES frames, not SQLite's default 1,000.

    Checkpointing ten times less often copies each often-changed page into the
    main file ten times less often. More than 1,000 pages of commits (each
    snapshot a page of its own) must all still be in the -wal file.
    """
    path = tmp_path / "j.sqlite3"
    pages = 1_500
    assert pages < CHECKPOINT_PAGES
    async with opened(path) as journal:
        for i in range(pages):
            journal.add_snapshot(
                Snapshot(
                    org="org",
                    kind="agentassist-config",
                    resource_id=f"r{i}",
                    taken_at="2026-01-01T00:00:00.000Z",
                    source="snapshot",
                    run_id=None,
                    version=1,
                    modified=None,
                    content_hash="0" * 64,
                    fields={"text": "x" * 4_000},
                )
            )
            await journal.flush()
        frames = _wal_frames(path)
        assert frames is not None and frames > pages
    assert _wal_frames(path) is None  # the last connection checkpointed and removed it


def _wal_frames(journal: Path) -> int | None:
    """Frames in the journal's -wal file (a 32-byte header, then 24 + 4,096 bytes each)."""
    wal = Path(f"{journal}-wal")
    return (wal.stat().st_size - 32) // (24 + 4_096) if wal.exists() else None


async def test_a_full_disk_mid_run_is_a_journal_error_and_the_run_stays_resumable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """SQLITE_FULL during the writes: one clear JournalError naming resume; resume finishes."""
    path = write_plan(tmp_path, sandbox.url, {org: CONFIGS[org] for org in CONFIGS})
    location = tmp_path / "j.sqlite3"
    with pytest.raises(JournalError) as caught:
        async with opened(location) as journal:
            # A size limit on this connection is a full disk as SQLite reports it.
            db = cast(SqliteJournal, journal)._db

            def fill_the_disk() -> None:
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                # One page: planning commits the pre-write snapshots, so the writes
                # themselves journal little; two pages held a whole 25-item wave.
                db.execute(f"PRAGMA max_page_count = {pages + 1}")

            await execute(path, journal, at_wave=fill_the_disk)
    message = str(caught.value)
    assert "the disk is full" in message and "orchestrator resume" in message
    written = {(r.org, r.resource_id) for r in sandbox.writes()}
    assert len(written) < 25  # it stopped mid-run
    async with opened(location) as journal:
        row = await resumable(journal, None)
        assert row.status is RunStatus.RUNNING and row.id in message
        result = await resume_run(
            load_plan(path), journal, row, observer=Observer(), approver=approve_all, options=QUIET
        )
        assert result.exit_code == 0
    for org, ids in CONFIGS.items():
        for config_id in ids:
            assert len(sandbox.writes(org, config_id)) == 1


def damage(path: Path) -> None:
    """Overwrite every page but the first with garbage, as a bad disk would."""
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xde\xad\xbe\xef" * ((len(data) - page) // 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("read_only", [False, True])
async def test_a_damaged_journal_is_a_clear_journal_error(
    sandbox: Sandbox, tmp_path: Path, read_only: bool
) -> None:
    """Corrupted pages: JournalError saying the file is damaged, on open or on the first read."""
    location = tmp_path / "j.sqlite3"
    async with opened(location) as journal:
        await execute(write_plan(tmp_path, sandbox.url, {"canary": CANARY}), journal)
    damage(location)
    with pytest.raises(JournalError, match="damaged"):
        async with opened(location, read_only=read_only) as journal:
            await journal.runs()


async def test_read_only_never_creates_a_journal(tmp_path: Path) -> None:
    """A mistyped path read-only: a clear error, and no file or folder appears."""
    with pytest.raises(JournalError, match="no journal at"):
        await open_journal(tmp_path / "typo" / "jounral.sqlite3", read_only=True)
    assert not (tmp_path / "typo").exists()


async def test_read_only_reads_and_changes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """Read-only: runs and items read as usual; writing and locking are refused; bytes unchanged."""
    location = tmp_path / "j.sqlite3"
    async with opened(location) as journal:
        _, data = await execute(write_plan(tmp_path, sandbox.url, {"canary": CANARY}), journal)
    before = location.read_bytes()
    async with opened(location, read_only=True) as journal:
        (run,) = await journal.runs()
        assert run.id == data["run_id"] and len(await journal.items(run.id)) == len(CANARY)
        with pytest.raises(JournalError, match="open read-only"):
            await journal.lock(run.id)
    with pytest.raises(JournalError, match="cannot be written"):
        async with opened(location, read_only=True) as journal:
            journal.record_event(run.id, None, "tampered")
            await journal.flush()
    assert location.read_bytes() == before


async def test_journal_files_and_folders_are_private(sandbox: Sandbox, tmp_path: Path) -> None:
    """Folders the journal creates are 0700; the journal, its -wal/-shm and locks are 0600."""
    location = tmp_path / "new" / "deeper" / "j.sqlite3"
    async with opened(location) as journal:
        await execute(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]}), journal)
        await journal.lock("r-1")
        modes = {
            p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in (tmp_path / "new").rglob("*")
        }
    assert modes.pop("new/deeper/j.sqlite3-wal") == 0o600
    assert modes.pop("new/deeper/j.sqlite3-shm") == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    locks = {name: mode for name, mode in modes.items() if name.endswith(".lock")}
    assert "new/deeper/j.sqlite3.locks/r-1.lock" in locks and set(locks.values()) == {0o600}
    assert {name: mode for name, mode in modes.items() if name not in locks} == {
        "new/deeper": 0o700,
        "new/deeper/j.sqlite3": 0o600,
        "new/deeper/j.sqlite3.locks": 0o700,
    }
