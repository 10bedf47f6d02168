"""The audit trail (``orchestrator events``) is read a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import run_plan
from orchestrator.journal import Journal, reading
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from orchestrator.ui import trail
from tests.support import CONFIGS, QUIET, approve_all, puts, write_plan

pytestmark = [pytest.mark.anyio, pytest.mark.backends]


async def test_the_trail_in_pages_of_two_is_the_whole_trail(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event once, in order, with its item; each write names the server's correlation id."""
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CONFIGS["canary"][:3]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    whole = [r async for r in trail.trail(journal, result.run_id)]
    monkeypatch.setattr(reading, "PAGE", 2)
    paged = [r async for r in trail.trail(journal, result.run_id)]
    assert paged == whole
    assert [r["event"] for r in whole] == [e.event for e in await journal.events(result.run_id)]
    writes = {
        r["item"]["id"]: r["correlation_id"] for r in whole if r["event"] == "write.confirmed"
    }
    assert writes == {r.resource_id: r.correlation_id for r in puts(sandbox) if r.applied}
    assert len(writes) == 3
