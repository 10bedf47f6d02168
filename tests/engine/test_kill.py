"""Crash safety: a run killed at any instant resumes and never writes anything twice.

Configs, and the Agent Assist kinds whose write takes more than one request
(an assistant and its copilot; bindings added and removed) or has no server
guard at all (checklists).

The orchestrator runs as a real subprocess (``python -m orchestrator``)
against a sandbox served by this test's event loop, is killed at seeded
random moments, and is resumed until it finishes. The verdict comes from
what the sandbox recorded and holds, not from what the tool says.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import yaml
from anyio.abc import Process

from orchestrator.genesys.content import comparable
from orchestrator.journal import is_url, opened
from orchestrator.models import Kind
from orchestrator.sandbox import Faults, Sandbox, generate_seed
from tests.conftest import parametrize_backends
from tests.support import SandboxFactory, snapshot

pytestmark = [pytest.mark.anyio, pytest.mark.slow, parametrize_backends()]

ORGS, CONFIGS, ASSISTANTS, CHECKLISTS = 8, 25, 2, 1  # 200 configs, 40 Agent Assist items
TOTAL = ORGS * (CONFIGS + 2 * ASSISTANTS + CHECKLISTS)
SEED = generate_seed(
    orgs=ORGS,
    configs=CONFIGS,
    versions=6,
    assistants=ASSISTANTS,
    checklists=CHECKLISTS,
    requests_per_minute=None,
)
CONFIG_IDS = {org.name: tuple(c.id for c in org.configs) for org in SEED.orgs}
ASSIST_ITEMS = {
    org.name: [
        *(
            {"id": a["id"], "kind": kind}
            for a in org.assistants
            for kind in (Kind.ASSISTANT, Kind.ASSISTANT_QUEUES)
        ),
        *({"id": c["id"], "kind": Kind.AGENT_CHECKLIST} for c in org.checklists),
    ]
    for org in SEED.orgs
}
FAULTS = Faults(
    latency=0.2,
    server_error_rate=0.03,
    drop_after_write_rate=0.05,
    concurrent_writer_rate=0.05,
    concurrent_writer_mode="bump",
    throttle_rate=0.005,
    throttle_retry_after=1,
    propagation_delay=0.3,
)


def write_plan(directory: Path, url: str, sb: Sandbox, taken: str, name: str = "kill-test") -> Path:
    """Every config back to its previous version, every Agent Assist item to its snapshot."""
    orgs = {
        name: {
            "base_url": url,
            "client_id": name,
            "client_secret": f"{name}-secret",
            "concurrency": 1,
        }
        for name in sb.orgs
    }

    def assist(org: str) -> list[dict[str, str]]:
        to = {"snapshot": taken}
        return [{"id": i["id"], "kind": str(i["kind"]), "to": to} for i in ASSIST_ITEMS[org]]

    document = {
        "plan": 1,
        "name": name,
        "orgs": orgs,
        "defaults": {"to": "previous"},
        "targets": [
            {"org": org, "configs": [*config_ids(sb, org), *assist(org)]} for org in sb.orgs
        ],
        "limits": {
            "concurrency": 16,
            "attempts": 30,
            "backoff": {"base": "20ms", "max": "200ms"},
            "verify_timeout": "30s",
            "request_timeout": "10s",
        },
    }
    path = directory / "kill-test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def config_ids(sb: Sandbox, org: str) -> list[str]:
    return list(CONFIG_IDS[org])


def agent_assist(sb: Sandbox, org: str, kind: Kind, rid: str) -> dict[str, Any]:
    """An Agent Assist item's content as the sandbox holds it now."""
    if kind is Kind.ASSISTANT:
        return comparable(kind, sb.assistant(org, rid, expand=True))
    if kind is Kind.ASSISTANT_QUEUES:
        return comparable(kind, {"entities": sb.bindings(org, rid)})
    return comparable(kind, sb.checklist(org, rid))


