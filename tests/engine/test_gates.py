"""Waves and their gates: max_failed, bake, approval, the schedule window."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Tripwire
from orchestrator.engine.run import Options, resumable, resume_run, run_plan
from orchestrator.journal import Journal
from orchestrator.models import Threshold
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox
from orchestrator.ui import report
from tests.conftest import parametrize_backends
from tests.support import (
    ACTOR,
    CONFIGS,
    QUIET,
    OnWait,
    SandboxFactory,
    approve_all,
    execute,
    planned_run,
    write_plan,
)

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY, EMEA, AMER = CONFIGS["canary"], CONFIGS["emea-prod"], CONFIGS["amer-prod"]


def _job(seq: int, failed: bool) -> Any:
    from orchestrator.statuses import Status

    class Fake:
        pass

    job = Fake()
    job.seq = seq  # type: ignore[attr-defined]
    job.status = Status.FAILED if failed else Status.SUCCEEDED  # type: ignore[attr-defined]
    return job


@pytest.mark.parametrize(
    ("threshold", "items", "failures", "tripped"),
    [
        (Threshold(count=0), 5, 0, False),
        (Threshold(count=0), 5, 1, True),
        (Threshold(count=2), 5, 2, False),  # exactly at: goes on
        (Threshold(count=2), 5, 3, True),  # one over: trips
        (Threshold(fraction=0.10), 20, 2, False),  # 10% of 20 = 2
        (Threshold(fraction=0.10), 20, 3, True),
        (Threshold(fraction=0.10), 19, 1, False),  # 1.9 rounds down to 1
        (Threshold(fraction=0.10), 19, 2, True),
        (Threshold(fraction=0.05), 10, 0, False),  # 0.5 rounds down to 0: any failure trips
        (Threshold(fraction=0.05), 10, 1, True),
        (Threshold(), 10, 10, False),  # no max_failed: never trips
    ],
)
def test_threshold_trips_on_more_than_allowed(
    threshold: Threshold, items: int, failures: int, tripped: bool
) -> None:
    """max_failed means "more than": exactly at the threshold goes on, one over halts."""
    wire = Tripwire(threshold, items)
    for seq in range(items):
        wire.record(_job(seq, seq < failures))
    assert wire.tripped is tripped


@pytest.mark.parametrize(
    ("max_failed", "halted"), [(2, False), (1, True), ("50%", False), ("49%", True)]
)
async def test_threshold_at_the_boundary_end_to_end(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal, max_failed: Any, halted: bool
) -> None:
    """Two of four items fail (pruned targets): max_failed 2 / 50% go on, 1 / 49% halt."""
    async with make_sandbox(faults={"canary": Faults(version_retention=3)}) as sb:
        items = [{"id": CANARY[0], "to": 1}, {"id": CANARY[1], "to": 1}, CANARY[2], CANARY[3]]
        path = write_plan(
            tmp_path,
            sb.url,
            {"canary": items, "emea-prod": EMEA[:1]},
            waves=[
                {"name": "canary", "orgs": ["canary"], "max_failed": max_failed},
                {"name": "rest", "orgs": ["*"]},
            ],
        )
        result, data = await execute(path, journal)
        waves = {w["name"]: w["status"] for w in data["waves"]}
        if halted:
            assert result.exit_code == 3
            assert waves == {"canary": "halted", "rest": "skipped"}
            assert "tripped max_failed" in (data["reason"] or "")
            assert sb.writes("emea-prod") == []
        else:
            assert result.exit_code == 1
            assert waves == {"canary": "partial", "rest": "succeeded"}
            assert len(sb.writes("emea-prod")) == 1


async def test_a_failing_canary_halts_before_the_next_wave(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Canary 403s: halted, exit 3, later waves skipped, no request to their orgs after."""
    sandbox.set_permissions("canary", ["agentassist:config:read"])
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY, "emea-prod": EMEA, "amer-prod": AMER},
        waves=[
            {"name": "canary", "orgs": ["canary"], "max_failed": 0},
            {"name": "emea", "orgs": ["emea-prod"]},
            {"name": "rest", "orgs": ["*"]},
        ],
    )
    result, data = await execute(path, journal)
    assert result.exit_code == 3
    assert [w["status"] for w in data["waves"]] == ["halted", "skipped", "skipped"]
    assert "wave canary tripped max_failed" in (data["reason"] or "")
    trip = next(r for r in sandbox.requests if r.status == 403)
    later = [
        r for r in sandbox.requests if r.org in ("emea-prod", "amer-prod") and r.time > trip.time
    ]
    assert later == []
    skipped = [i for i in data["items"] if i["org"] != "canary"]
    assert {i["status"] for i in skipped} == {"skipped"}
    assert {i["error"]["code"] for i in skipped} == {"run.halted"}


