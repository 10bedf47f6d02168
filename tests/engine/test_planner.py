"""Preflight and planning: identity, credentials, permissions, targets, the preview's diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engine.run import preview
from orchestrator.journal import Journal
from orchestrator.sandbox import Faults, Sandbox
from tests.support import CONFIGS, SandboxFactory, execute, make_plan, puts, statuses

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


EMEA = CONFIGS["emea-prod"]


async def test_a_pruned_target_fails_and_says_so(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A version older than the server keeps: failed at planning, code target.pruned."""
    async with make_sandbox(faults={"canary": Faults(version_retention=3)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": [{"id": CANARY[0], "to": 1}]})
        result, data = await execute(plan, journal)
        item = data["items"][0]
        assert item["status"] == "failed"
        assert item["error"]["code"] == "target.pruned"
        assert "pruned" in item["error"]["message"]
        assert item["error"]["http_status"] == 404
        assert puts(sb) == []
        assert result.exit_code == 1


async def test_preflight_refuses_a_token_of_another_org(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """org_id mismatch: exit 4, and nothing written anywhere."""
    plan = make_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY, "emea-prod": EMEA},
        orgs={"emea-prod": {"org_id": "00000000-0000-4000-8000-000000000000"}},
    )
    result, data = await execute(plan, journal)
    assert result.exit_code == 4
    assert puts(sandbox) == []
    assert set(statuses(data).values()) == {"skipped"}
    assert "emea-prod" in (data["reason"] or "")


async def test_preflight_refuses_bad_credentials_and_unreachable_hosts(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A wrong secret or a dead host fails preflight: exit 4, no write anywhere."""
    plan = make_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY, "emea-prod": EMEA, "amer-prod": CONFIGS["amer-prod"]},
        orgs={
            "emea-prod": {"client_secret": "wrong-secret"},
            "amer-prod": {"base_url": "http://127.0.0.1:9"},
        },
    )
    result, data = await execute(plan, journal)
    assert result.exit_code == 4
    assert puts(sandbox) == []
    reason = data["reason"] or ""
    assert "emea-prod" in reason and "amer-prod" in reason
    assert "invalid_client" in reason
    assert "wrong-secret" not in reason


async def test_missing_read_permission_fails_preflight(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A 403 while reading during planning is a preflight failure (exit 4)."""
    sandbox.set_permissions("canary", [])
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY, "emea-prod": EMEA})
    result, _ = await execute(plan, journal)
    assert result.exit_code == 4
    assert puts(sandbox) == []


async def test_plan_preview_writes_nothing_and_shows_the_diff(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`plan` reads and resolves every item; the sandbox sees no write at all."""
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    result = await preview(plan, journal=journal)
    assert result.exit_code == 0
    assert all(job.changes for job in result.jobs)
    assert puts(sandbox) == []
    assert all(r.method in ("GET", "POST") for r in sandbox.requests)
    assert not any(r.path.endswith("/conversations/query") for r in sandbox.requests)


async def test_before_resolves_through_paged_history(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """{before: T} follows pageCount when the server caps pageSize."""
    async with make_sandbox(faults={"*": Faults(page_size_cap=2)}) as sb:
        config_id = CONFIGS["amer-prod"][2]
        plan = make_plan(
            tmp_path,
            sb.url,
            {"amer-prod": [{"id": config_id, "to": {"before": "2026-10-25T00:00:00Z"}}]},
        )
        _, data = await execute(plan, journal)
        item = data["items"][0]
        assert (item["status"], item["target_version"]) == ("succeeded", 2)
        pages = [r for r in sb.requests if r.path.endswith("/versions") and r.status == 200]
        assert len(pages) >= 3
