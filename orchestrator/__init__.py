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
from orchestrator.loader import load_environment, load_plan
from orchestrator.outcome import RunStatus, Status
from orchestrator.plan import Environment, Item, Kind, Limits, OnDrift, Org, Plan, Wave

if TYPE_CHECKING:
    from orchestrator.engine import Options, Preview, Result, preview, resume_run, run_plan
    from orchestrator.journal import Journal
    from orchestrator.progress import Observer

_LAZY = {
    "Journal": "orchestrator.journal",
    "Observer": "orchestrator.progress",
    "Options": "orchestrator.engine",
    "Preview": "orchestrator.engine",
    "Result": "orchestrator.engine",
    "preview": "orchestrator.engine",
    "resume_run": "orchestrator.engine",
    "run_plan": "orchestrator.engine",
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
