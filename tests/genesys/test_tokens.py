"""Tokens: fetched once per org, refreshed once on a 401."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.genesys.tokens import MAX_LIFETIME, MIN_LIFETIME, lifetime
from orchestrator.journal import Journal
from orchestrator.sandbox import Faults, Sandbox
from tests.hostile import CLIENT_ID, CONFIG_IDS, ORG_ID, SECRET, Answer, Hostile
from tests.support import CONFIGS, SandboxFactory, execute, make_plan, statuses

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


EMEA = CONFIGS["emea-prod"]
HOSTILE_ORG = {"hostile": {"client_id": CLIENT_ID, "client_secret": SECRET, "org_id": ORG_ID}}


async def test_an_expired_token_is_refreshed_once(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A 401 credentials.expired leads to one new token, and the run goes on."""
    async with make_sandbox(faults={"canary": Faults(token_ttl=0.15, latency=0.08)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        tokens = [r for r in sb.requests if r.path == "/oauth/token"]
        expired = [r for r in sb.requests if r.status == 401]
        assert expired and len(tokens) >= 2


async def test_a_token_is_fetched_once_per_org_and_reused(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """One client-credentials request per org for the whole run."""
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY, "emea-prod": EMEA})
    await execute(plan, journal)
    tokens = [r.org for r in sandbox.requests if r.path == "/oauth/token"]
    assert sorted(tokens) == ["canary", "emea-prod"]


@pytest.mark.parametrize(
    ("expires_in", "kept"),
    [
        (86400, 86400.0),
        (0, MIN_LIFETIME),
        (-5, MIN_LIFETIME),
        ("abc", MIN_LIFETIME),
        (float("nan"), MIN_LIFETIME),
        (True, MIN_LIFETIME),
        (None, MIN_LIFETIME),
        (1, MIN_LIFETIME),
        (10**12, MAX_LIFETIME),
    ],
)
def test_an_absurd_lifetime_means_refresh_soon_and_every_lifetime_is_bounded(
    expires_in: object, kept: float
) -> None:
    """0 is not 24 h, -5 is not a token per request, "abc" is not a crash."""
    assert lifetime(expires_in) == kept


@pytest.mark.parametrize("expires_in", [0, -5, "abc", None, 1e308])
async def test_an_odd_lifetime_neither_crashes_nor_fetches_a_token_per_request(
    tmp_path: Path, journal: Journal, expires_in: object
) -> None:
    """The run succeeds and fetches one token for all its requests."""
    hostile = Hostile()
    async with hostile.serve():
        token = {"access_token": "hostile-token-fixed", "token_type": "bearer"}
        if expires_in is not None:
            token["expires_in"] = expires_in  # type: ignore[assignment]
        hostile.tokens.append("hostile-token-fixed")
        hostile.always("POST", "/oauth/token", Answer(body=token))
        plan = make_plan(tmp_path, hostile.url, {"hostile": list(CONFIG_IDS)}, orgs=HOSTILE_ORG)
        result, data = await execute(plan, journal)
    assert set(statuses(data).values()) == {"succeeded"} and result.exit_code == 0
    assert len(hostile.requests("POST", "/oauth/token")) == 1
    assert len(hostile.requests()) > 10


@pytest.mark.parametrize(
    "body",
    [{"token_type": "bearer"}, {"access_token": 42}, {"access_token": "two\r\nlines"}, []],
    ids=["missing", "number", "crlf", "list"],
)
async def test_a_token_answer_without_a_usable_token_fails_preflight(
    tmp_path: Path, journal: Journal, body: object
) -> None:
    """200 without a usable access_token: preflight fails (exit 4), nothing else is sent."""
    hostile = Hostile()
    async with hostile.serve():
        hostile.always("POST", "/oauth/token", Answer(body=body))
        plan = make_plan(tmp_path, hostile.url, {"hostile": [CONFIG_IDS[0]]}, orgs=HOSTILE_ORG)
        result, data = await execute(plan, journal)
    assert result.exit_code == 4
    assert "no usable access_token" in (data["reason"] or "")
    assert [s.path for s in hostile.seen] == ["/oauth/token"]