def a_day_of_changes(sb: Sandbox, org: str) -> None:
    """What the run must undo: assistant fields, copilot, deployment, a checklist."""
    for assistant in (a for a in SEED.org(org).assistants):
        rid = assistant["id"]
        sb.patch_assistant(org, rid, state="Inactive", name=f"{assistant['name']} (moved)")
        sb.edit_copilot(org, rid, summaryGenerationConfig={"enabled": True})
        bound = {b["id"]: b["mediaTypes"] for b in sb.bindings(org, rid)}
        spare = next(
            q
            for q, name in sb.queues(org).items()
            if name.endswith(" spare") and sb.queue_owner(org, q) is None
        )  # not a queue another assistant gave up: that one it would want back
        sb.bind_queues(org, rid, {spare: ["call"], next(iter(bound)): ["call"]})
        sb.unbind_queues(org, rid, [sorted(bound)[-1]])
    for checklist in SEED.org(org).checklists:
        items = checklist["checklistItems"]
        sb.edit_checklist(org, checklist["id"], name="Renamed", checklistItems=items[:1])


async def expected_contents(
    sb: Sandbox, tmp_path: Path, journal: str
) -> tuple[dict[tuple[str, str, str], dict[str, Any]], str]:
    """What each item must hold in the end, and the snapshot time of the Agent Assist items.

    Configs: their previous version's content, read now. Agent Assist items:
    what they hold now, snapshotted with `orchestrator snapshot PLAN`; then a
    day of changes happens to them.
    """
    expected: dict[tuple[str, str, str], dict[str, Any]] = {}
    for org in sb.orgs:
        for item in ASSIST_ITEMS[org]:
            kind = Kind(item["kind"])
            expected[(org, str(kind), item["id"])] = agent_assist(sb, org, kind, item["id"])
    lister = write_plan(tmp_path, sb.url, sb, "2000-01-01T00:00:00Z", name="snapshot-all")
    out = await snapshot(str(lister), journal=journal)
    assert f"stored {TOTAL} snapshot(s)" in out
    taken = out.split("to: {snapshot: ", 1)[1].split("}", 1)[0]
    for org in sb.orgs:
        a_day_of_changes(sb, org)
    async with aiohttp.ClientSession() as http:
        for org in sb.orgs:
            token = await _token(http, sb, org)
            for config_id in config_ids(sb, org):
                version = sb.config(org, config_id).version - 1
                url = f"{sb.url}/api/v2/agentassist/configs/{config_id}/versions/{version}"
                async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 200
                    content = comparable(Kind.AGENTASSIST_CONFIG, await r.json())
                    expected[(org, str(Kind.AGENTASSIST_CONFIG), config_id)] = content
    sb.clear_requests()
    for org in sb.orgs:  # trouble starts now
        sb.set_faults(org, FAULTS)
    return expected, taken


async def _token(http: aiohttp.ClientSession, sb: Sandbox, org: str) -> str:
    async with http.post(
        f"{sb.url}/oauth/token",
        headers={"Authorization": aiohttp.encode_basic_auth(org, f"{org}-secret")},
        data={"grant_type": "client_credentials"},
    ) as r:
        return str((await r.json())["access_token"])


async def start(args: Sequence[str], journal: str) -> Process:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return await anyio.open_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            *args,
            "--journal",
            str(journal),
            "--plain",
            "--format",
            "json",
            "--log-format",
            "json",
        ],
        env=env,
    )


async def run_state(journal: str) -> tuple[str | None, str | None]:
    """The run's id and status in the journal (None, None before it exists)."""
    if not is_url(journal) and not await anyio.Path(journal).exists():
        return None, None
    async with opened(journal) as j:
        runs = await j.runs()
        return (runs[0].id, runs[0].status.value) if runs else (None, None)


