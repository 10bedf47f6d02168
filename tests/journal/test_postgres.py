"""The PostgreSQL journal: schema versions, and a password that never shows."""

from __future__ import annotations

import sys

import anyio
import psycopg
import pytest

from orchestrator.errors import JournalError
from orchestrator.journal import open_journal, opened
from orchestrator.journal.postgres_schema import MIGRATIONS, SCHEMA_VERSION
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio

PASSWORD = "s3cr3t-Pa55word"


def with_password(url: str) -> str:
    """The same database, with a password in the URL (trust authentication ignores it)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


async def test_a_journal_from_a_newer_release_is_refused(postgres_server: PostgresServer) -> None:
    """A schema version this release does not know is a clear error, not a guess."""
    url = postgres_server.new_database()
    async with opened(url):
        pass
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = %s", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(JournalError, match=f"schema version {SCHEMA_VERSION + 1}.*newer"):
        await open_journal(url)


async def test_a_v5_trail_is_indexed_in_order_and_its_writes_still_found(
    postgres_server: PostgresServer,
) -> None:
    """v6 on PostgreSQL: the v5 index goes, a v5 trail reads the same, writes found by item."""
    url = postgres_server.new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        for script in MIGRATIONS[:5]:
            conn.execute(script.encode())
        conn.execute("INSERT INTO meta VALUES ('schema_version', '5')")
        for seq, event, correlation in [
            (0, "write.intended", "intent-0"),
            (1, "write.unknown", "c-1"),
            (0, "write.confirmed", "c-0"),
        ]:
            conn.execute(
                "INSERT INTO events (run_id, seq, at, event, detail)"
                " VALUES ('r0', %s, 'at', %s, %s)",
                (seq, event, f'{{"correlation_id": "{correlation}"}}'),
            )
    async with opened(url) as journal:
        assert await journal.write_correlation_ids("r0", 0, 9) == {0: ["c-0"], 1: ["c-1"]}
        trail = [(e.seq, e.event) for e in await journal.events("r0")]
        assert trail == [(0, "write.intended"), (1, "write.unknown"), (0, "write.confirmed")]
    with psycopg.connect(url) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert {"events_in_order", "writes_by_item"} <= indexes and "events_by_run" not in indexes


async def test_two_processes_opening_a_new_database_migrate_it_once(
    postgres_server: PostgresServer,
) -> None:
    """Concurrent first opens: one creates the tables, the other finds them made."""
    url = postgres_server.new_database()

    async def open_and_close() -> None:
        async with opened(url):
            pass

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(open_and_close)
    with psycopg.connect(url) as conn:
        (version,) = conn.execute("SELECT value FROM meta").fetchone() or ("",)
    assert version == str(SCHEMA_VERSION)


async def test_resources_locked_at_once_hold_one_connection(
    postgres_server: PostgresServer,
) -> None:
    """Items starting together open one connection for their locks, not one each to leak."""
    url = postgres_server.new_database()
    taken, all_taken, go_on = 0, anyio.Event(), anyio.Event()

    async def hold(key: str) -> None:
        nonlocal taken
        async with journal.resource_lock(key):
            taken += 1
            if taken == 8:
                all_taken.set()
            await go_on.wait()

    async with opened(url) as journal, anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(hold, f"org/kind/{n}")
        with anyio.fail_after(10):
            await all_taken.wait()
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(DISTINCT pid), count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
        go_on.set()
    assert row == (1, 8)  # one session holds all eight


async def test_the_password_in_the_url_is_never_shown(postgres_server: PostgresServer) -> None:
    """status, report and errors name the journal without its password, in any output."""
    url = with_password(postgres_server.new_database())
    async with opened(url) as journal:
        assert PASSWORD not in journal.location and "***" in journal.location
    base = [sys.executable, "-m", "orchestrator"]
    listing = await anyio.run_process([*base, "status", "--journal", url])
    missing = await anyio.run_process(
        [*base, "report", "no-such-run", "--journal", url], check=False
    )
    bad_host = url.replace("host=", "host=/nonexistent/")
    unreachable = await anyio.run_process([*base, "status", "--journal", bad_host], check=False)
    assert b"no runs in postgresql://postgres:***@" in listing.stdout
    assert (missing.returncode, unreachable.returncode) == (2, 2)
    for done in (listing, missing, unreachable):
        assert PASSWORD.encode() not in done.stdout + done.stderr
    assert b"cannot open journal" in unreachable.stderr
