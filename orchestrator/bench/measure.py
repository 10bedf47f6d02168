"""What a process costs: CPU seconds, peak RSS, and children that answer in JSON."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def cpu_seconds() -> float:
    """User + system CPU of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_wait_seconds() -> float:
    """Time this process was ready to run but waited for a CPU (0 where unknown).

    Other processes on the machine stretch wall time, not CPU time; this says
    by how much, so that a slow figure on a busy machine reads as such.
    """
    schedstat = Path("/proc/self/schedstat")
    if not schedstat.exists():
        return 0.0
    return int(schedstat.read_text().split()[1]) / 1e9


def peak_rss_mib() -> float:
    """Peak resident memory of this process image, in MiB.

    ``VmHWM`` rather than ``ru_maxrss``: after a vfork+exec (what
    ``subprocess`` does) the kernel seeds ``ru_maxrss`` with the parent's
    RSS, so a small child of a large parent would report the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(rollbacks: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Call ``rollbacks`` (its figures count ``succeeded``); add its wall, CPU and rates.

    A baseline child's measure, so that every baseline is measured alike:
    from after its imports to the end of its last rollback, login included.
    """
    cpu, wait, start = cpu_seconds(), cpu_wait_seconds(), time.perf_counter()
    figures = rollbacks()
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    wait = cpu_wait_seconds() - wait
    succeeded = figures["succeeded"]
    return figures | {
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_wait_s": wait,
        "rollbacks_per_s": succeeded / wall,
        "cpu_ms_per_rollback": 1000 * cpu / max(1, succeeded),
        "peak_rss_mib": peak_rss_mib(),
    }


def answer(figures: dict[str, Any]) -> None:
    """A child's result: one JSON line, the last thing it prints on stdout."""
    print(json.dumps(figures), flush=True)


def run_child(module: str, args: Sequence[str], *, timeout: float) -> dict[str, Any]:
    """Run ``python -m module args`` to completion; its last stdout line, parsed.

    Raises:
        RuntimeError: the child failed or printed no JSON answer.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} exited {done.returncode}:\n{done.stderr[-4000:]}{done.stdout[-2000:]}"
        )
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures
