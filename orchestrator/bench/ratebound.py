"""Rate-bound scenarios: how close the orchestrator runs to the sliding window's limit.

The sandbox serves in this process (latency, not CPU, bounds these runs). The
environment's ``requests_per_minute`` equals the sandbox's limit for every
org, except in scenario (c), where the file says 300 while the server allows
30 and sends its ``inin-ratelimit-*`` headers only with 429s: the run must
learn the real limit at the cost of one 429 per org, then hold it.

An org that needs R API requests at L per minute cannot send its last one
sooner than 60*floor((R-1)/L) s after its first (api.md section 4); a client
pacing evenly at L per minute needs R*60/L s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.bench.plans import Pacing, config_ids, rollbacks, write_plan
from orchestrator.bench.requestlog import WINDOW, summarise
from orchestrator.bench.runner import drive
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox, generate_seed

UNLIMITED = 100_000  # the orchestrator's own quota when the sandbox has none


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Orgs x configs at a per-org limit (None: the sandbox does not limit)."""

    name: str
    orgs: int
    configs: int
    requests_per_minute: int | None
    file_says: int | None = None  # the environment file's figure, if not the server's
    headers_on_429_only: bool = False


FULL = (
    Scenario(name="a", orgs=20, configs=10, requests_per_minute=600),
    Scenario(name="b", orgs=20, configs=30, requests_per_minute=60),
    Scenario(
        name="c",
        orgs=10,
        configs=20,
        requests_per_minute=30,
        file_says=300,
        headers_on_429_only=True,
    ),
)
# Machinery only: small enough that no window binds.
QUICK = (
    Scenario(name="a", orgs=2, configs=3, requests_per_minute=600),
    Scenario(name="b", orgs=3, configs=4, requests_per_minute=600),
    Scenario(
        name="c",
        orgs=2,
        configs=3,
        requests_per_minute=600,
        file_says=3000,
        headers_on_429_only=True,
    ),
)


async def run(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    """Roll back every config of a fresh sandbox; the server's and the engine's figures."""
    seed = generate_seed(
        orgs=scenario.orgs,
        configs=scenario.configs,
        requests_per_minute=scenario.requests_per_minute,
    )
    targets = rollbacks(seed)
    limit = scenario.requests_per_minute
    pacing = Pacing(requests_per_minute=scenario.file_says or limit or UNLIMITED, concurrency=32)
    faults = {"*": Faults(ratelimit_headers_on_429_only=scenario.headers_on_429_only)}
    sandbox = Sandbox(seed, faults=faults)
    async with sandbox.serve() as url:
        path = workdir / f"ratebound-{scenario.name}.yaml"
        plan = load_plan(write_plan(path, url, targets, pacing, name=f"bench-{scenario.name}"))
        engine = await drive(plan, workdir / f"ratebound-{scenario.name}.sqlite3")
    log = summarise(sandbox.requests, config_ids(targets))
    return {
        "scenario": scenario.name,
        "orgs": scenario.orgs,
        "configs": scenario.configs,
        "limit": limit,
        "file_says": scenario.file_says or limit,
        "engine": engine,
        "log": log,
        **bounds(log["max_org_requests"], limit, log["makespan_s"]),
    }


def bounds(requests: int, limit: int | None, makespan: float) -> dict[str, Any]:
    """The window's floor, the evenly paced time, and the makespan against the binding one.

    The ratio is taken against the window bound when the window binds (an org
    needs more than one window), else against even pacing.
    """
    if limit is None or requests == 0:
        return {"window_bound_s": 0.0, "paced_s": None, "reference": None, "ratio": None}
    window = WINDOW * math.floor((requests - 1) / limit)
    paced = requests * WINDOW / limit
    reference = "window" if window > 0 else "paced"
    denominator = window if window > 0 else paced
    return {
        "window_bound_s": window,
        "paced_s": paced,
        "reference": reference,
        "ratio": makespan / denominator,
    }
