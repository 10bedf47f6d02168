"""Golden items: read once per run, journaled, and recalled by a later process of the run."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from orchestrator.engine.job import Job
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.sources import SOURCE_READ, Sources
from orchestrator.genesys.client import Client, new_session
from orchestrator.genesys.content import content_hash
from orchestrator.genesys.kinds import KINDS
from orchestrator.genesys.retry import Budget
from orchestrator.journal import Journal
from orchestrator.models import Kind, Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from tests.rollout import (
    GOLDEN,
    billing_config,
    config_refs,
    content,
    from_golden,
    id_map,
    write_rollout,
)

pytestmark = pytest.mark.anyio

ORGS = ("emea-prod", "amer-prod", "apac-prod")


def rollout_plan(sb: Sandbox, tmp_path: Path) -> Plan:
    targets = [
        {
            "org": org,
            "ids": id_map(config_refs(sb, GOLDEN), config_refs(sb, org)),
            "configs": [{"id": billing_config(org), "to": from_golden(billing_config(GOLDEN))}],
        }
        for org in ORGS
    ]
    return load_plan(write_rollout(tmp_path, sb.url, targets))


async def targets_of(plan: Plan, recorder: Recorder) -> list[dict[str, object]]:
    """Each item's resolved target content, resolved concurrently as the planner does."""
    found: dict[int, dict[str, object]] = {}
    async with new_session(plan.limits) as session:
        client = Client(session, plan.limits)
        sources = Sources(
            client=client, environment=plan.environment, limits=plan.limits, recorder=recorder
        )

        async def resolve(seq: int) -> None:
            item = plan.items[seq]
            job = Job(
                seq=seq,
                item=item,
                wave="all",
                kind=KINDS[item.kind],
                client=client.org(plan.environment.org(item.org)),
                budget=Budget(3),
            )
            live = await job.read(plan.limits)
            found[seq] = dict((await sources.target(job, live)).fields)

        async with anyio.create_task_group() as tg:
            for seq in range(len(plan.items)):
                tg.start_soon(resolve, seq)
    return [found[seq] for seq in range(len(plan.items))]


async def test_a_golden_item_is_read_once_for_every_item_copying_it(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Three items, one golden read; the read is journaled with its content."""
    plan = rollout_plan(sandbox, tmp_path)
    recorder = Recorder(journal, "run-1", "2026-11-29T22:00:00Z")
    await recorder.create_run(plan, "tester")
    sandbox.clear_requests()

    await targets_of(plan, recorder)

    golden_reads = [r for r in sandbox.requests if r.org == GOLDEN and r.method == "GET"]
    assert len(golden_reads) == 1
    (event,) = [e for e in await journal.events("run-1") if e.event == SOURCE_READ]
    golden = content(sandbox, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN))
    assert event.detail == {
        "org": GOLDEN,
        "kind": "agentassist-config",
        "id": billing_config(GOLDEN),
        "hash": content_hash(golden),
        "fields": golden,
    }


async def test_a_later_process_plans_from_the_journaled_golden_not_the_edited_one(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """After a restart mid-planning, the golden read then is used; the golden org is not read."""
    plan = rollout_plan(sandbox, tmp_path)
    recorder = Recorder(journal, "run-1", "2026-11-29T22:00:00Z")
    await recorder.create_run(plan, "tester")
    before = await targets_of(plan, recorder)
    golden = content(sandbox, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN))
    edited = {**golden["content"], "language": "fr-FR"}
    sandbox.edit_config(GOLDEN, billing_config(GOLDEN), content=edited)
    sandbox.clear_requests()

    later = Recorder(journal, "run-1", "2026-11-29T22:00:00Z")  # a resumed process
    after = await targets_of(plan, later)

    assert after == before
    assert all(t["content"]["language"] == "en-US" for t in after)  # type: ignore[index]
    assert [r for r in sandbox.requests if r.org == GOLDEN] == []
    fresh = Recorder(journal, "run-2", "2026-11-29T23:00:00Z")  # a new run reads it anew
    await fresh.create_run(plan, "tester")
    (target, *_) = await targets_of(plan, fresh)
    assert target["content"]["language"] == "fr-FR"  # type: ignore[index]
