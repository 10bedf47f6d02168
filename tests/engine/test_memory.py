"""Memory bounded by what is in flight: the journal holds item content, the engine hashes.

Issue 16: an item's content (live, target, written) is needed only while the
item is worked on. These runs go against the sandbox and a real journal, and
check both what the engine still holds and what the server received.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from orchestrator.engine import scheduler
from orchestrator.engine.job import Job
from orchestrator.errors import JournalError
from orchestrator.genesys.content import comparable
from orchestrator.journal import Journal
from orchestrator.models import Kind
from orchestrator.sandbox import Sandbox
from orchestrator.statuses import RunStatus
from tests.conftest import parametrize_backends
from tests.support import CONFIGS, execute, make_plan, puts, statuses

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY = CONFIGS["canary"]


@pytest.fixture
def final_jobs(monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    """The run's jobs as the scheduler hands them to ``overall`` when every wave is done."""
    seen: list[Job] = []
    real = scheduler.overall

    def spy(jobs: Sequence[Job]) -> RunStatus:
        seen.extend(jobs)
        return real(jobs)

    monkeypatch.setattr(scheduler, "overall", spy)
    return seen


async def test_a_final_item_keeps_versions_and_the_target_hash_only(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, final_jobs: list[Job]
) -> None:
    """After the run, no job holds content; the journal has every target's content."""
    before = {
        c: comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body) for c in CANARY
    }
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    result, data = await execute(plan, journal)
    assert result.exit_code == 0 and set(statuses(data).values()) == {"succeeded"}
    assert len(final_jobs) == len(CANARY)
    rows = {row.resource_id: row for row in await journal.items(data["run_id"])}
    for job in final_jobs:
        assert job.target is not None and job.baseline is not None and job.written is not None
        assert not job.target.fields and not job.baseline.fields and not job.written.fields
        assert job.target.hash == rows[job.rid].target_hash  # what a bake re-check compares
        assert job.written.version == sandbox.config("canary", job.rid).version
        assert job.baseline.version == rows[job.rid].from_version
        assert rows[job.rid].target_fields  # the content lives on in the journal
        # What the write replaced is kept whole (planning kept it; memory did not).
        kept = await journal.snapshots("agentassist-config", job.rid)
        assert [dict(s.fields) for s in kept] == [before[job.rid]]


async def test_the_content_written_is_read_back_from_the_journal(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning sheds the target's content; each write reads it from the journal, once."""
    asked: list[int] = []
    real = journal.target_text

    async def spy(run_id: str, seq: int) -> str | None:
        asked.append(seq)
        return await real(run_id, seq)

    monkeypatch.setattr(journal, "target_text", spy)
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    _, data = await execute(plan, journal)
    assert sorted(asked) == list(range(len(CANARY)))
    rows = {row.resource_id: row for row in await journal.items(data["run_id"])}
    for put in puts(sandbox):
        body = {k: v for k, v in put.body.items() if k != "version"}
        target = rows[put.resource_id].target_fields
        assert target is not None
        assert json.dumps(body, sort_keys=True) == json.dumps(dict(target), sort_keys=True)


async def test_a_journal_that_lost_the_planned_content_stops_the_run_before_any_write(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content that no longer matches the planned hash is never written."""

    async def tampered(run_id: str, seq: int) -> str | None:
        return '{"name":"not what was planned"}'

    monkeypatch.setattr(journal, "target_text", tampered)
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]})
    with pytest.raises(JournalError, match="does not hold the target content planning recorded"):
        await execute(plan, journal)
    assert puts(sandbox) == []


async def test_the_collector_gets_back_what_a_run_froze(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """engine.heap freezes the run's objects while it runs; none stay frozen after it."""
    threshold = gc.get_threshold()
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    await execute(plan, journal)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