async def test_a_bake_regression_fails_the_wave(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Another writer changes a canary config during the bake: failed, the gate trips."""
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2], "emea-prod": EMEA[:1]},
        waves=[
            {"name": "canary", "orgs": ["canary"], "max_failed": 0, "bake": "1s"},
            {"name": "rest", "orgs": ["*"]},
        ],
    )

    def regress(what: str) -> None:
        if "baking" in what:
            sandbox.edit_config("canary", CANARY[0], description="changed during the bake")

    result, data = await execute(path, journal, observer=OnWait(regress))
    assert result.exit_code == 3
    regressed = next(i for i in data["items"] if i["id"] == CANARY[0])
    assert (regressed["status"], regressed["error"]["code"]) == ("failed", "bake.regression")
    assert next(i for i in data["items"] if i["id"] == CANARY[1])["status"] == "succeeded"
    assert data["waves"][0]["status"] == "halted" and data["waves"][1]["status"] == "skipped"
    assert sandbox.writes("emea-prod") == []


async def test_a_clean_bake_passes(sandbox: Sandbox, tmp_path: Path, journal: Journal) -> None:
    """Nothing moves during the bake: the wave succeeds and the next one runs."""
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2], "emea-prod": EMEA[:1]},
        waves=[
            {"name": "canary", "orgs": ["canary"], "max_failed": 0, "bake": "500ms"},
            {"name": "rest", "orgs": ["*"]},
        ],
    )
    result, _ = await execute(path, journal)
    assert result.exit_code == 0
    rechecks = [r for r in sandbox.requests if r.org == "canary" and r.method == "GET"]
    assert len(rechecks) >= 2 + 2 + 2  # planning read, target read, then the re-check


async def test_a_closed_window_skips_every_wave(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """not_after in the past: nothing written, every item skipped, halted (exit 3)."""
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2]},
        schedule={"not_after": past},
    )
    result, data = await execute(path, journal)
    assert result.exit_code == 3
    assert "change window closed" in (data["reason"] or "")
    assert {i["status"] for i in data["items"]} == {"skipped"}
    assert [w["status"] for w in data["waves"]] == ["skipped"]
    assert sandbox.writes() == []


async def test_no_wait_refuses_an_unopened_window(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """not_before ahead and --no-wait: exit 3 at once, no run, no request."""
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]}, schedule={"not_before": later})
    result = await run_plan(
        load_plan(path),
        journal,
        observer=Observer(),
        approver=approve_all,
        options=Options(handle_signals=False, no_wait=True),
    )
    assert (result.exit_code, result.run_id) == (3, None)
    assert "opens at" in (result.reason or "")
    assert sandbox.requests == [] and await journal.runs() == []


async def test_the_run_waits_for_the_window_to_open(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """not_before two seconds ahead: plans at once, writes nothing before the window."""
    opens = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    opens_mono = time.monotonic() + (opens - datetime.now(UTC)).total_seconds()
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1]},
        schedule={"not_before": opens.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    waits: list[str] = []
    result, _ = await execute(path, journal, observer=OnWait(waits.append))
    assert result.exit_code == 0
    assert any("change window opens" in w for w in waits)
    (put,) = [r for r in sandbox.requests if r.method == "PUT"]
    assert put.time >= opens_mono - 0.05
    assert min(r.time for r in sandbox.requests) < opens_mono  # planning did not wait


async def test_the_approval_prompt_on_a_terminal(
    sandbox: Sandbox, tmp_path: Path, journal_at: str
) -> None:
    """On a terminal the operator is asked; "y" starts the wave, "n" halts it (exit 3)."""
    import pty

    for answer, code in ((b"y\n", 0), (b"n\n", 3)):
        path = write_plan(
            tmp_path,
            sandbox.url,
            {"canary": CANARY[:1]},
            name=f"ask-{code}",
            waves=[{"name": "only", "orgs": ["*"], "approve": True}],
        )
        master, slave = pty.openpty()
        process = await anyio.open_process(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "run",
                str(path),
                "--plain",
                "--journal",
                journal_at,
            ],
            stdin=slave,
            stderr=slave,
            env={**os.environ, "TERM": "dumb"},
        )
        os.close(slave)
        screen = b""
        with anyio.fail_after(30):
            while b"[y/N]" not in screen:
                screen += await anyio.to_thread.run_sync(os.read, master, 4096)
            os.write(master, answer)
            assert await process.wait() == code
        await process.aclose()
        os.close(master)
        assert b"start wave only" in screen
    assert len([r for r in sandbox.requests if r.method == "PUT"]) == 1


async def test_resuming_a_tripped_run_asks_then_takes_up_the_skipped_waves(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A halted run resumes only with approval; the halt's skipped items run then."""
    sandbox.set_permissions("canary", ["agentassist:config:read"])
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2], "emea-prod": EMEA[:2]},
        waves=[
            {"name": "canary", "orgs": ["canary"], "max_failed": 0},
            {"name": "rest", "orgs": ["*"]},
        ],
    )
    plan = load_plan(path)
    first, _ = await execute(path, journal)
    assert first.exit_code == 3

    async def nobody(question: str) -> bool | None:
        assert "halted earlier" in question
        return None

    row = await resumable(journal, None)
    again = await resume_run(
        plan, journal, row, observer=Observer(), approver=nobody, options=QUIET
    )
    assert again.exit_code == 3 and sandbox.writes("emea-prod") == []
    row = await resumable(journal, None)
    done = await resume_run(
        plan,
        journal,
        row,
        observer=Observer(),
        approver=nobody,
        options=Options(handle_signals=False, approve_once=True),
    )
    assert done.run_id
    data = await report.build(journal, done.run_id)
    assert done.exit_code == 1  # the canary's 403 stays a failure
    assert len(sandbox.writes("emea-prod")) == 2
    assert [w["status"] for w in data["waves"]] == ["partial", "succeeded"]
    assert data["waves"][0]["approved_by"] == f"{ACTOR} (resume --approve)"


async def test_a_pending_gate_records_the_decision_and_its_actor(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Nobody to ask: the gate.pending event says so, and who was running it."""
    await planned_run(sandbox, tmp_path, journal, CONFIGS["canary"][:1])
    (run,) = await journal.runs()
    gates = [e.detail for e in await journal.events(run.id) if e.event == "gate.pending"]
    assert gates == [{"wave": 0, "name": "w", "decision": "pending", "actor": ACTOR}]
