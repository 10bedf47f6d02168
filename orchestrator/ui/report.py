"""Reports from the journal: JSON (the contract), text, Markdown and JUnit.

Every format is rendered from the same data, read from the journal alone,
so ``run`` and a later ``report RUN_ID`` say exactly the same thing. A
report is written as it is read: the head (run, waves, summary, shards)
first, then the items a page at a time (:mod:`orchestrator.ui.reportformats`),
so a 100,000-item run's report takes the memory of one page, not of the
run. Every string in it is redacted before rendering, and for the formats a
person reads (text, Markdown, JUnit) its control characters are escaped:
messages and names come from servers, and a terminal or a ticket must show
them, not obey them. JSON escapes them itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.journal.rows import LIMITED, Event, ItemRow
from orchestrator.journal.store import Journal
from orchestrator.logs import printable, redact
from orchestrator.planfile.saved import REVIEWED
from orchestrator.statuses import Status
from orchestrator.timestamps import zulu_of
from orchestrator.ui import shardview
from orchestrator.ui.reportformats import FORMATS as _FORMATS
from orchestrator.ui.reportformats import PENDING, Item
from orchestrator.ui.reviewed import reviewed

REPORT_VERSION = 1
FORMATS = tuple(_FORMATS)
_HTTP_KEYS = ("requests", "retries", "conflicts", "rate_limited", "server_errors")
_RUN_EVENTS = ("pacing.learned", LIMITED, REVIEWED)  # the few run-level events a report reads


class Source(Protocol):
    """Where a report's items come from: the journal, page by page, or a built report."""

    def pages(
        self, *, wave: str | None = None, errors_only: bool = False
    ) -> AsyncIterator[list[Item]]:
        """Report items in plan order (one wave's, or only those with an error)."""
        ...


@dataclass(frozen=True, slots=True)
class _FromJournal:
    journal: Journal
    run_id: str

    async def pages(
        self, *, wave: str | None = None, errors_only: bool = False
    ) -> AsyncIterator[list[Item]]:
        async for page in self.journal.item_pages(self.run_id, wave=wave, errors_only=errors_only):
            writes = await self.journal.write_correlation_ids(
                self.run_id, page[0].seq, page[-1].seq
            )
            yield [_item(row, writes.get(row.seq, [])) for row in page]


@dataclass(frozen=True, slots=True)
class _FromReport:
    report: dict[str, Any]

    async def pages(
        self, *, wave: str | None = None, errors_only: bool = False
    ) -> AsyncIterator[list[Item]]:
        yield [
            i
            for i in self.report["items"]
            if (wave is None or i["wave"] == wave) and (i["error"] or not errors_only)
        ]


async def head(journal: Journal, run_id: str) -> dict[str, Any]:
    """The JSON report of ``run_id`` without its items (``items`` is an empty list)."""
    run = await journal.run(run_id)
    waves = await journal.waves(run_id)
    events = await journal.run_events(run_id, _RUN_EVENTS)
    summary = summarize(await journal.status_counts(run_id))
    shards = await shardview.shards(journal, run)
    http = shardview.http_total(shards, _HTTP_KEYS) or {
        k: int(run.http.get(k, 0)) for k in _HTTP_KEYS
    }
    return {
        "report_version": REPORT_VERSION,
        "run_id": run.id,
        "plan": {"name": run.plan_name, "path": run.plan_path, "sha256": run.plan_sha256},
        "started_at": _seconds(run.started_at),
        "finished_at": _seconds(run.finished_at),
        "status": run.status.value,
        "reason": run.reason,
        "actor": run.actor,
        "summary": summary,
        "waves": [
            {
                "name": w.name,
                "status": w.status.value,
                "items": w.items,
                "failed": w.failed,
                "started_at": _seconds(w.started_at),
                "finished_at": _seconds(w.finished_at),
                "reason": w.reason,
                "approved_by": w.approved_by,
            }
            for w in waves
        ],
        "items": [],
        "http": http,
        "pacing": _pacing(events),
        "limit": _limit(events),
        "shards": shards,
        "reviewed": reviewed(events),
    }


async def build(journal: Journal, run_id: str) -> dict[str, Any]:
    """The whole JSON report of ``run_id`` in memory (keys pinned by tests/ui/test_report.py).

    For a run of any size, :func:`stream` writes the same report without holding it.
    """
    report = await head(journal, run_id)
    async for page in _FromJournal(journal, run_id).pages():
        report["items"] += page
    return report


