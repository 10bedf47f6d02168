"""Pacing: the quota holds in every window, bursts are used, 429 pauses the org.

The minute is scaled down to one second on both sides (client and sandbox)
so the sliding-window behaviour is exercised in seconds; the benchmark runs
the real 60 s window.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, run_plan
from orchestrator.genesys import pacing
from orchestrator.journal import opened
from orchestrator.sandbox import ratelimit
from tests.support import CONFIGS, SandboxFactory, approve_all, make_plan

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
        token = await window.acquire()
        granted.append(anyio.current_time())
        window.release(token)

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
    token = await window.acquire()
    window.release(token, used=False)
    with anyio.fail_after(1):
        await window.acquire()


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
