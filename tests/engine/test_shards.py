"""One run, several processes: ``run PLAN --run-id ID --shard I/N`` on one shared journal.

Every shard is a real subprocess (``python -m orchestrator``) against one
sandbox served by this test's event loop. The verdicts come from what the
sandbox recorded (every write, when it arrived) and from the journal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import yaml
from anyio.abc import Process

from orchestrator.genesys.content import comparable
from orchestrator.journal import opened
from orchestrator.models import Kind
from orchestrator.sandbox import Faults, Sandbox, generate_seed
from tests.conftest import parametrize_backends
from tests.engine.test_kill import _finish, _token
from tests.support import SandboxFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, parametrize_backends()]

ORGS, CONFIGS = 9, 25  # 225 items, three waves of three orgs
SEED = generate_seed(orgs=ORGS, configs=CONFIGS, versions=4, requests_per_minute=None)
WAVES = (("first", 0, 3), ("second", 3, 6), ("rest", 6, ORGS))
FAULTS = Faults(
    latency=0.01,
    server_error_rate=0.03,
    drop_after_write_rate=0.05,
    concurrent_writer_rate=0.03,
    concurrent_writer_mode="bump",
    throttle_rate=0.005,
    throttle_retry_after=1,
    propagation_delay=0.05,
)
SHARD_ENV = {"ORCHESTRATOR_HEARTBEAT_SECONDS": "0.1", "ORCHESTRATOR_ACTOR": "ci@shards"}


def write_plan(
    directory: Path,
    sb: Sandbox,
    *,
    broken: Sequence[str] = (),
    max_failed: int | None = None,
    approve: str | None = None,
) -> Path:
    """Every config back to its previous version, in three waves of three orgs.

    In the ``broken`` orgs, the first config asks for a version that does not
    exist: it fails at planning, with nothing written.
    """
    orgs = sorted(sb.orgs)
    document: dict[str, Any] = {
        "plan": 1,
        "name": "sharded",
        "orgs": {
            name: {
                "base_url": sb.url,
                "client_id": name,
                "client_secret": f"{name}-secret",
                "concurrency": 4,
            }
            for name in orgs
        },
        "defaults": {"to": "previous"},
        "targets": [
            {
                "org": org,
                "configs": [
                    {"id": c.id, "to": 99} if org in broken and n == 0 else c.id
                    for n, c in enumerate(SEED.org(org).configs)
                ],
            }
            for org in orgs
        ],
        "waves": [
            {"name": name, "orgs": orgs[a:b]}
            | ({"max_failed": max_failed} if max_failed is not None else {})
            | ({"approve": True} if name == approve else {})
            for name, a, b in WAVES
        ],
        "limits": {
            "concurrency": 16,
            "attempts": 30,
            "backoff": {"base": "20ms", "max": "200ms"},
            "verify_timeout": "30s",
            "request_timeout": "10s",
        },
    }
    path = directory / "sharded.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


async def shard(plan: Path, journal: str, index: int, count: int = 3) -> Process:
    """Start shard ``index`` of ``count`` of run ``sharded-run``."""
    return await cli_process(
        "run", str(plan), "--run-id", "sharded-run", "--shard", f"{index}/{count}", journal=journal
    )


_STARTED: list[Process] = []


@pytest.fixture(autouse=True)
def _reap() -> Iterator[None]:
    """No shard outlives its test, even one that failed while shards waited at a barrier."""
    yield
    for process in _STARTED:
        if process.returncode is None:
            process.kill()
    _STARTED.clear()


async def cli_process(*args: str, journal: str) -> Process:
    process = await anyio.open_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            *args,
            "--journal",
            journal,
            "--plain",
            "--format",
            "json",
            "--log-format",
            "json",
        ],
        env={**os.environ, "PYTHONUNBUFFERED": "1", **SHARD_ENV},
    )
    _STARTED.append(process)
    return process


async def cli(*args: str, journal: str) -> tuple[int, str, str]:
    """Run one command to its end: exit code, stdout, stderr."""
    done = await anyio.run_process(
        [sys.executable, "-m", "orchestrator", *args, "--journal", journal],
        env={**os.environ, **SHARD_ENV},
        check=False,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def previous_contents(sb: Sandbox) -> dict[tuple[str, str], dict[str, Any]]:
    """What each config must hold in the end: its previous version, read now."""
    expected = {}
    async with aiohttp.ClientSession() as http:
        for org in sb.orgs:
            token = await _token(http, sb, org)
            for config in SEED.org(org).configs:
                version = sb.config(org, config.id).version - 1
                url = f"{sb.url}/api/v2/agentassist/configs/{config.id}/versions/{version}"
                async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 200
                    content = comparable(Kind.AGENTASSIST_CONFIG, await r.json())
                    expected[(org, config.id)] = content
    return expected


def wave_of(org: str) -> int:
    orgs = sorted(o.name for o in SEED.orgs)
    return next(i for i, (_, a, b) in enumerate(WAVES) if org in orgs[a:b])


def assert_waves_are_barriers(sb: Sandbox) -> None:
    """No write of wave k+1 arrived before the last write of wave k (the sandbox's clock)."""
    times: dict[int, list[float]] = {}
    for write in sb.writes():
        assert write.org is not None
        times.setdefault(wave_of(write.org), []).append(write.time)
    for k in range(len(WAVES) - 1):
        if times.get(k) and times.get(k + 1):
            assert max(times[k]) < min(times[k + 1]), f"wave {k + 1} wrote before wave {k} ended"


async def wait_for(condition: Any, processes: Sequence[Process], limit: float = 90) -> None:
    with anyio.fail_after(limit):
        # Other processes write the sandbox's log: there is no event to wait on.
        while not condition():
            assert all(p.returncode is None for p in processes), "a shard ended early"
            await anyio.sleep(0.02)


async def test_three_shards_one_killed_and_restarted_write_everything_once_wave_by_wave(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """225 items, 3 waves, faults on; shard 1 SIGKILLed in wave 2 and started again."""
    async with make_sandbox(seed=SEED, rng_seed=7) as sb:
        expected = await previous_contents(sb)
        plan = write_plan(tmp_path, sb)
        sb.clear_requests()
        for org in sb.orgs:
            sb.set_faults(org, FAULTS)
        _, out, _ = await cli(
            "plan", str(plan), "--shards", "3", "--format", "json", journal=journal_at
        )
        table = {row["shard"]: row["orgs"] for row in json.loads(out)["shards"]}
        assert sorted(o for orgs in table.values() for o in orgs) == sorted(
            sb.orgs
        )  # each org in one shard
        killed_orgs = set(table["1/3"])
        in_wave_two = {o for o in killed_orgs if wave_of(o) == 1}
        assert in_wave_two  # every shard has a share of every wave

        processes = [await shard(plan, journal_at, i) for i in range(3)]
        await wait_for(lambda: sum(1 for w in sb.writes() if w.org in in_wave_two) >= 5, processes)
        processes[1].send_signal(signal.SIGKILL)
        assert (await _finish(processes[1]))[0] == -signal.SIGKILL
        await anyio.sleep(2)  # 20 heartbeats: the killed shard is silent by now
        _, out, _ = await cli("status", "sharded-run", "--format", "json", journal=journal_at)
        shards = {s["shard"]: s for s in json.loads(out)["shards"]}
        assert shards["1/3"]["silent_for"] is not None
        assert shards["0/3"]["silent_for"] is None and shards["2/3"]["silent_for"] is None
        _, text, _ = await cli("status", "sharded-run", journal=journal_at)
        assert "shard 1/3" in text and "SILENT" in text
        written = sum(1 for w in sb.writes() if wave_of(w.org or "") == 2)
        assert written == 0  # the others wait for shard 1's part of wave 2

        processes[1] = await shard(plan, journal_at, 1)  # the same command again
        results = [await _finish(p) for p in processes]
        assert [code for code, _ in results] == [0, 0, 0]
        for _, out in results:
            assert json.loads(out)["status"] == "succeeded"

    for (org, rid), content in expected.items():
        assert comparable(Kind.AGENTASSIST_CONFIG, sb.config(org, rid).body) == content
    sent = [(w.org, w.method, w.path, w.query) for w in sb.writes()]
    assert len(sent) == len(set(sent)), "a write was sent twice"
    assert_waves_are_barriers(sb)
    async with opened(journal_at) as j:
        run = await j.run("sharded-run")
        events = await j.events("sharded-run")
        waves = await j.waves("sharded-run")
    assert run.status == "succeeded" and run.shards == 3
    assert [w.status for w in waves] == ["succeeded"] * 3
    closes = [e for e in events if e.event == "wave.succeeded"]
    assert len(closes) == 3  # each wave closed once, by one shard


async def test_max_failed_trips_across_shards_and_one_approval_releases_them_all(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """One failure in each of two shards trips max_failed: 1; approve from a 4th process."""
    async with make_sandbox(seed=SEED, rng_seed=8) as sb:
        orgs = sorted(sb.orgs)
        plan = write_plan(tmp_path, sb, broken=orgs[:2], max_failed=1)
        sb.clear_requests()

        processes = [await shard(plan, journal_at, i) for i in range(3)]
        results = [await _finish(p) for p in processes]
        assert [code for code, _ in results] == [3, 3, 3]  # held, every one of them
        later = {o for o in orgs if wave_of(o) > 0}
        assert not [w for w in sb.writes() if w.org in later]  # nobody went on to wave 2
        async with opened(journal_at) as j:
            waves = await j.waves("sharded-run")
            items = await j.items("sharded-run")
        assert waves[0].status == "halted" and waves[0].failed == 2
        failing_shards = {i.shard for i in items if i.status == "failed"}
        assert len(failing_shards) == 2  # the failures were spread over two shards

        approved_at = max(r.time for r in sb.requests)
        code, out, err = await cli("approve", "sharded-run", journal=journal_at)
        assert code == 0, err
        assert "accepted" in out

        processes = [await shard(plan, journal_at, i) for i in range(3)]
        results = [await _finish(p) for p in processes]
        assert [code for code, _ in results] == [1, 1, 1]  # partial: the two failures stay
        first_writes = min(w.time for w in sb.writes() if w.org in later)
        assert first_writes > approved_at  # released, and not before the approval
    assert_waves_are_barriers(sb)
    async with opened(journal_at) as j:
        run = await j.run("sharded-run")
        waves = await j.waves("sharded-run")
        items = await j.items("sharded-run")
    assert run.status == "partial"
    assert [w.status for w in waves] == ["partial", "succeeded", "succeeded"]
    done = {i.org for i in items if i.status in ("succeeded", "already_at_target")}
    assert done >= later  # every later item of every shard ran
    assert waves[0].approved_by == "ci@shards (approve)"


async def test_an_approval_gate_is_decided_once_for_every_shard(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """Wave 2 waits for approval: both shards exit 3, one gate.pending; approve releases both."""
    async with make_sandbox(seed=SEED, rng_seed=9) as sb:
        plan = write_plan(tmp_path, sb, approve="second")
        processes = [await shard(plan, journal_at, i, count=2) for i in range(2)]
        assert [(await _finish(p))[0] for p in processes] == [3, 3]
        later = {o for o in sb.orgs if wave_of(o) > 0}
        assert not [w for w in sb.writes() if w.org in later]
        async with opened(journal_at) as j:
            pending = [e for e in await j.events("sharded-run") if e.event == "gate.pending"]
        assert len(pending) == 1  # decided once, by whichever shard claimed it
        assert pending[0].detail["name"] == "second"

        code, out, err = await cli("approve", "sharded-run", journal=journal_at)
        assert code == 0 and "approved by ci@shards" in out, err
        processes = [await shard(plan, journal_at, i, count=2) for i in range(2)]
        assert [(await _finish(p))[0] for p in processes] == [0, 0]
    assert_waves_are_barriers(sb)
    async with opened(journal_at) as j:
        waves = await j.waves("sharded-run")
    assert [w.status for w in waves] == ["succeeded"] * 3
    assert waves[1].approved_by == "ci@shards (approve)"


async def test_a_shard_count_other_than_the_runs_is_refused(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """--shard needs --run-id; a run of 3 shards is not joined as 1 of 2, nor resumed whole."""
    async with make_sandbox(seed=SEED) as sb:
        plan = write_plan(tmp_path, sb)
        code, _, err = await cli("run", str(plan), "--shard", "0/2", journal=journal_at)
        assert code == 2 and "--run-id" in err
        code, _, err = await cli(
            "run", str(plan), "--run-id", "x", "--shard", "2/2", journal=journal_at
        )
        assert code == 2 and "0 <= I < N" in err
        assert not sb.requests
        first = await shard(plan, journal_at, 0)  # waits for the others after planning
        await wait_for(lambda: bool(sb.requests), [first])
        code, _, err = await cli(
            "run", str(plan), "--run-id", "sharded-run", "--shard", "1/2", journal=journal_at
        )
        assert code == 2 and "has 3 shards" in err
        code, _, err = await cli("resume", "sharded-run", journal=journal_at)
        assert code == 2 and "--shard I/3" in err
        first.send_signal(signal.SIGKILL)
        await _finish(first)