@dataclass(slots=True)
class Tally:
    """What a report's writer saw of the items on the way."""

    in_doubt: bool = False  # an item ended with a write that may have happened


async def stream(journal: Journal, run_id: str, fmt: str, write: Callable[[str], Any]) -> Tally:
    """Write ``run_id``'s report in ``fmt`` through ``write``, a page of items at a time."""
    return await _drive(await head(journal, run_id), _FromJournal(journal, run_id), fmt, write)


async def render(report: dict[str, Any], fmt: str) -> str:
    """A built report (:func:`build`) in ``fmt`` (one of :data:`FORMATS`), as one string."""
    out: list[str] = []
    await _drive(report, _FromReport(report), fmt, out.append)
    return "".join(out)


async def _drive(
    report: dict[str, Any], source: Source, fmt: str, write: Callable[[str], Any]
) -> Tally:
    """Feed ``fmt``'s writer the head, then pages of items in the order it asks for."""
    cls = _FORMATS[fmt]
    escape = cls.escape
    top = _clean({k: [] if k == "items" else v for k, v in report.items()}, escape=escape)
    out, tally = cls(top), Tally()

    def say(text: str) -> None:
        if text:
            write(redact(text))

    async def pages(**query: Any) -> AsyncIterator[list[Item]]:
        async for page in source.pages(**query):
            if page:
                tally.in_doubt |= any(
                    (i["error"] or {}).get("code") == "write.unknown" for i in page
                )
                yield [_clean(i, escape=escape) for i in page]

    say(out.begin())
    if not cls.by_wave:
        async for page in pages():
            say(out.rows(page))
    for wave in top["waves"] if cls.by_wave else ():
        if cls.measures:
            async for page in pages(wave=wave["name"]):
                out.measure(page)
        say(out.wave_start(wave))
        async for page in pages(wave=wave["name"]):
            say(out.rows(page))
        say(out.wave_end(wave))
    if cls.problems:
        async for page in pages(errors_only=True):
            say(out.problem_rows(page))
    say(out.end())
    return tally


def _limit(events: list[Event]) -> dict[str, list[str]] | None:
    """``--limit``: the patterns the run kept and the plan's orgs it left out."""
    for event in events:
        if event.event == LIMITED and isinstance(event.detail, dict):
            detail = event.detail
            return {"patterns": list(detail["limit"]), "left_out": list(detail["left_out"])}
    return None


def _pacing(events: list[Event]) -> list[dict[str, Any]]:
    """Each org whose server allows less than its environment file says, as it said last."""
    said: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.event == "pacing.learned" and isinstance(event.detail, dict):
            said[str(event.detail.get("org"))] = event.detail
    return [
        {"org": org, "allowed": d.get("allowed"), "configured": d.get("configured")}
        for org, d in sorted(said.items())
        if isinstance(d.get("allowed"), int) and d["allowed"] < (d.get("configured") or 0)
    ]


def summarize(counts: dict[Status | None, int]) -> dict[str, int]:
    """The report's ``summary`` from item counts per status (None: not final yet)."""
    summary = {"total": sum(counts.values())} | {s.value: counts.get(s, 0) for s in Status}
    summary[PENDING] = counts.get(None, 0)
    return summary


def _status(item: ItemRow) -> str:
    return item.status.value if item.status is not None else PENDING


def _item(item: ItemRow, write_correlation_ids: list[str]) -> dict[str, Any]:
    return {
        "org": item.org,
        "kind": item.kind,
        "id": item.resource_id,
        "name": item.name,
        "wave": item.wave,
        "status": _status(item),
        "state": item.state.value,
        "from_version": item.from_version,
        "target_version": item.target_version,
        "target": item.target_label,
        "new_version": item.new_version,
        "attempts": item.attempts,
        "conflicts": item.conflicts,
        "requests": item.requests,
        "duration_s": item.duration_s,
        "error": item.error.as_dict() if item.error else None,
        "write_correlation_ids": write_correlation_ids,
    }


def _seconds(text: str | None) -> str | None:
    return None if text is None else zulu_of(text)


def _clean(value: Any, *, escape: bool) -> Any:
    """``value`` with every string redacted (and, for people, made printable)."""
    if isinstance(value, str):
        text = redact(value)
        return printable(text) if escape else text
    if isinstance(value, dict):
        return {k: _clean(v, escape=escape) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, escape=escape) for v in value]
    return value
