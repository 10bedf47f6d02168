"""The orchestrator's side of the throughput benchmark, run as a process of its own.

``python -m orchestrator.bench.throughput PLAN JOURNAL LOG [PROFILE]`` runs one
plan, writes its JSON report beside LOG (streamed, as ``run --report`` does),
and prints its figures as one JSON line (JOURNAL: a SQLite file or a
``postgresql://`` URL). Being its own process, the CPU and peak RSS it
reports (the report's included) are the orchestrator's alone: the sandbox serves from
another (:mod:`orchestrator.bench.sandboxproc`). :mod:`orchestrator.bench.compare`
starts it.
"""

from __future__ import annotations

import cProfile
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from orchestrator import logs
from orchestrator.bench.measure import answer, peak_rss_mib
from orchestrator.bench.runner import drive
from orchestrator.planfile.loader import load_plan


def _run(plan_path: Path, journal: str, report: Path, profile: Path | None) -> dict[str, Any]:
    plan = load_plan(plan_path)
    go = partial(drive, plan, journal, report_to=report)
    if profile is None:
        return anyio.run(go, backend="asyncio")
    # CPU time, not wall time: on a shared machine a wall clock charges other
    # processes' turns to whatever call was running when the CPU was taken away.
    with cProfile.Profile(time.process_time) as profiler:
        figures = anyio.run(go, backend="asyncio")
    profiler.dump_stats(profile)
    return figures


def main(argv: list[str]) -> None:
    """Run one plan; print rollbacks/s, CPU per rollback and peak RSS as JSON."""
    plan, journal, log = Path(argv[0]), argv[1], Path(argv[2])
    profile = Path(argv[3]) if len(argv) > 3 else None
    with log.open("w") as stream:
        # As `orchestrator run` does: one JSON line per finished item (to a file here).
        logs.configure(fmt="json", stream=stream)
        # The JSON report too, as `run --report` writes it: its memory is in the peak.
        figures = _run(plan, journal, log.with_suffix(".report.json"), profile)
    succeeded = figures["succeeded"]
    figures["rollbacks_per_s"] = succeeded / figures["wall_s"]
    figures["cpu_ms_per_rollback"] = 1000 * figures["cpu_s"] / max(1, succeeded)
    figures["peak_rss_mib"] = peak_rss_mib()
    answer(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