async def interrupt_until_done(
    sb: Sandbox, plan: Path, journal: str, *, sig: signal.Signals, times: int, seed: int
) -> tuple[str, list[int]]:
    """Start the run, hit it with ``sig`` ``times`` times, resume until it ends by itself.

    Half the moments are drawn from the process's start (startup, preflight,
    planning), half from its first write, so kills land between a write's
    intent and its answer too.
    """
    rng = random.Random(seed)
    codes: list[int] = []
    hits = 0
    while True:
        run_id, status = await run_state(journal)
        if status in ("succeeded", "partial", "failed"):
            assert run_id is not None
            assert hits >= times, f"the run finished after only {hits} interruptions"
            return run_id, codes
        args = ["run", str(plan)] if run_id is None else ["resume", run_id]
        # A killed process's requests still in flight are logged when the sandbox is done
        # with them: counted as the next process's, a signal would hit it while importing.
        await _settled(sb)
        writes_before, requests_before = _puts(sb), len(sb.requests)
        process = await start(args, journal)
        if hits < times:
            if rng.random() < 0.5:
                await _wait_for(lambda n=writes_before: _puts(sb) > n, process, limit=30)
            elif sig is signal.SIGINT:
                # Ctrl-C during a run: once the process talks to the server, not while
                # Python is still importing (that just exits 130 with nothing begun).
                await _wait_for(lambda n=requests_before: len(sb.requests) > n, process, limit=30)
            await anyio.sleep(rng.uniform(0.05, 1.2))
            if process.returncode is None:
                if sig is signal.SIGINT and run_id is None:
                    # Before the run exists there is nothing to interrupt gracefully.
                    process.send_signal(signal.SIGKILL)
                else:
                    process.send_signal(sig)
                    hits += 1
        code, out = await _finish(process)
        codes.append(code)
        if code == 130:
            report = json.loads(out)  # the partial report, as the contract says
            assert report["status"] == "interrupted"
            assert report["summary"]["total"] == TOTAL


async def _finish(process: Process) -> tuple[int, bytes]:
    """Wait for the process, draining its pipes so it can never block on a full one."""
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    async def drain(stream: Any, key: str) -> None:
        async for chunk in stream:
            chunks[key].append(chunk)

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, process.stdout, "out")
            tg.start_soon(drain, process.stderr, "err")
            code = await process.wait()
    await process.aclose()
    return code, b"".join(chunks["out"])


async def _settled(sb: Sandbox) -> None:
    with anyio.fail_after(30):
        while sb.requests_in_flight():  # noqa: ASYNC110 (the sandbox's log has no event)
            await anyio.sleep(0.01)


def _puts(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r.method != "GET" and r.path.startswith("/api/"))


async def _wait_for(condition: Any, process: Process, *, limit: float) -> None:
    with anyio.move_on_after(limit):
        # The sandbox's log has no event to wait on; polling it is the honest option.
        while not condition() and process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def crossings(journal: str, run_id: str) -> int:
    """Items whose write was intended in one process and settled by a later one."""
    async with opened(journal) as j:
        events = [(i, e.seq, e.event) for i, e in enumerate(await j.events(run_id))]
    resumes = [i for i, _, event in events if event == "run.running"]
    last_intent: dict[int, int] = {}
    crossed = 0
    for i, seq, event in events:
        if seq is None:
            continue
        settled = event in ("write.intended", "write.confirmed") and seq in last_intent
        if settled and any(last_intent[seq] < r < i for r in resumes):
            crossed += 1
        if event == "write.intended":
            last_intent[seq] = i
    return crossed


async def assert_finished_exactly_once(
    sb: Sandbox, expected: dict[tuple[str, str, str], dict[str, Any]], journal: str, run_id: str
) -> None:
    """Every item at its target, no request written twice; report and journal agree."""
    for (org, kind, rid), content in expected.items():
        if kind == Kind.AGENTASSIST_CONFIG:
            assert comparable(Kind.AGENTASSIST_CONFIG, sb.config(org, rid).body) == content
            assert len(sb.writes(org, rid)) <= 1, f"{org}/{rid} written twice"
        else:
            assert agent_assist(sb, org, Kind(kind), rid) == content, f"{org} {kind} {rid}"
    sent = [(w.org, w.method, w.path, w.query) for w in sb.writes()]
    assert len(sent) == len(set(sent)), "a write was sent twice"
    process = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "report",
            run_id,
            "--format",
            "json",
            "--journal",
            str(journal),
        ]
    )
    report = json.loads(process.stdout)
    async with opened(journal) as j:
        items = await j.items(run_id)
    assert report["summary"]["total"] == len(items) == len(expected)
    assert report["status"] == "succeeded"
    assert report["summary"]["succeeded"] + report["summary"]["already_at_target"] == len(items)
    written = {(i.org, i.resource_id) for i in items if i.status == "succeeded"}
    applied = {(r.org, r.resource_id) for r in sb.writes()}
    assert written == applied


