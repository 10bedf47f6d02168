"""The assistant kind and the snapshot store, end to end against the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from orchestrator.genesys.content import comparable
from orchestrator.journal import Journal, opened
from orchestrator.models import Kind
from orchestrator.sandbox import Faults, Sandbox
from tests.conftest import parametrize_backends
from tests.support import (
    ASSISTANTS,
    CONFIGS,
    AtWave,
    SandboxFactory,
    execute,
    org_entry,
    write_plan,
)

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY_ASSISTANTS = ASSISTANTS["canary"]


async def snapshot(*args: str, journal: Path | str) -> str:
    """Run `orchestrator snapshot ...`; returns what it printed."""
    done = await anyio.run_process(
        [sys.executable, "-m", "orchestrator", "snapshot", *args, "--journal", str(journal)]
    )
    return done.stdout.decode()


async def snapshot_canary(sb: Sandbox, tmp_path: Path, journal: Journal) -> str:
    """Snapshot every canary assistant; the instant it printed for `to: {snapshot: T}`."""
    out = await snapshot(
        "--env",
        str(env_file(tmp_path, sb.url)),
        "--org",
        "canary",
        "--all",
        journal=journal.location,
    )
    return out.split("to: {snapshot: ", 1)[1].split("}", 1)[0]


def env_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "orgs.yaml"
    path.write_text(yaml.safe_dump({"orgs": {"canary": org_entry(url, "canary")}}))
    return path


def assistant_plan(tmp_path: Path, url: str, to: dict[str, str], name: str = "assistants") -> Path:
    return write_plan(
        tmp_path,
        url,
        {"canary": CANARY_ASSISTANTS},
        name=name,
        defaults={"kind": "assistant", "to": to},
    )


def content(sb: Sandbox, assistant_id: str) -> dict[str, Any]:
    return comparable(Kind.ASSISTANT, sb.assistant("canary", assistant_id))


async def test_snapshot_all_follows_the_listing_cursor(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """--env --org --all stores every assistant, page by page."""
    async with make_sandbox(faults={"canary": Faults(page_size_cap=1)}) as sb:
        out = await snapshot(
            "--env",
            str(env_file(tmp_path, sb.url)),
            "--org",
            "canary",
            "--all",
            journal=journal_at,
        )
        assert "stored 3 snapshot(s)" in out
        pages = [r for r in sb.requests if r.path == "/api/v2/assistants"]
        assert len(pages) == 3
        assert [r for r in sb.requests if r.path.startswith("/api/v2/assistants/")] == []
    async with opened(journal_at) as j:
        for assistant_id in CANARY_ASSISTANTS:
            (snap,) = await j.snapshots("assistant", assistant_id)
            assert snap.fields["name"] and snap.source == "snapshot"


async def test_an_assistant_is_rolled_back_to_its_snapshot(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot, a bad change, roll back: one PATCH each, content restored, read-back verified."""
    async with make_sandbox(faults={"canary": Faults(assistant_read_lag=0.4)}) as sb:
        before = {a: content(sb, a) for a in CANARY_ASSISTANTS}
        taken = await snapshot_canary(sb, tmp_path, journal)
        for a in CANARY_ASSISTANTS:  # the change to undo
            sb.patch_assistant("canary", a, state="Inactive", name=f"broken {a[:4]}")
        await anyio.sleep(0.5)  # let reads catch up with the bad change before planning
        path = assistant_plan(tmp_path, sb.url, {"snapshot": taken})
        result, data = await execute(path, journal)
        assert result.exit_code == 0
        assert {i["status"] for i in data["items"]} == {"succeeded"}
        for a in CANARY_ASSISTANTS:
            assert content(sb, a) == before[a]
            (write,) = sb.writes("canary", a)
            readbacks = [r for r in sb.requests if r.resource_id == a and r.time > write.time]
            assert len(readbacks) >= 2  # the first read-back still showed the old content
        patch = next(r for r in sb.requests if r.method == "PATCH")
        assert set(patch.body) <= {
            "name",
            "state",
            "transcriptionConfig",
            "knowledgeSuggestionConfig",
        }


async def test_an_assistant_patched_after_planning_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """dateModified moved between plan and write: drifted, no PATCH sent."""
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    target = CANARY_ASSISTANTS[0]
    sandbox.patch_assistant("canary", target, state="Inactive")
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": [target]},
        defaults={"kind": "assistant", "to": {"snapshot": taken}},
    )

    def other_writer() -> None:
        sandbox.patch_assistant("canary", target, name="edited by someone else")

    _, data = await execute(path, journal, observer=AtWave(other_writer))
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary", target) == []
    assert sandbox.assistant("canary", target)["name"] == "edited by someone else"


async def test_a_missing_snapshot_fails_and_says_what_exists(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """No snapshot at or before T: failed at planning, and the message lists what there is."""
    path = assistant_plan(tmp_path, sandbox.url, {"snapshot": "2020-01-01T00:00:00Z"})
    _, data = await execute(path, journal)
    assert {i["status"] for i in data["items"]} == {"failed"}
    assert {i["error"]["code"] for i in data["items"]} == {"snapshot.missing"}
    assert "no snapshot of it at all" in data["items"][0]["error"]["message"]
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    _, data = await execute(
        assistant_plan(tmp_path, sandbox.url, {"snapshot": "2020-01-01T00:00:00Z"}, name="again"),
        journal,
    )
    assert f"snapshots exist at {taken}" in data["items"][0]["error"]["message"]


async def test_any_run_can_be_undone_from_its_pre_write_snapshots(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every write keeps what it replaced, dated at its run's start: {snapshot: start} undoes it."""
    ids = CONFIGS["canary"][:3]
    before = {c: comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body) for c in ids}
    _, first = await execute(write_plan(tmp_path, sandbox.url, {"canary": ids}), journal)
    assert {i["status"] for i in first["items"]} == {"succeeded"}
    undo = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": ids},
        name="undo",
        defaults={"to": {"snapshot": first["started_at"]}},
    )
    _, second = await execute(undo, journal)
    assert {i["status"] for i in second["items"]} == {"succeeded"}
    for c in ids:
        assert comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body) == before[c]
        assert len(sandbox.writes("canary", c)) == 2


async def test_snapshot_of_a_plan_stores_each_item(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`orchestrator snapshot PLAN` keeps the current content of the plan's configs."""
    ids = CONFIGS["canary"][:2]
    out = await snapshot(
        str(write_plan(tmp_path, sandbox.url, {"canary": ids})),
        journal=journal.location,
    )
    assert "stored 2 snapshot(s)" in out
    for c in ids:
        (snap,) = await journal.snapshots("agentassist-config", c)
        assert snap.version == sandbox.config("canary", c).version
        assert snap.fields == comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body)
    assert [r for r in sandbox.requests if r.method not in ("GET", "POST")] == []
