"""The journal: every run, wave, item step and snapshot, behind one ``Protocol``.

Layer rule: imports only the top-level modules (errors, statuses,
timestamps). It knows nothing of HTTP, plans or the engine; the engine talks
to it through :class:`~orchestrator.journal.store.Journal` and
:class:`~orchestrator.engine.recorder.Recorder`.

- ``store``: the ``Protocol`` every backend implements
- ``rows``: the records it returns
- ``sql``: the statements and the queue every SQL backend shares
- ``sqlite`` (+ ``sqlite_schema``): the zero-setup backend, one file
- ``postgres`` (+ ``postgres_schema``): the shared backend, one database for a team
- ``lock``: one process per run
- ``snapshots``: finding a snapshot for a ``to:``
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from orchestrator.errors import JournalError
from orchestrator.journal.store import Journal


@asynccontextmanager
async def opened(location: str | Path, *, read_only: bool = False) -> AsyncIterator[Journal]:
    """The journal at ``location``, closed (its queue committed) when the block ends.

    If the block failed, a journal that also fails to close does not hide
    that first error (a full disk fails both).
    """
    journal = await open_journal(location, read_only=read_only)
    try:
        yield journal
    except BaseException:
        with contextlib.suppress(JournalError):
            await journal.aclose()
        raise
    await journal.aclose()


def is_url(location: str | Path) -> bool:
    """A PostgreSQL URL rather than a file path."""
    return str(location).startswith(("postgresql://", "postgres://"))


async def open_journal(location: str | Path, *, read_only: bool = False) -> Journal:
    """The journal at ``location``: a file path (SQLite, created if missing) or a
    ``postgresql://`` URL (its tables created or migrated if needed).

    ``read_only``: for commands that only look (``status``, ``report``): the
    journal must exist, and nothing in it or beside it is created or changed.

    Raises:
        JournalError: it cannot be opened (or, read-only, does not exist), or
            was written by a newer release.
    """
    if is_url(location):
        from orchestrator.journal.postgres import PostgresJournal

        journal = PostgresJournal(str(location))
        await journal.connect()
        return journal
    from orchestrator.journal.sqlite import SqliteJournal

    return SqliteJournal(Path(location), read_only=read_only)


__all__ = ["Journal", "is_url", "open_journal", "opened"]
