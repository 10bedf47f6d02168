"""Reads for reports and ``status`` that stream: pages of items, never the whole run.

A report of a 100,000-item run must not hold 100,000 items (still less
their content) at once. These statements read items a page at a time in
plan order, without the target content the engine keeps for its own
use, and count in the database what a report only sums.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from orchestrator.journal.backend import QueuedJournal
from orchestrator.journal.columns import ITEM_COLUMNS, record
from orchestrator.journal.rows import Event, ItemRow
from orchestrator.journal.sqlite_schema import WRITE_EVENTS_SQL
from orchestrator.statuses import Status

WRITES_OF_ITEMS = (
    "SELECT seq, at, event, detail FROM events WHERE run_id = ? AND seq BETWEEN ? AND ?"
    f" AND event IN {WRITE_EVENTS_SQL} ORDER BY id"
)
"""The writes of a range of items: the literal list lets it use the partial index."""
PAGE = 500  # items per read: a few hundred KiB however large the run
# Every column a report shows: the target's content stays in the journal.
_LEAN_COLUMNS = ", ".join(
    "NULL AS target_fields" if column == "target_fields" else column
    for column in (c.strip() for c in ITEM_COLUMNS.split(","))
)


class ReadingStatements(QueuedJournal):
    """Paged item reads, write correlation ids by page, run-level events, shard counts."""

    async def item_pages(
        self, run_id: str, *, wave: str | None = None, errors_only: bool = False
    ) -> AsyncIterator[list[ItemRow]]:
        """The run's items in plan order, :data:`PAGE` at a time, without target content.

        ``wave``: that wave's only; ``errors_only``: only items that recorded an error.
        """
        where = "run_id = ? AND seq > ?"
        extra: tuple[str, ...] = ()
        if wave is not None:
            where += " AND wave = ?"
            extra = (wave,)
        if errors_only:
            where += " AND error IS NOT NULL"
        sql = f"SELECT {_LEAN_COLUMNS} FROM items WHERE {where} ORDER BY seq LIMIT {PAGE}"
        after = -1
        while True:
            rows = await self._select(sql, (run_id, after, *extra))
            if not rows:
                return
            page = [record(ItemRow, r, status=Status) for r in rows]
            yield page
            if len(page) < PAGE:
                return
            after = page[-1].seq

    async def write_correlation_ids(
        self, run_id: str, first: int, last: int
    ) -> dict[int, list[str]]:
        """Items ``first``..``last``: the ININ-Correlation-Id of each write that may have landed."""
        rows = await self._select(WRITES_OF_ITEMS, (run_id, first, last))
        found: dict[int, list[str]] = {}
        for event in (record(Event, r) for r in rows):
            detail = event.detail if isinstance(event.detail, dict) else {}
            if event.seq is None:
                continue
            # A write of several requests (an assistant, its queues) joins their ids;
            # one in doubt names those of its requests that landed before (``landed``).
            for key in ("landed", "correlation_id"):
                if correlation := detail.get(key):
                    found.setdefault(event.seq, []).extend(str(correlation).split(","))
        return found

    async def event_pages(self, run_id: str) -> AsyncIterator[list[Event]]:
        """The run's audit trail in order, :data:`PAGE` events at a time."""
        sql = (
            "SELECT id, seq, at, event, detail FROM events WHERE run_id = ? AND id > ?"
            f" ORDER BY id LIMIT {PAGE}"
        )
        after = -1
        while rows := await self._select(sql, (run_id, after)):
            after = rows[-1]["id"]
            yield [record(Event, {k: v for k, v in r.items() if k != "id"}) for r in rows]
            if len(rows) < PAGE:
                return

    async def item_keys(self, run_id: str, seqs: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """Items ``seqs`` of the run: their org, kind and resource id."""
        if not seqs:
            return {}
        rows = await self._select(
            "SELECT seq, org, kind, resource_id FROM items WHERE run_id = ?"
            f" AND seq IN ({', '.join('?' for _ in seqs)})",
            (run_id, *seqs),
        )
        return {r["seq"]: (r["org"], r["kind"], r["resource_id"]) for r in rows}

    async def run_events(self, run_id: str, names: Sequence[str]) -> list[Event]:
        """The run's events named ``names`` (few per run: pacing, limits, reviews), in order."""
        rows = await self._select(
            "SELECT seq, at, event, detail FROM events WHERE run_id = ?"
            f" AND event IN ({', '.join('?' for _ in names)}) ORDER BY id",
            (run_id, *names),
        )
        return [record(Event, r) for r in rows]

    async def shard_counts(self, run_id: str) -> dict[int | None, tuple[int, int]]:
        """Per shard: its items, and how many of them are final."""
        rows = await self._select(
            "SELECT shard, COUNT(*) AS n, COUNT(status) AS final FROM items WHERE run_id = ?"
            " GROUP BY shard",
            (run_id,),
        )
        return {r["shard"]: (int(r["n"]), int(r["final"])) for r in rows}
