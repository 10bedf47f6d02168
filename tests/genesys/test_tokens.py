"""Tokens: fetched once per org, refreshed once on a 401."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.journal import Journal
from orchestrator.sandbox import Faults, Sandbox
from tests.support import CONFIGS, SandboxFactory, execute, make_plan, statuses

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


EMEA = CONFIGS["emea-prod"]


async def test_an_expired_token_is_refreshed_once(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A 401 credentials.expired leads to one new token, and the run goes on."""
    async with make_sandbox(faults={"canary": Faults(token_ttl=0.15, latency=0.08)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        tokens = [r for r in sb.requests if r.path == "/oauth/token"]
        expired = [r for r in sb.requests if r.status == 401]
        assert expired and len(tokens) >= 2


async def test_a_token_is_fetched_once_per_org_and_reused(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """One client-credentials request per org for the whole run."""
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY, "emea-prod": EMEA})
    await execute(plan, journal)
    tokens = [r.org for r in sandbox.requests if r.path == "/oauth/token"]
    assert sorted(tokens) == ["canary", "emea-prod"]
