"""Two runs on one journal never write the same resource at the same time."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import run_plan
from orchestrator.journal import opened
from orchestrator.sandbox import Faults
from orchestrator.ui import report
from tests.conftest import parametrize_backends
from tests.support import ASSISTANTS, QUIET, SandboxFactory, approve_all, load_plan, write_plan

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY = ASSISTANTS["canary"]


async def test_the_later_run_waits_then_finds_the_work_done(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """Assistants have no server guard: without the lock both runs would PATCH each one."""
    async with make_sandbox(faults={"canary": Faults(latency=0.15)}) as sb:
        placeholder = {"kind": "assistant", "to": {"snapshot": "2026-01-01T00:00:00Z"}}
        items = write_plan(tmp_path, sb.url, {"canary": CANARY}, name="items", defaults=placeholder)
        command = [sys.executable, "-m", "orchestrator", "snapshot", str(items)]
        taken = await anyio.run_process([*command, "--journal", journal_at])
        instant = taken.stdout.decode().split("to: {snapshot: ", 1)[1].split("}", 1)[0]
        for assistant in CANARY:  # the change both runs undo
            sb.patch_assistant("canary", assistant, state="Inactive")
        defaults = {"kind": "assistant", "to": {"snapshot": instant}}
        plans = [
            load_plan(write_plan(tmp_path, sb.url, {"canary": CANARY}, name=n, defaults=defaults))
            for n in ("first", "second")
        ]
        reports: list[dict[str, object]] = []

        async def one(index: int) -> None:
            async with opened(journal_at) as journal:
                result = await run_plan(
                    plans[index], journal, observer=Observer(), approver=approve_all, options=QUIET
                )
                assert result.run_id is not None and result.exit_code == 0
                reports.append(await report.build(journal, result.run_id))

        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 0)
            tg.start_soon(one, 1)
        patches = {
            a: [r for r in sb.requests if r.method == "PATCH" and r.resource_id == a]
            for a in CANARY
        }
    assert {a: len(p) for a, p in patches.items()} == dict.fromkeys(CANARY, 1)
    statuses = sorted(
        (item["id"], item["status"])  # type: ignore[index]
        for data in reports
        for item in data["items"]  # type: ignore[attr-defined]
    )
    assert statuses == sorted(
        [(a, "succeeded") for a in CANARY] + [(a, "already_at_target") for a in CANARY]
    )
