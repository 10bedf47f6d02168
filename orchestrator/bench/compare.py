"""Throughput: the orchestrator against the SDK baseline, same seed, same concurrency.

Each side runs against a fresh sandbox process serving the same generated
seed with rate limits off, from a process of its own (:mod:`throughput`,
:mod:`baseline`), so its CPU and peak RSS are its own. Afterwards the
sandbox's request log must show exactly one successful PUT per config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.bench.measure import run_child
from orchestrator.bench.plans import Pacing, Rollback, rollbacks, write_plan
from orchestrator.bench.sandboxproc import SandboxProcess
from orchestrator.sandbox import generate_seed

# By name, not imported: the parent must not load the SDK (nor time its import).
ORCHESTRATOR_CHILD = "orchestrator.bench.throughput"
BASELINE_CHILD = "orchestrator.bench.baseline"
FLOOR_CHILD = "orchestrator.bench.floor"
CHILD_TIMEOUT = 1800.0
UNBOUND = 100_000  # requests per minute that never bind
GOAL_SPEED = 2.0  # orchestrator rollbacks/s at least this many times the baseline's
GOAL_CPU = 0.5  # and CPU per rollback at most this share of the baseline's


@dataclass(frozen=True, slots=True, kw_only=True)
class Size:
    """Orgs x configs, and the concurrency both clients get."""

    orgs: int
    configs: int
    concurrency: int = 64  # requests in flight across the run: the baseline's threads
    org_concurrency: int = 4  # the orchestrator's per-org cap


FULL = Size(orgs=200, configs=25)
QUICK = Size(orgs=4, configs=5, concurrency=8)


def targets_of(size: Size) -> dict[str, list[Rollback]]:
    """What both sides roll back: the seed the sandbox processes serve, regenerated here."""
    return rollbacks(generate_seed(orgs=size.orgs, configs=size.configs))


def run(size: Size, workdir: Path, *, rounds: int = 1) -> dict[str, Any]:
    """Both sides ``rounds`` times, alternating; each side's median run, and the ratios.

    Other processes on a shared machine make single runs noisy; alternating
    spreads that noise over both sides, and the median run shrugs off one
    outlier. Every run of every round must pass the write check.
    """
    targets = targets_of(size)
    ours, theirs = [], []
    for n in range(rounds):
        here = workdir / f"round-{n + 1}"
        here.mkdir(parents=True, exist_ok=True)
        ours.append(orchestrator(size, targets, here))
        theirs.append(sdk(size, targets, here))
    mine, base = median(ours), median(theirs)
    return {
        "orgs": size.orgs,
        "configs": size.configs,
        "items": size.orgs * size.configs,
        "concurrency": size.concurrency,
        "org_concurrency": size.org_concurrency,
        "rounds": rounds,
        "orchestrator": mine,
        "baseline": base,
        **ratios(mine["client"], base["client"]),
    }


def median(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The run with the median rollbacks/s, every run's figures beside it, and their spread."""
    ranked = sorted(runs, key=lambda r: r["client"]["rollbacks_per_s"])
    speeds = [r["client"]["rollbacks_per_s"] for r in ranked]
    cpus = sorted(r["client"]["cpu_ms_per_rollback"] for r in runs)
    return {
        **ranked[(len(ranked) - 1) // 2],
        "all_correct": all(r["log"]["writes"]["ok"] for r in runs),
        "rollbacks_per_s_range": [speeds[0], speeds[-1]],
        "cpu_ms_per_rollback_range": [cpus[0], cpus[-1]],
        "runs": [r["client"] for r in runs],
    }


def orchestrator(
    size: Size,
    targets: Mapping[str, Sequence[Rollback]],
    workdir: Path,
    *,
    profile: Path | None = None,
) -> dict[str, Any]:
    """The orchestrator's figures, and what its sandbox saw."""
    pacing = Pacing(
        requests_per_minute=UNBOUND,
        org_concurrency=size.org_concurrency,
        concurrency=size.concurrency,
    )
    with SandboxProcess(size.orgs, size.configs, workdir / "sandbox-orchestrator.log") as sb:
        plan = write_plan(workdir / "throughput.yaml", sb.url, targets, pacing, name="throughput")
        args = [str(plan), str(workdir / "throughput.sqlite3"), str(workdir / "throughput.log")]
        args += [str(profile)] if profile else []
        client = run_child(ORCHESTRATOR_CHILD, args, timeout=CHILD_TIMEOUT)
        log = sb.summary()
    return {"client": client, "log": log}


def sdk(size: Size, targets: Mapping[str, Sequence[Rollback]], workdir: Path) -> dict[str, Any]:
    """The SDK baseline's figures, and what its (fresh) sandbox saw."""
    return _baseline(BASELINE_CHILD, "baseline", size, targets, workdir)


def floor(size: Size, targets: Mapping[str, Sequence[Rollback]], workdir: Path) -> dict[str, Any]:
    """The floor's figures (:mod:`orchestrator.bench.floor`), and what its sandbox saw."""
    return _baseline(FLOOR_CHILD, "floor", size, targets, workdir)


def _baseline(
    child: str,
    name: str,
    size: Size,
    targets: Mapping[str, Sequence[Rollback]],
    workdir: Path,
) -> dict[str, Any]:
    path = workdir / f"{name}-targets.json"
    path.write_text(json.dumps(targets))
    with SandboxProcess(size.orgs, size.configs, workdir / f"sandbox-{name}.log") as sb:
        args = [sb.url, str(path), str(size.concurrency)]
        client = run_child(child, args, timeout=CHILD_TIMEOUT)
        log = sb.summary()
    return {"client": client, "log": log}


def ratios(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Orchestrator over baseline, and whether the goals are met."""
    speed = ours["rollbacks_per_s"] / theirs["rollbacks_per_s"]
    cpu = ours["cpu_ms_per_rollback"] / theirs["cpu_ms_per_rollback"]
    return {
        "speed_ratio": speed,
        "cpu_ratio": cpu,
        "rss_ratio": ours["peak_rss_mib"] / theirs["peak_rss_mib"],
        "goal_met": speed >= GOAL_SPEED and cpu <= GOAL_CPU,
    }
