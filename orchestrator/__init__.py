"""Safe, fast, auditable rollbacks of Genesys Cloud configurations across many orgs."""

from orchestrator.errors import (
    OrchestratorError,
    PlanError,
    PreflightError,
    Problem,
    RequestError,
)
from orchestrator.plan import Environment, Item, Kind, Limits, OnDrift, Org, Plan, Wave

__all__ = [
    "Environment",
    "Item",
    "Kind",
    "Limits",
    "OnDrift",
    "OrchestratorError",
    "Org",
    "Plan",
    "PlanError",
    "PreflightError",
    "Problem",
    "RequestError",
    "Wave",
]
