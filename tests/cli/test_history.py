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
from tests.support import CONFIGS, QUIET, approve_all, write_plan

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