async def test_sigkill_at_twenty_moments_loses_and_repeats_nothing(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """SIGKILL at 20 seeded moments, resume each time: every config once, at its target."""
    async with make_sandbox(seed=SEED, rng_seed=42) as sb:
        expected, taken = await expected_contents(sb, tmp_path, journal_at)
        plan = write_plan(tmp_path, sb.url, sb, taken)
        journal = journal_at
        run_id, codes = await interrupt_until_done(
            sb, plan, journal, sig=signal.SIGKILL, times=20, seed=1
        )
        assert codes.count(-signal.SIGKILL) >= 20
        assert await crossings(journal, run_id) > 0  # kills did land between intent and answer
        await assert_finished_exactly_once(sb, expected, journal, run_id)
        async with opened(journal) as j:  # kills landed inside Agent Assist writes too
            events = await j.events(run_id)
        assist_seqs = {
            i.seq for i in await _items(journal, run_id) if i.kind != "agentassist-config"
        }
        assert any(e.event == "write.intended" and e.seq in assist_seqs for e in events)


async def _items(journal: str, run_id: str) -> list[Any]:
    async with opened(journal) as j:
        return await j.items(run_id)


async def test_sigint_exits_130_each_time_and_resume_finishes(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """SIGINT: in-flight requests finish, the partial report prints, exit 130; resume ends it."""
    async with make_sandbox(seed=SEED, rng_seed=43) as sb:
        expected, taken = await expected_contents(sb, tmp_path, journal_at)
        plan = write_plan(tmp_path, sb.url, sb, taken)
        journal = journal_at
        run_id, codes = await interrupt_until_done(
            sb, plan, journal, sig=signal.SIGINT, times=8, seed=2
        )
        graceful = [c for c in codes if c != -signal.SIGKILL]
        assert graceful[:-1] and set(graceful[:-1]) == {130}
        await assert_finished_exactly_once(sb, expected, journal, run_id)


async def test_a_429_pause_outlives_the_process_that_heard_it(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """429 with Retry-After 20, SIGKILL, resume at once: nothing reaches that org for 20 s."""
    from tests.support import CONFIGS, write_plan

    journal = journal_at
    async with make_sandbox() as sb:
        sb.set_faults("canary", Faults(throttle_rate=1.0, throttle_retry_after=20))
        plan = write_plan(tmp_path, sb.url, {"canary": CONFIGS["canary"][:2]})
        process = await start(["run", str(plan)], journal)
        with anyio.fail_after(60):
            # Another process writes the journal: there is no event to wait on.
            # Its first 429 comes first, so the journal is not read while it is created.
            while not any(r.status == 429 for r in sb.requests):  # noqa: ASYNC110
                await anyio.sleep(0.05)
            while not await _paused_in(journal):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        (refused,) = [r for r in sb.requests if r.status == 429]
        sb.set_faults("canary", Faults())
        resumed = await anyio.run_process(
            [sys.executable, "-m", "orchestrator", "resume", "--journal", str(journal)],
            check=False,
        )
        later = [r for r in sb.requests if r.org == "canary" and r.time > refused.time]
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert later, "the resumed run sent nothing at all"
    first = min(later, key=lambda r: r.time)
    assert first.time >= refused.time + 20 - 0.5, first
    assert b"its server asked for a pause until" in resumed.stderr


async def _paused_in(journal: str) -> bool:
    if not is_url(journal) and not await anyio.Path(journal).exists():
        return False
    async with opened(journal) as j:
        return bool(await j.pauses(["canary"]))
