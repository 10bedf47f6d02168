"""The journal: every run, wave, item step and snapshot, behind one ``Protocol``.

Layer rule: imports only the top-level modules (errors, statuses,
timestamps). It knows nothing of HTTP, plans or the engine; the engine talks
to it through :class:`~orchestrator.journal.store.Journal` and
:class:`~orchestrator.engine.recorder.Recorder`.

- ``store``: the ``Protocol`` every backend implements
- ``rows``: the records it returns
- ``sql``: the statements and the queue every SQL backend shares
- ``sqlite`` (+ ``sqlite_schema``): the zero-setup backend, one file
- ``lock``: one process per run
- ``snapshots``: finding a snapshot for a ``to:``
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from orchestrator.journal.store import Journal


@asynccontextmanager
async def opened(location: str | Path) -> AsyncIterator[Journal]:
    """The journal at ``location``, closed (its queue committed) when the block ends."""
    journal = open_journal(location)
    try:
        yield journal
    finally:
        await journal.aclose()


def open_journal(location: str | Path) -> Journal:
    """The journal at ``location`` (a file path: SQLite), created if missing.

    Raises:
        JournalError: it cannot be opened, or was written by a newer release.
    """
    from orchestrator.journal.sqlite import SqliteJournal

    return SqliteJournal(Path(location))


__all__ = ["Journal", "open_journal", "opened"]
