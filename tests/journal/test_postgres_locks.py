"""PostgreSQL's resource locks: a release rides with the next lock, or goes on its own soon."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from orchestrator.journal import opened, postgres_locks
from tests.journal.test_group_commit import planned_with, run_with_items
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio


def _advisory_locks(url: str) -> int:
    """Advisory locks granted on this database, by any session."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_release_goes_with_the_next_lock(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resource let go of is released in the next lock's message, not a round trip of its own."""
    monkeypatch.setattr(postgres_locks, "RELEASE_SECONDS", 60.0)  # no timer gets there first
    url = postgres_server.new_database()
    async with opened(url) as journal:
        async with journal.resource_lock("org/kind/a"):
            pass
        assert _advisory_locks(url) == 1  # not sent yet: nothing else went to the server
        async with journal.resource_lock("org/kind/b"):
            assert _advisory_locks(url) == 1  # b taken, a released, in one message
        async with journal.resource_lock("org/kind/b"):  # released and taken again
            assert _advisory_locks(url) == 1
        async with journal.resource_lock("org/kind/c"):
            # pg_locks shows a key once however often it is held: only c left means
            # both of b's releases reached the server, none lost to the retake.
            assert _advisory_locks(url) == 1
    assert _advisory_locks(url) == 0  # the session ended: every lock went with it


async def test_a_release_with_no_lock_after_it_goes_on_its_own(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last write of a run does not keep its resource until the journal closes."""
    monkeypatch.setattr(postgres_locks, "RELEASE_SECONDS", 0.2)
    url = postgres_server.new_database()
    async with opened(url) as journal:
        async with journal.resource_lock("org/kind/a"):
            pass
        assert _advisory_locks(url) == 1
        for _ in range(
            200
        ):  # up to 10 s; the server's view is polled: there is no event to wait on
            if not _advisory_locks(url):
                break
            await anyio.sleep(0.05)
        assert _advisory_locks(url) == 0
        async with journal.resource_lock("org/kind/a") as waited:  # still ours to take
            assert not waited
            assert _advisory_locks(url) == 1


async def test_a_target_comes_back_in_the_message_of_the_lock_over_its_write(
    postgres_server: PostgresServer,
) -> None:
    """The target read is the lock's rider: what was committed when the lock was taken."""
    url = postgres_server.new_database()
    async with opened(url) as journal:
        await run_with_items(journal)
        journal.record_planned("r1", 1, planned_with({"n": 1}))
        await journal.flush()
        async with journal.resource_lock("o/kind/c1", item=("r1", 1)):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "UPDATE items SET target_fields = '{}' WHERE run_id = 'r1' AND seq = 1"
                )
            assert await journal.target_text("r1", 1) == '{"n":1}'  # brought by the lock
            assert await journal.target_text("r1", 1) == "{}"  # asked again: read again
        # Planned but not committed when its lock was taken: read after a commit.
        journal.record_planned("r1", 2, planned_with({"n": 2}))
        async with journal.resource_lock("o/kind/c2", item=("r1", 2)):
            assert await journal.target_text("r1", 2) == '{"n":2}'
