"""The JSON report's keys are a contract (cli.md): pinned here, additions only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, run_plan
from orchestrator.journal import opened, reading
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from orchestrator.ui import report
from tests.support import CONFIGS, approve_all, execute, puts, write_plan

pytestmark = pytest.mark.anyio

TOP = {
    "report_version",
    "run_id",
    "plan",
    "started_at",
    "finished_at",
    "status",
    "summary",
    "waves",
    "items",
    "http",
}
PLAN = {"name", "path", "sha256"}
SUMMARY = {
    "total",
    "succeeded",
    "already_at_target",
    "unverified",
    "drifted",
    "rate_limited",
    "failed",
    "skipped",
}
WAVE = {"name", "status", "items", "failed", "started_at", "finished_at"}
ITEM = {
    "org",
    "kind",
    "id",
    "wave",
    "status",
    "from_version",
    "target_version",
    "new_version",
    "attempts",
    "conflicts",
    "requests",
    "duration_s",
    "error",
    "write_correlation_ids",
}
HTTP = {"requests", "retries", "conflicts", "rate_limited", "server_errors"}
ERROR = {"http_status", "code", "message", "correlation_id"}
RUN_STATUSES = {"succeeded", "partial", "failed", "halted", "interrupted"}
WAVE_STATUSES = {"succeeded", "halted", "skipped", "partial"}


async def test_the_json_report_has_every_contract_key(sandbox: Sandbox, tmp_path: Path) -> None:
    """Top level, plan, summary, waves, items, http and error objects: all keys present."""
    sandbox.set_permissions("emea-prod", ["agentassist:config:read"])
    plan = load_plan(
        write_plan(
            tmp_path,
            sandbox.url,
            {"canary": CONFIGS["canary"][:2], "emea-prod": CONFIGS["emea-prod"][:2]},
            waves=[{"name": "canary", "orgs": ["canary"]}, {"name": "rest", "orgs": ["*"]}],
        )
    )

    async def yes(question: str) -> bool | None:
        return True

    async with opened(tmp_path / "j.sqlite3") as journal:
        result = await run_plan(
            plan, journal, observer=Observer(), approver=yes, options=Options(handle_signals=False)
        )
        assert result.run_id
        data = await report.build(journal, result.run_id)
    assert set(data) >= TOP
    assert data["report_version"] == 1
    assert data["status"] in RUN_STATUSES
    assert set(data["plan"]) >= PLAN
    assert set(data["summary"]) >= SUMMARY
    assert data["summary"]["total"] == len(data["items"]) == 4
    assert set(data["http"]) >= HTTP
    for wave in data["waves"]:
        assert set(wave) >= WAVE and wave["status"] in WAVE_STATUSES
    for item in data["items"]:
        assert set(item) >= ITEM
    failed = [i for i in data["items"] if i["error"]]
    assert failed
    for item in failed:
        assert set(item["error"]) >= ERROR
    assert data["started_at"].endswith("Z") and len(data["started_at"]) == 20


async def test_every_write_in_the_report_carries_the_servers_correlation_id(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Each applied PUT the sandbox logged is named by its correlation id on its item."""
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CONFIGS["canary"][:3]}))
    async with opened(tmp_path / "j.sqlite3") as journal:
        result = await run_plan(
            plan,
            journal,
            observer=Observer(),
            approver=approve_all,
            options=Options(handle_signals=False),
        )
        assert result.run_id
        data = await report.build(journal, result.run_id)
    applied = {r.resource_id: r.correlation_id for r in puts(sandbox) if r.applied}
    assert len(applied) == 3
    for item in data["items"]:
        assert item["status"] == "succeeded"
        assert item["write_correlation_ids"] == [applied[item["id"]]]


@pytest.mark.backends
async def test_a_report_streamed_a_page_at_a_time_says_what_the_whole_report_says(
    sandbox: Sandbox, tmp_path: Path, journal_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one item: every format, byte for byte, as the report built in one piece."""
    sandbox.set_permissions("emea-prod", ["agentassist:config:read"])  # its writes fail
    plan = load_plan(
        write_plan(
            tmp_path,
            sandbox.url,
            {"canary": CONFIGS["canary"], "emea-prod": CONFIGS["emea-prod"]},
            waves=[{"name": "canary", "orgs": ["canary"]}, {"name": "rest", "orgs": ["*"]}],
        )
    )
    async with opened(journal_at) as journal:
        result, data = await execute(plan, journal)
        assert result.run_id
        whole = {fmt: await report.render(data, fmt) for fmt in report.FORMATS}
        monkeypatch.setattr(reading, "PAGE", 1)
        # Pages carry no content (the journal keeps it): a page is a page, whatever the configs.
        assert any(r.target_fields for r in await journal.items(result.run_id))
        async for page in journal.item_pages(result.run_id):
            assert len(page) == 1 and page[0].target_fields is None
        for fmt in report.FORMATS:
            out: list[str] = []
            tally = await report.stream(journal, result.run_id, fmt, out.append)
            assert "".join(out) == whole[fmt], fmt
            assert not tally.in_doubt
    assert json.loads(whole["json"]) == data
    assert [i["id"] for i in data["items"]] == CONFIGS["canary"] + CONFIGS["emea-prod"]
    assert any(i["error"] for i in data["items"]) and "problems:" in whole["text"]
    applied = {r.resource_id: r.correlation_id for r in puts(sandbox) if r.applied}
    assert applied  # what the server recorded is what every format names
    for item in data["items"]:
        assert item["write_correlation_ids"] == (
            [applied[item["id"]]] if item["id"] in applied else []
        )
