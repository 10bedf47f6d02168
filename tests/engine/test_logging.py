"""Every step an operator greps for is a structured log line bound to its run."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator import logs
from orchestrator.journal import Journal
from orchestrator.sandbox import Faults
from tests.support import CONFIGS, SandboxFactory, execute, make_plan

pytestmark = pytest.mark.anyio


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_conflicts_pauses_tokens_and_waves_are_logged_with_the_run_id(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A run meeting 409s and 429s logs each of them, with run_id, org and config id."""
    stream = io.StringIO()
    logs.configure(fmt="json", stream=stream)
    faults = {
        "canary": Faults(
            concurrent_writer_rate=0.5,
            concurrent_writer_mode="bump",
            throttle_rate=0.2,
            throttle_burst=1,
            throttle_retry_after=1,
        )
    }
    async with make_sandbox(faults=faults, rng_seed=11) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CONFIGS["canary"]})
        result, data = await execute(plan, journal)
    lines = _lines(stream)
    events = {line["event"] for line in lines}
    assert {"token fetched", "wave started", "wave finished"} <= events
    assert {"conflict", "org paused by a 429", "org pause ended", "item finished"} <= events
    assert all(line.get("run_id") == result.run_id for line in lines)
    conflicts = [line for line in lines if line["event"] == "conflict"]
    assert len(conflicts) == data["http"]["conflicts"]
    assert all(c["org"] == "canary" and c["config_id"] in CONFIGS["canary"] for c in conflicts)
    assert all(c["correlation_id"] for c in conflicts)
    pauses = [line for line in lines if line["event"] == "org paused by a 429"]
    assert pauses and all(p["org"] == "canary" and p["seconds"] == 1 for p in pauses)
