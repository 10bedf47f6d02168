"""Safe, fast, auditable rollbacks of Genesys Cloud configurations across many orgs.

A library user's view::

    plan = load_plan("plans/revert.yaml")
    journal = Journal(Path(".orchestrator/journal.sqlite3"))
    result = anyio.run(lambda: run_plan(plan, journal, observer=Observer(), approver=ask))

The engine (and aiohttp behind it) is imported on first use, so the command
line's offline commands stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.errors import (
    JournalError,
    OrchestratorError,
    PlanError,
    Problem,
    RequestError,
)
from orchestrator.models import Environment, Item, Kind, Limits, OnDrift, Org, Plan, Wave
from orchestrator.planfile.loader import load_environment, load_plan
from orchestrator.statuses import RunStatus, Status

if TYPE_CHECKING:
    from orchestrator.engine.run import Options, Preview, Result, preview, resume_run, run_plan
    from orchestrator.journal.sqlite import Journal
    from orchestrator.ui.observers import Observer

_LAZY = {
    "Journal": "orchestrator.journal.sqlite",
    "Observer": "orchestrator.ui.observers",
    "Options": "orchestrator.engine.run",
    "Preview": "orchestrator.engine.run",
    "Result": "orchestrator.engine.run",
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
    "Item",
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
    "RunStatus",
    "Status",
    "Wave",
    "load_environment",
    "load_plan",
    "preview",
    "resume_run",
    "run_plan",
]
