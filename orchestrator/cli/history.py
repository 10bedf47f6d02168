"""``orchestrator status`` and ``report``: what the journal says, without touching an org.

Both open the journal read-only: they work on an auditor's copy in a
read-only folder, and a mistyped ``--journal`` is an error, not a new file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio

from orchestrator.journal import Journal, opened
from orchestrator.logs import printable
from orchestrator.ui import report, trail


def cmd_status(args: argparse.Namespace) -> int:
    """``orchestrator status [RUN_ID]``: the journal's runs, or one run's items."""

    async def show() -> None:
        async with opened(args.journal, read_only=True) as journal:
            if args.run_id:
                fmt = "json" if args.format == "json" else "text"
                await report.stream(journal, args.run_id, fmt, sys.stdout.write)
            else:
                _print_runs(journal.location, await _runs(journal), args.format)

    anyio.run(show)
    return 0


async def _runs(journal: Journal) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run.id,
            "plan": run.plan_name,
            "status": run.status.value,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "summary": report.summarize(await journal.status_counts(run.id)),
        }
        for run in await journal.runs()
    ]


def _print_runs(location: str, rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print(f"no runs in {location}")
    for row in rows:
        summary: dict[str, int] = row["summary"]
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "total" and v)
        line = f"{row['run_id']}  {row['status']:<11} {row['started_at']}  "
        print(printable(line + f"{summary['total']} items: {counts}"))  # a journal may be hostile


def cmd_report(args: argparse.Namespace) -> int:
    """``orchestrator report RUN_ID --format ...``."""

    async def show() -> None:
        async with opened(args.journal, read_only=True) as journal:
            await report.stream(journal, args.run_id, args.format, sys.stdout.write)

    anyio.run(show)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """``orchestrator events RUN_ID --format jsonl``: the audit trail for a SIEM."""

    async def show() -> None:
        async with opened(args.journal) as journal:
            async for record in trail.trail(journal, args.run_id):
                sys.stdout.write(trail.jsonl(record))

    anyio.run(show)
    return 0
