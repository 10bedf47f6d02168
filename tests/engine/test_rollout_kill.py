"""A rollout killed mid-run resumes with the golden content it planned, not today's.

The orchestrator runs as a real subprocess against a sandbox served by this
test's event loop; it is SIGKILLed after its first write, the golden org is
edited, and ``resume`` finishes the run. The verdict comes from the sandbox.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from orchestrator.journal import opened
from orchestrator.models import Kind
from orchestrator.sandbox import Faults, Sandbox
from tests.rollout import (
    COUNTED_WAVES,
    GOLDEN,
    TARGETS,
    assistant_refs,
    billing_assistant,
    billing_config,
    config_refs,
    content,
    expected,
    from_golden,
    id_map,
    write_rollout,
)
from tests.support import SandboxFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def rollout_targets(sb: Sandbox) -> list[dict[str, Any]]:
    """Each target org's Billing config and assistant, from the canary's, ids mapped."""
    targets = []
    for org in TARGETS:
        ids = {
            **id_map(config_refs(sb, GOLDEN), config_refs(sb, org)),
            **id_map(assistant_refs(sb, GOLDEN), assistant_refs(sb, org)),
        }
        configs = [
            {"id": billing_config(org), "to": from_golden(billing_config(GOLDEN))},
            {
                "id": billing_assistant(sb, org),
                "kind": "assistant",
                "to": from_golden(billing_assistant(sb, GOLDEN)),
            },
        ]
        targets.append({"org": org, "ids": ids, "configs": configs})
    return targets


async def orchestrator(*args: str, journal: Path) -> Process:
    return await anyio.open_process(
        [sys.executable, "-m", "orchestrator", *args, "--journal", str(journal), "--plain"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def finish(process: Process) -> int:
    """Wait for the process, draining its pipes so it never blocks on a full one."""

    async def drain(stream: Any) -> None:
        async for _ in stream:
            pass

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, process.stdout)
            tg.start_soon(drain, process.stderr)
            code = await process.wait()
    await process.aclose()
    return code


async def wait_for(condition: Callable[[], bool], process: Process) -> None:
    with anyio.fail_after(60):
        # The sandbox's log has no event to wait on; polling it is the honest option.
        while not condition() and process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def run_row(journal: Path) -> tuple[str, str]:
    async with opened(str(journal)) as j:
        (row,) = await j.runs()
        return row.id, row.status.value


async def test_resume_writes_the_golden_content_planned_before_the_golden_was_edited(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """SIGKILL after the first write, edit the golden items, resume: targets get the old golden."""
    slow = Faults(latency=0.15)
    async with make_sandbox(faults=dict.fromkeys(TARGETS, slow)) as sb:
        golden_cfg = content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN))
        golden_asst = content(sb, GOLDEN, Kind.ASSISTANT, billing_assistant(sb, GOLDEN))
        wanted: dict[tuple[str, Kind, str], dict[str, Any]] = {}
        for org in TARGETS:
            cfg, asst = billing_config(org), billing_assistant(sb, org)
            ids = id_map(config_refs(sb, GOLDEN), config_refs(sb, org))
            name = content(sb, org, Kind.AGENTASSIST_CONFIG, cfg)["name"]
            wanted[(org, Kind.AGENTASSIST_CONFIG, cfg)] = expected(golden_cfg, ids, name)
            ids = id_map(assistant_refs(sb, GOLDEN), assistant_refs(sb, org))
            name = content(sb, org, Kind.ASSISTANT, asst)["name"]
            wanted[(org, Kind.ASSISTANT, asst)] = expected(golden_asst, ids, name)
        path = write_rollout(tmp_path, sb.url, rollout_targets(sb), waves=COUNTED_WAVES)
        journal = tmp_path / "journal.sqlite3"
        sb.clear_requests()

        process = await orchestrator("run", str(path), journal=journal)
        await wait_for(lambda: any(r.applied for r in sb.requests), process)
        assert process.returncode is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        assert await finish(process) == -signal.SIGKILL
        run_id, status = await run_row(journal)
        assert status == "running"
        untouched = [o for o in TARGETS if not any(r.applied and r.org == o for r in sb.requests)]
        assert untouched, "every org was written before the kill: nothing left to resume"

        golden_content = {**golden_cfg["content"], "language": "fr-FR"}
        sb.edit_config(GOLDEN, billing_config(GOLDEN), content=golden_content)
        sb.edit_copilot(GOLDEN, billing_assistant(sb, GOLDEN), answerGenerationConfig={})
        assert content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN)) != golden_cfg
        assert content(sb, GOLDEN, Kind.ASSISTANT, billing_assistant(sb, GOLDEN)) != golden_asst

        for _ in range(3):
            await finish(await orchestrator("resume", run_id, journal=journal))
            if (await run_row(journal))[1] != "running":
                break
        assert (await run_row(journal))[1] == "succeeded"
        for (org, kind, rid), want in wanted.items():
            assert content(sb, org, kind, rid) == want, (org, kind)
        golden_reads = [r for r in sb.requests if r.org == GOLDEN and r.method == "GET"]
        assert len(golden_reads) == 2  # one per golden item, in the first process only
