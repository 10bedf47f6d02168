"""Safe, fast, auditable rollbacks of Genesys Cloud configurations across many orgs.

A library user's view::

    plan = load_plan("plans/revert.yaml")
    journal = await open_journal(".orchestrator/journal.sqlite3")
    result = anyio.run(lambda: run_plan(plan, journal, observer=Observer(), approver=ask))

The engine (and aiohttp behind it) is imported on first use, so the command
line's offline commands stay fast.

The package, by layer (each imports only from the layers above it in this list)::

    statuses, timestamps, errors, models, logs    the shared vocabulary
    genesys/    the Genesys Cloud API: client, tokens, pacing, retry, kinds, content
    journal/    the store: runs, items, events, snapshots, behind one Protocol
    planfile/   YAML to a validated Plan, offline
    engine/     preflight, planning, waves, gates, worker, verifier, recorder, events
    ui/         live display, progress lines, counts, plan preview, reports
    cli/        the command line, its commands and the demo
    sandbox/    the emulator (imports only the shared vocabulary)
    bench/      the benchmarks (may import anything)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.errors import (
    ItemError,
    JournalError,
    OrchestratorError,
    PlanError,
    Problem,
    RequestError,
)
from orchestrator.models import Environment, Item, Kind, Limits, OnDrift, Org, Plan, Wave
from orchestrator.planfile.loader import load_environment, load_plan
from orchestrator.statuses import ExitCode, RunStatus, Status

if TYPE_CHECKING:
    from orchestrator.engine.events import ItemDone, Observer, RunStarted, WaveFinished, WaveStarted
    from orchestrator.engine.run import Options, Preview, Result, preview, resume_run, run_plan
    from orchestrator.journal import Journal, open_journal

_LAZY = {
    "ItemDone": "orchestrator.engine.events",
    "Journal": "orchestrator.journal",
    "Observer": "orchestrator.engine.events",
    "Options": "orchestrator.engine.run",
    "Preview": "orchestrator.engine.run",
    "Result": "orchestrator.engine.run",
    "RunStarted": "orchestrator.engine.events",
    "WaveFinished": "orchestrator.engine.events",
    "WaveStarted": "orchestrator.engine.events",
    "open_journal": "orchestrator.journal",
    "preview": "orchestrator.engine.run",
    "resume_run": "orchestrator.engine.run",
    "run_plan": "orchestrator.engine.run",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")


__all__ = [
    "Environment",
    "ExitCode",
    "Item",
    "ItemDone",
    "ItemError",
    "Journal",
    "JournalError",
    "Kind",
    "Limits",
    "Observer",
    "OnDrift",
    "Options",
    "OrchestratorError",
    "Org",
    "Plan",
    "PlanError",
    "Preview",
    "Problem",
    "RequestError",
    "Result",
    "RunStarted",
    "RunStatus",
    "Status",
    "Wave",
    "WaveFinished",
    "WaveStarted",
    "load_environment",
    "load_plan",
    "open_journal",
    "preview",
    "resume_run",
    "run_plan",
]
