"""One unattended run of a bench plan through the engine's public API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from orchestrator.bench.measure import cpu_seconds, cpu_wait_seconds
from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, run_plan
from orchestrator.journal import is_url, opened
from orchestrator.models import Plan
from orchestrator.statuses import Status
from orchestrator.ui import report


async def _approve(question: str) -> bool:
    return True  # bench plans have no gates; say yes if one ever appears


async def drive(
    plan: Plan, journal_path: str | Path, *, report_to: Path | None = None
) -> dict[str, Any]:
    """Run ``plan`` with a new journal at ``journal_path`` (a file or a URL); outcome and timing.

    ``report_to``: also write the run's JSON report there, streamed from the
    journal as ``orchestrator run --report`` does (its time is ``report_s``,
    outside the run's figures; its memory counts in the process's peak).

    Returns:
        ``wall_s``, ``cpu_s`` and ``cpu_wait_s`` of ``run_plan`` alone (plan
        loading and the report excluded; CPU of the whole process, threads
        included; the wait is time spent ready but without a CPU), the run's
        status and exit code, item counts and the report's ``http`` counters.
    """
    async with opened(journal_path) as journal:
        cpu, wait, start = cpu_seconds(), cpu_wait_seconds(), time.perf_counter()
        result = await run_plan(
            plan,
            journal,
            observer=Observer(),
            approver=_approve,
            options=Options(handle_signals=False),
        )
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        wait = cpu_wait_seconds() - wait
        assert result.run_id is not None  # only --no-wait refuses before creating a run
        # Counted by the journal, as `status` does: a report of every item would
        # weigh on the peak RSS of a 100,000-item run more than the run itself.
        counts = await journal.status_counts(result.run_id)
        row = await journal.run(result.run_id)
        report_s = None
        if report_to is not None:
            begun = time.perf_counter()
            with report_to.open("w", encoding="utf-8") as out:
                await report.stream(journal, result.run_id, "json", out.write)
            report_s = time.perf_counter() - begun
    return {
        "journal_backend": "postgresql" if is_url(journal_path) else "sqlite",
        "status": result.status.value,
        "exit_code": result.exit_code,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_wait_s": wait,
        "items": sum(counts.values()),
        "succeeded": counts.get(Status.SUCCEEDED, 0),
        "http": dict(row.http),
        "report_s": report_s,
    }
