"""The sliding 60 s window per token (api.md section 4), driven by a fake clock."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from orchestrator.sandbox.ratelimit import SlidingWindow

pytestmark = pytest.mark.anyio

ME = "/api/v2/tokens/me"


def test_window_counts_only_admitted_requests() -> None:
    """A refused request takes no slot; a slot frees 60 s after the request that held it."""
    window = SlidingWindow()
    assert [window.admit(t, 2) for t in (0.0, 10.0)] == [None, None]
    assert window.admit(20.0, 2) == 40  # ceil(0 + 60 - 20)
    assert window.admit(59.5, 2) == 1
    assert window.admit(60.0, 2) is None
    assert window.admit(60.0, 2) == 10
    assert window.admit(70.0, 2) is None


def test_window_lowered_limit_and_unlimited() -> None:
    """None admits everything; a limit lowered below the count waits for enough to leave."""
    window = SlidingWindow()
    for t in range(5):
        assert window.admit(float(t), None) is None
    # Five in the window, two allowed: four must leave, the last of them (t=3) at 63.
    assert window.admit(5.0, 2) == 58
    assert window.admit(62.5, 2) == 1
    assert window.admit(63.0, 2) is None


async def test_exactly_the_limit_passes_then_429(
    make_sandbox: Any, fake_clock: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """canary allows 120 a minute: 120 pass, the 121st is 429 with Retry-After and inin headers."""
    async with make_sandbox(clock=fake_clock) as sb:
        auth = await login(sb)  # the token endpoint is not counted
        statuses = []
        for _ in range(120):
            statuses.append((await http.get(f"{sb.url}{ME}", headers=auth)).status)
            fake_clock.advance(0.25)  # 120 requests over 30 s
        assert statuses == [200] * 120
        fake_clock.advance(12.5)  # t = 42.5 s after the first request
        response = await http.get(f"{sb.url}{ME}", headers=auth)
        body = await response.json()
        assert response.status == 429
        assert body["code"] == "too.many.requests.retry.after" and body["status"] == 429
        assert body["contextId"] == response.headers["ININ-Correlation-Id"]
        assert response.headers["Retry-After"] == "18"  # the first leaves the window at t = 60
        assert "[18]" in body["message"]
        assert response.headers["inin-ratelimit-allowed"] == "120"
        assert response.headers["inin-ratelimit-count"] == "121"
        assert response.headers["inin-ratelimit-reset"] == "18"
        # Refused requests do not count: retrying early keeps saying the same.
        fake_clock.advance(17.0)
        retry = await http.get(f"{sb.url}{ME}", headers=auth)
        assert (retry.status, retry.headers["Retry-After"]) == (429, "1")
        fake_clock.advance(0.5)  # exactly when Retry-After said: one slot is free
        assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 200
        assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 429
        fake_clock.advance(0.25)  # the second request leaves: one more slot
        assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 200
        records = [r.status for r in sb.requests if r.path == ME]
        assert records.count(429) == 3 and records.count(200) == 122


async def test_window_is_per_token_and_per_org(
    make_sandbox: Any, fake_clock: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """Each token has its own window; the limit is the org's, settable at run time."""
    async with make_sandbox(clock=fake_clock) as sb:
        sb.set_rate_limit("canary", 2)
        first, second = await login(sb), await login(sb)
        for auth in (first, first, second, second):
            assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 200
        assert (await http.get(f"{sb.url}{ME}", headers=first)).status == 429
        assert (await http.get(f"{sb.url}{ME}", headers=await login(sb, "emea-prod"))).status == 200
        sb.set_rate_limit("canary", None)
        for _ in range(5):
            assert (await http.get(f"{sb.url}{ME}", headers=first)).status == 200


async def test_rejected_auth_is_not_counted(
    make_sandbox: Any, fake_clock: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """Token requests and 401s do not eat into a token's window."""
    async with make_sandbox(clock=fake_clock) as sb:
        sb.set_rate_limit("canary", 1)
        auth = await login(sb)
        await login(sb)
        await http.get(f"{sb.url}{ME}", headers={"Authorization": "Bearer nope"})
        assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 200
        assert (await http.get(f"{sb.url}{ME}", headers=auth)).status == 429
