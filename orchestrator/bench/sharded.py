"""Sharded runs: one run driven by 1, then by 2 shard processes, against one sandbox.

Each side gets a fresh sandbox process serving the same generated seed with
rate limits off, and N ``orchestrator run PLAN --run-id ID --shard I/N``
processes started together on one journal: a PostgreSQL database (a
throwaway server, as shards on several machines would share) and an SQLite
file (shards on one machine). The wall time runs from starting the first shard to the last one
exiting, so it includes what a user waits for: start-up, preflight, planning,
the barriers between processes. Afterwards the sandbox's request log must show
exactly one successful PUT per config.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.bench.compare import UNBOUND, Size, targets_of
from orchestrator.bench.pgserver import PostgresServer
from orchestrator.bench.plans import Pacing, Rollback, write_plan
from orchestrator.bench.sandboxproc import SandboxProcess

FULL = Size(orgs=200, configs=25)
QUICK = Size(orgs=4, configs=5, concurrency=8)
SHARDS = (1, 2)
BACKENDS = ("postgresql", "sqlite")
TIMEOUT = 1800.0


def run(size: Size, workdir: Path) -> dict[str, Any]:
    """The same run by 1 and by 2 shard processes on each journal; rollbacks/s, speed-up."""
    targets = targets_of(size)
    backends: dict[str, Any] = {}
    with PostgresServer() as server:
        for backend in BACKENDS:
            sides = {}
            for n in SHARDS:
                here = workdir / f"shards-{backend}-{n}"
                journal = server.new_database() if backend == "postgresql" else None
                sides[n] = shards(n, size, targets, here, journal)
            speedup = sides[2]["rollbacks_per_s"] / sides[1]["rollbacks_per_s"]
            backends[backend] = {"sides": {str(n): v for n, v in sides.items()}, "speedup": speedup}
    return {
        "orgs": size.orgs,
        "configs": size.configs,
        "items": size.orgs * size.configs,
        "backends": backends,
    }


def shards(
    count: int,
    size: Size,
    targets: Mapping[str, Sequence[Rollback]],
    workdir: Path,
    journal_url: str | None = None,
) -> dict[str, Any]:
    """One run of ``targets`` by ``count`` shard processes; its figures and the write check."""
    workdir.mkdir(parents=True, exist_ok=True)
    pacing = Pacing(
        requests_per_minute=UNBOUND,
        org_concurrency=size.org_concurrency,
        concurrency=size.concurrency,
    )
    journal = journal_url or str(workdir / "journal.sqlite3")
    with SandboxProcess(size.orgs, size.configs, workdir / "sandbox.log") as sb:
        plan = write_plan(workdir / "sharded.yaml", sb.url, targets, pacing, name="sharded")
        start = time.perf_counter()
        processes = [_start(plan, journal, index, count, workdir) for index in range(count)]
        codes = [process.wait(TIMEOUT) for process in processes]
        wall = time.perf_counter() - start
        log = sb.summary()
    items = size.orgs * size.configs
    if codes != [0] * count or not log["writes"]["ok"]:
        raise RuntimeError(
            f"{count} shard(s) exited {codes}; writes {log['writes']}: see {workdir}"
        )
    return {
        "shards": count,
        "wall_s": wall,
        "rollbacks_per_s": items / wall,
        "requests": log["requests"],
        "exit_codes": codes,
        "writes": log["writes"],
    }


def _start(
    plan: Path, journal: str, index: int, count: int, workdir: Path
) -> subprocess.Popen[bytes]:
    log = (workdir / f"shard-{index}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "run",
            str(plan),
            "--run-id",
            "bench-sharded",
            "--shard",
            f"{index}/{count}",
            "--journal",
            journal,
            "--quiet",
            "--format",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def render(figures: Mapping[str, Any]) -> str:
    """The sharded part of the bench table."""
    from orchestrator.bench.table import grid

    rows = [["journal", "shard processes", "wall s", "rollbacks/s", "one PUT per config"]]
    speedups = []
    for backend, result in figures["backends"].items():
        for side in result["sides"].values():
            writes = side["writes"]
            rows.append(
                [
                    backend,
                    str(side["shards"]),
                    f"{side['wall_s']:.2f}",
                    f"{side['rollbacks_per_s']:.1f}",
                    f"{writes['exactly_one']}/{writes['configs']}",
                ]
            )
        speedups.append(f"{backend} {result['speedup']:.2f}x")
    return (
        f"SHARDED RUN: {figures['orgs']} orgs x {figures['configs']} configs, one sandbox"
        " process (wall time: first shard started to last one exited)\n"
        + grid(rows)
        + "\n2 shards vs 1: "
        + ", ".join(speedups)
    )
