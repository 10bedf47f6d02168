"""Pacing: the quota holds in every window, bursts are used, 429 pauses the org.

The minute is scaled down to one second on both sides (client and sandbox)
so the sliding-window behaviour is exercised in seconds; the benchmark runs
the real 60 s window.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import pytest
import yaml

from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, run_plan
from orchestrator.genesys import pacing
from orchestrator.journal import opened
from orchestrator.sandbox import Faults, generate_seed, ratelimit
from tests.support import CONFIGS, SandboxFactory, approve_all, execute, make_plan

pytestmark = pytest.mark.anyio

WINDOW = 1.0


def max_in_any_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open interval of ``window``."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_rate_window_admits_a_burst_then_one_per_freed_slot() -> None:
    """Three slots: three at once, the fourth only a full window after the first finished."""
    window = pacing.RateWindow(3, window=0.2, margin=0.0)
    granted: list[float] = []

    async def one() -> None:
        await window.acquire()
        granted.append(anyio.current_time())
        window.release()

    start = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(7):
            tg.start_soon(one)
    offsets = sorted(t - start for t in granted)
    assert max_in_any_window(offsets, 0.2) == 3
    assert sum(1 for t in offsets if t < 0.1) == 3  # the burst


async def test_an_unused_slot_is_given_back_at_once() -> None:
    """Releasing a slot that sent nothing does not cost a window."""
    window = pacing.RateWindow(1, window=60.0)
    await window.acquire()
    window.release(used=False)
    with anyio.fail_after(1):
        await window.acquire()


async def test_a_lower_limit_holds_from_the_next_request() -> None:
    """Resized from 10 to 2 after 3 went out: nothing more until two of them cooled down."""
    window = pacing.RateWindow(10, window=0.3, margin=0.0)
    for _ in range(3):
        await window.acquire()
        window.release()
    window.resize(2)
    start = anyio.current_time()
    await window.acquire()
    assert anyio.current_time() - start >= 0.25  # waited for the window, not a slot count
    assert window.counted() <= 2  # never more than the new limit


async def test_requests_the_server_counts_but_we_did_not_send_are_assumed() -> None:
    """A restarted process hears count=5 of limit 5: it waits for the server's reset."""
    window = pacing.RateWindow(5, window=60.0, margin=0.0)
    window.assume(5, reset=0.2)
    assert window.counted() == 5
    start = anyio.current_time()
    with anyio.fail_after(2):
        await window.acquire()
    assert anyio.current_time() - start >= 0.2


async def test_the_quota_holds_in_every_window_with_zero_429s(
    make_sandbox: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At L per (scaled) minute the server never counts L + 1 in any window."""
    monkeypatch.setattr(pacing, "WINDOW", WINDOW)
    monkeypatch.setattr(ratelimit, "WINDOW", WINDOW)
    rpm = 6
    async with make_sandbox() as sb:
        sb.set_rate_limit("canary", rpm)
        plan = make_plan(
            tmp_path,
            sb.url,
            {"canary": CONFIGS["canary"]},
            orgs={"canary": {"requests_per_minute": rpm}},
        )
        async with opened(tmp_path / "j.sqlite3") as journal:
            result = await run_plan(
                plan,
                journal,
                observer=Observer(),
                approver=approve_all,
                options=Options(handle_signals=False),
            )
        assert result.exit_code == 0
        api = [r.time for r in sb.requests if r.path.startswith("/api/")]
        assert len(api) == 1 + 4 * len(CONFIGS["canary"])
        assert [r for r in sb.requests if r.status == 429] == []
        assert max_in_any_window(api, WINDOW) == rpm  # the whole quota is used, never more


def misconfigured_plan(directory: Path, url: str, orgs: list[str]) -> Path:
    """Every config of ``orgs`` back one version; the file claims 300/min for each org."""
    document = {
        "plan": 1,
        "name": "misconfigured",
        "orgs": {
            o: {"base_url": url, "client_id": o, "client_secret": f"{o}-secret"} for o in orgs
        },
        "defaults": {"to": "previous"},
        "targets": [{"org": o, "configs": [f"{o}-cfg-{i:03}" for i in range(20)]} for o in orgs],
        "limits": {"backoff": {"base": "10ms", "max": "50ms"}, "verify_timeout": "10s"},
    }
    path = directory / "misconfigured.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize("on_429_only", [False, True], ids=["headers-always", "headers-on-429"])
async def test_a_wrong_quota_costs_at_most_one_429_per_org(
    make_sandbox: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    on_429_only: bool,
) -> None:
    """10 orgs x 20 configs, the file says 300/min, the server allows 30: the server's figure wins.

    With the headers on every answer the first answer teaches the limit and no
    429 happens; with the headers only on 429s, one 429 per org teaches it.
    """
    monkeypatch.setattr(pacing, "WINDOW", WINDOW)
    monkeypatch.setattr(ratelimit, "WINDOW", WINDOW)
    seed = generate_seed(orgs=10, configs=20, versions=3, requests_per_minute=30)
    faults = {"*": Faults(ratelimit_headers_on_429_only=on_429_only)}
    async with make_sandbox(seed=seed, faults=faults) as sb:
        orgs = sorted(sb.orgs)
        ids = {o: [c.id for c in next(s for s in seed.orgs if s.name == o).configs] for o in orgs}
        path = misconfigured_plan(tmp_path, sb.url, orgs)
        text = path.read_text()
        for org, configs in ids.items():
            for i, config_id in enumerate(configs):
                text = text.replace(f"{org}-cfg-{i:03}", config_id)
        path.write_text(text)
        async with opened(tmp_path / "j.sqlite3") as journal:
            result, data = await execute(path, journal)
        refused = Counter(r.org for r in sb.requests if r.status == 429)
    assert result.exit_code == 0, data["items"]
    assert data["summary"]["succeeded"] + data["summary"]["already_at_target"] == 200
    if on_429_only:
        assert refused and max(refused.values()) == 1, refused
    else:
        assert refused == Counter()
    # With headers only on 429s, an org learns its limit from its one 429; an org
    # whose requests never outran the server's figure had nothing to learn.
    learned = sorted(refused) if on_429_only else orgs
    assert data["pacing"] == [{"org": o, "allowed": 30, "configured": 300} for o in learned]


async def test_the_server_limit_is_a_floor_never_a_raise(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """A server that allows more than the file says changes nothing: the file is the ceiling."""
    async with make_sandbox() as sb:
        sb.set_rate_limit("canary", 1000)
        plan = make_plan(tmp_path, sb.url, {"canary": CONFIGS["canary"][:1]}, orgs={"canary": {}})
        async with opened(tmp_path / "j.sqlite3") as journal:
            result, data = await execute(plan, journal)
    assert result.exit_code == 0
    assert data["pacing"] == []


async def test_max_rate_smooths_the_whole_run(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    """limits.max_rate 20/s over every org: past the bucket's burst of 20, 20 a second."""
    async with make_sandbox() as sb:
        plan = make_plan(
            tmp_path,
            sb.url,
            {"canary": CONFIGS["canary"], "emea-prod": CONFIGS["emea-prod"]},
            limits={"max_rate": 20},
        )
        async with opened(tmp_path / "j.sqlite3") as journal:
            result, _ = await execute(plan, journal)
        api = sorted(r.time for r in sb.requests if r.path.startswith("/api/"))
    assert result.exit_code == 0
    assert len(api) > 40
    # aiolimiter's bucket admits its burst of 20, then 20 per second.
    assert max_in_any_window(api, 1.0) <= 20 + 20  # a full bucket, then its drain
    assert api[-1] - api[0] >= 0.9 * (len(api) - 20) / 20
