"""The public API is what ``orchestrator.__all__`` says, no more, no less (as httpx pins it)."""

from __future__ import annotations

import orchestrator

PUBLIC = [
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


def test_all_is_pinned_and_sorted() -> None:
    """A name added to or dropped from the public API is a deliberate change to this list."""
    assert orchestrator.__all__ == PUBLIC == sorted(PUBLIC)


def test_every_public_name_resolves() -> None:
    """Each name in ``__all__`` is importable (lazy ones included) and is the real object."""
    from orchestrator.engine.run import run_plan
    from orchestrator.journal import open_journal

    for name in PUBLIC:
        assert getattr(orchestrator, name) is not None, name
    assert orchestrator.run_plan is run_plan
    assert orchestrator.open_journal is open_journal
