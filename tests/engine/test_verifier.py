"""Verification: a written config counts only once it is live, within verify_timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.journal import Journal
from orchestrator.sandbox import Faults
from tests.support import CONFIGS, SandboxFactory, execute, make_plan, statuses

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


async def test_unverified_when_propagation_outlasts_verify_timeout(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Written but activeVersion never catches up in time: unverified, exit 1."""
    async with make_sandbox(faults={"canary": Faults(propagation_delay=600)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY[:1]}, limits={"verify_timeout": "1s"})
        result, data = await execute(plan, journal)
        item = data["items"][0]
        assert item["status"] == "unverified"
        assert item["error"]["code"] == "verify.timeout"
        assert len(sb.writes("canary")) == 1
        assert result.exit_code == 1


async def test_verification_waits_for_propagation(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """activeVersion catches up after the delay: the verifier polls until it does."""
    async with make_sandbox(faults={"canary": Faults(propagation_delay=1.0)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY[:2]})
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        queries = [r for r in sb.requests if r.path.endswith("/conversations/query")]
        assert len(queries) > 2  # at least one "not yet" answer per item
