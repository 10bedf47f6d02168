"""``orchestrator status`` and ``report`` read the journal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import run_plan
from orchestrator.journal import Journal
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from tests.support import ACTOR, CONFIGS, QUIET, approve_all, puts, write_plan

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


async def test_status_and_report_read_the_journal(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`status` lists runs; `report` renders json, markdown and junit from the journal alone."""
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    base = [sys.executable, "-m", "orchestrator"]
    listing = await anyio.run_process([*base, "status", "--journal", journal.location])
    assert result.run_id in listing.stdout.decode() and "succeeded" in listing.stdout.decode()
    as_json = await anyio.run_process(
        [*base, "status", result.run_id, "--format", "json", "--journal", journal.location]
    )
    assert json.loads(as_json.stdout)["summary"]["succeeded"] == 2
    junit = await anyio.run_process(
        [*base, "report", result.run_id, "--format", "junit", "--journal", journal.location]
    )
    from xml.etree import ElementTree

    root = ElementTree.fromstring(junit.stdout)
    assert len(root.findall(".//testcase")) == 2
    markdown = await anyio.run_process(
        [*base, "report", result.run_id, "--format", "markdown", "--journal", journal.location]
    )
    assert "| org | config |" in markdown.stdout.decode()


async def test_events_exports_the_trail_as_json_lines_with_actor_and_correlation_ids(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every line is one JSON event: the approval names its actor, each write its id."""
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2]},
        waves=[{"name": "only", "orgs": ["*"], "approve": True}],
    )
    result = await run_plan(
        load_plan(path), journal, observer=Observer(), approver=approve_all, options=QUIET
    )
    assert result.run_id
    done = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "events",
            result.run_id,
            "--format",
            "jsonl",
            "--journal",
            journal.location,
        ]
    )
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert records and all(r["run_id"] == result.run_id and r["at"].endswith("Z") for r in records)
    approved = [r for r in records if r["event"] == "wave.approved"]
    assert [r["actor"] for r in approved] == [ACTOR]
    writes = {
        r["item"]["id"]: r["correlation_id"] for r in records if r["event"] == "write.confirmed"
    }
    applied = {r.resource_id: r.correlation_id for r in puts(sandbox) if r.applied}
    assert writes == applied and len(applied) == 2
    assert all(r["item"]["org"] == "canary" for r in records if r["event"] == "write.confirmed")
