"""Every fault of api.md section 7 happens, and the same rng_seed gives the same outcomes."""

from __future__ import annotations

import contextlib
import email.utils
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orchestrator.errors import PlanError
from orchestrator.sandbox import Faults, Sandbox, load_faults
from orchestrator.sandbox.faults import FaultDice, parse_faults
from tests.support import ROOT

pytestmark = pytest.mark.anyio

BILLING = "19cc7f17-becc-5e23-8534-27fd328a4d65"
CLAIMS = "d3e27a42-edd9-5fa3-9019-1b77e651243d"
ASSISTANT = "d5d30071-3a20-5442-b022-d4416f64cc99"
CONFIGS = "/api/v2/agentassist/configs"
ANALYTICS = "/api/v2/analytics/agentassist/conversations/query"
EXAMPLE = ROOT / "orchestrator" / "sandbox" / "data" / "faults.example.yaml"

Script = Callable[[Sandbox, aiohttp.ClientSession, dict[str, str]], Awaitable[list[Any]]]


@pytest.fixture
def outcomes(make_sandbox: Any, login: Any) -> Callable[..., Awaitable[list[Any]]]:
    """Run a script against a fresh sandbox with canary's faults; return what it observed."""

    async def run(
        faults: Faults, script: Script, *, rng_seed: int = 0, clock: Any = time.monotonic
    ) -> list[Any]:
        sandbox = make_sandbox(faults={"canary": faults}, rng_seed=rng_seed, clock=clock)
        async with sandbox as sb, aiohttp.ClientSession() as http:
            return await script(sb, http, await login(sb))

    return run


async def get_statuses(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
    out = []
    for _ in range(40):
        response = await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=auth)
        body = await response.json()
        out.append((response.status, body.get("code"), response.headers.get("Retry-After")))
    return out


async def put_cycles(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
    """Read-then-write twelve times; what each write got."""
    out = []
    url = f"{sb.url}{CONFIGS}/{BILLING}"
    for n in range(12):
        response = await http.get(url, headers=auth)
        body, etag = await response.json(), response.headers["ETag"]
        sent = {"name": body["name"], "version": body["version"] + 1, "content": {"cycle": n}}
        out.append((await http.put(url, headers=auth | {"If-Match": etag}, json=sent)).status)
    return out


async def test_server_errors(outcomes: Any) -> None:
    """server_error_rate answers 500/502/503/504 with their codes, reproducibly."""
    faults = Faults(server_error_rate=0.4)
    first = await outcomes(faults, get_statuses)
    assert first == await outcomes(faults, get_statuses)
    assert first != await outcomes(faults, get_statuses, rng_seed=1)
    codes = {s: c for s, c, _ in first}
    assert 200 in codes and len(codes) >= 3
    expected = {
        500: "internal.server.error",
        502: "service.unavailable",
        503: "service.unavailable",
        504: "request.timeout",
    }
    assert {s: c for s, c in codes.items() if s != 200} == {
        s: expected[s] for s in codes if s != 200
    }


async def test_server_errors_apply_nothing(
    make_sandbox: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """A 5xx answer to a PUT changed nothing."""
    async with make_sandbox() as sb:
        auth = await login(sb)
        response = await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=auth)
        body, etag = await response.json(), response.headers["ETag"]
        sb.set_faults("canary", Faults(server_error_rate=1.0))
        sent = {"name": body["name"], "version": 7}
        answer = await http.put(
            f"{sb.url}{CONFIGS}/{BILLING}", headers=auth | {"If-Match": etag}, json=sent
        )
        assert answer.status in (500, 502, 503, 504)
        assert sb.config("canary", BILLING).version == 6 and sb.writes() == []


async def test_faults_are_per_resource(outcomes: Any) -> None:
    """Per-resource faults do not depend on how requests to different configs interleave."""
    faults = Faults(server_error_rate=0.5)

    def script(order: list[str]) -> Script:
        async def run(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
            seen: dict[str, list[int]] = {BILLING: [], CLAIMS: []}
            for config_id in order:
                seen[config_id].append(
                    (await http.get(f"{sb.url}{CONFIGS}/{config_id}", headers=auth)).status
                )
            return [seen[BILLING], seen[CLAIMS]]

        return run

    interleaved = await outcomes(faults, script([BILLING, CLAIMS] * 10))
    grouped = await outcomes(faults, script([BILLING] * 10 + [CLAIMS] * 10))
    assert interleaved == grouped


def runs_of_429(statuses: list[int]) -> list[int]:
    return [len(list(group)) for status, group in itertools.groupby(statuses) if status == 429]


async def test_throttle_bursts(outcomes: Any) -> None:
    """throttle_rate starts bursts of throttle_burst 429s with Retry-After seconds, reproducibly."""
    faults = Faults(throttle_rate=0.1, throttle_burst=3, throttle_retry_after=2.5)
    first = await outcomes(faults, get_statuses)
    assert first == await outcomes(faults, get_statuses)
    statuses = [s for s, _, _ in first]
    runs = runs_of_429(statuses[: max(i for i, s in enumerate(statuses) if s == 200) + 1])
    assert runs and all(r % 3 == 0 for r in runs)
    assert {(c, ra) for s, c, ra in first if s == 429} == {("too.many.requests.retry.after", "3")}


async def test_throttle_http_date(outcomes: Any) -> None:
    """throttle_http_date announces Retry-After as an RFC 9110 HTTP date."""
    faults = Faults(throttle_rate=1.0, throttle_retry_after=30, throttle_http_date=True)
    [(status, _, retry_after), *_] = await outcomes(faults, get_statuses)
    assert status == 429
    moment = email.utils.parsedate_to_datetime(retry_after)
    wait = (moment - datetime.now(UTC)).total_seconds()
    assert retry_after.endswith(" GMT") and 28 <= wait <= 32


@pytest.mark.parametrize("mode", ["bump", "edit"])
async def test_concurrent_writer(outcomes: Any, mode: str) -> None:
    """concurrent_writer_rate makes PUTs stale (another writer got there first), reproducibly."""
    faults = Faults(concurrent_writer_rate=0.4, concurrent_writer_mode=mode)
    observed: list[Any] = []

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        statuses = await put_cycles(sb, http, auth)
        observed.append((sb.foreign_writes, sb.config("canary", BILLING)))
        return statuses

    first = await outcomes(faults, script)
    assert first == await outcomes(faults, script)
    assert set(first) == {200, 409}
    foreign, _ = observed[0]
    assert len(foreign) == first.count(409)
    assert {w.source for w in foreign} == {"concurrent_writer"}

    # The other writer's version sits right before the one it made stale.
    async def history(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        await put_cycles(sb, http, auth)
        bodies = []
        for w in sb.foreign_writes:
            url = f"{sb.url}{CONFIGS}/{BILLING}/versions/{w.version}"
            bodies.append(
                ((await (await http.get(url, headers=auth)).json())["content"], w.version)
            )
            url = f"{sb.url}{CONFIGS}/{BILLING}/versions/{w.version - 1}"
            bodies[-1] += ((await (await http.get(url, headers=auth)).json())["content"],)
        return bodies

    for content, version, before in await outcomes(faults, history):
        if mode == "bump":
            assert content == before
        else:
            assert content == before | {"note": f"edited by another writer (version {version})"}


async def test_concurrent_writer_on_assistants(outcomes: Any) -> None:
    """The concurrent writer patches an assistant just before a client's PATCH lands."""

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        url = f"{sb.url}/api/v2/assistants/{ASSISTANT}"
        for n in range(10):
            await http.patch(url, headers=auth, json={"name": f"name {n}"})
        return [w.resource_id for w in sb.foreign_writes]

    faults = Faults(concurrent_writer_rate=0.5, concurrent_writer_mode="edit")
    first = await outcomes(faults, script)
    assert first == await outcomes(faults, script) and 0 < len(first) < 10


async def test_latency(outcomes: Any) -> None:
    """latency delays each request by a seeded uniform draw in 0..latency."""
    faults = Faults(latency=0.08)
    draw = FaultDice(0, "canary").stream("latency", "/api/v2/tokens/me")
    expected = [draw.uniform(0.0, 0.08) for _ in range(5)]
    other = FaultDice(1, "canary").stream("latency", "/api/v2/tokens/me")
    assert expected != [other.uniform(0.0, 0.08) for _ in range(5)]

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        took = []
        for _ in range(5):
            start = time.perf_counter()
            assert (await http.get(f"{sb.url}/api/v2/tokens/me", headers=auth)).status == 200
            took.append(time.perf_counter() - start)
        return took

    took = await outcomes(faults, script)
    for measured, wanted in zip(took, expected, strict=True):
        assert wanted - 0.002 <= measured <= wanted + 0.05


async def test_token_ttl(outcomes: Any, fake_clock: Any) -> None:
    """token_ttl kills tokens after N s although expires_in still says 86400; a new token works."""

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        url = f"{sb.url}/api/v2/tokens/me"
        out = [(await http.get(url, headers=auth)).status]
        fake_clock.advance(29.9)
        out.append((await http.get(url, headers=auth)).status)
        fake_clock.advance(0.1)
        response = await http.get(url, headers=auth)
        out.append((response.status, (await response.json())["code"]))
        token = await http.post(
            f"{sb.url}/oauth/token",
            headers={"Authorization": aiohttp.encode_basic_auth("canary", "canary-secret")},
            data={"grant_type": "client_credentials"},
        )
        fresh = await token.json()
        out.append(fresh["expires_in"])
        out.append(
            (
                await http.get(url, headers={"Authorization": f"Bearer {fresh['access_token']}"})
            ).status
        )
        return out

    result = await outcomes(Faults(token_ttl=30), script, clock=fake_clock)
    assert result == [200, 200, (401, "credentials.expired"), 86400, 200]


async def test_propagation_delay(outcomes: Any, fake_clock: Any) -> None:
    """activeVersion catches up with a write only after propagation_delay."""

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        async def active() -> int:
            response = await http.post(
                f"{sb.url}{ANALYTICS}", headers=auth, json={"filter": {"configId": BILLING}}
            )
            [result] = (await response.json())["results"]
            assert result["activeVersion"] == sb.config("canary", BILLING).active_version
            return int(result["activeVersion"])

        out = [await active()]
        await put_cycles(sb, http, auth)  # versions 7..18, all at the same fake instant
        out.append(await active())
        fake_clock.advance(19.9)
        out.append(await active())
        fake_clock.advance(0.1)
        out.append(await active())
        return out

    assert await outcomes(Faults(propagation_delay=20), script, clock=fake_clock) == [6, 6, 6, 18]


async def test_assistant_read_lag(outcomes: Any, fake_clock: Any) -> None:
    """After a PATCH, GET and the listing show the old content for assistant_read_lag seconds."""

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        url = f"{sb.url}/api/v2/assistants/{ASSISTANT}"

        async def seen() -> tuple[str, str]:
            one = (await (await http.get(url, headers=auth)).json())["name"]
            listing = await (await http.get(f"{sb.url}/api/v2/assistants", headers=auth)).json()
            return one, next(a["name"] for a in listing["entities"] if a["id"] == ASSISTANT)

        patched = await (await http.patch(url, headers=auth, json={"name": "Renamed"})).json()
        out: list[Any] = [patched["name"], sb.assistant("canary", ASSISTANT)["name"], await seen()]
        fake_clock.advance(4.9)
        out.append(await seen())
        fake_clock.advance(0.1)
        out.append(await seen())
        return out

    old = ("Billing assistant", "Billing assistant")
    assert await outcomes(Faults(assistant_read_lag=5), script, clock=fake_clock) == [
        "Renamed", "Renamed", old, old, ("Renamed", "Renamed"),
    ]  # fmt: skip


async def test_version_retention(
    make_sandbox: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """Only the newest version_retention versions are kept; older ones are 404."""
    async with make_sandbox(faults={"canary": Faults(version_retention=3)}) as sb:
        auth = await login(sb)
        listing = await (
            await http.get(f"{sb.url}{CONFIGS}/{BILLING}/versions", headers=auth)
        ).json()
        assert ([e["version"] for e in listing["entities"]], listing["total"]) == ([6, 5, 4], 3)
        await put_cycles(sb, http, auth)
        assert sb.config("canary", BILLING).versions == (18, 17, 16)
        pruned = await http.get(f"{sb.url}{CONFIGS}/{BILLING}/versions/15", headers=auth)
        assert (pruned.status, (await pruned.json())["code"]) == (404, "not.found")
        assert (
            await http.get(f"{sb.url}{CONFIGS}/{BILLING}/versions/16", headers=auth)
        ).status == 200
        sb.set_faults("canary", Faults(version_retention=1))
        assert sb.config("canary", CLAIMS).versions == (8,)


async def test_page_size_cap(make_sandbox: Any, http: aiohttp.ClientSession, login: Any) -> None:
    """page_size_cap lowers pageSize; pageCount tells the client how many pages to follow."""
    async with make_sandbox(faults={"canary": Faults(page_size_cap=4)}) as sb:
        auth = await login(sb)
        url = f"{sb.url}{CONFIGS}/{CLAIMS}/versions"
        first = await (await http.get(url, headers=auth, params={"pageSize": 25})).json()
        assert (first["pageSize"], first["total"], first["pageCount"], len(first["entities"])) == (
            4,
            8,
            2,
            4,
        )
        second = await (
            await http.get(url, headers=auth, params={"pageSize": 25, "pageNumber": 2})
        ).json()
        assert [e["version"] for e in first["entities"] + second["entities"]] == [
            8,
            7,
            6,
            5,
            4,
            3,
            2,
            1,
        ]
        sb.set_faults("canary", Faults(page_size_cap=2))
        page = await (
            await http.get(f"{sb.url}/api/v2/assistants?pageSize=25", headers=auth)
        ).json()
        assert len(page["entities"]) == 2 and page["nextUri"].startswith(
            "/api/v2/assistants?pageSize=2&after="
        )


async def test_drop_after_write(make_sandbox: Any, login: Any) -> None:
    """drop_after_write_rate applies the write, then cuts the connection unanswered."""
    faults = {"canary": Faults(drop_after_write_rate=1.0)}
    async with make_sandbox(faults=faults) as sb, aiohttp.ClientSession() as http:
        # aiohttp re-sends an idempotent request once on a dropped connection;
        # the orchestrator's client switches that off, and so does this test.
        http._retry_connection = False
        auth = await login(sb)
        url = f"{sb.url}{CONFIGS}/{BILLING}"
        response = await http.get(url, headers=auth)
        body, etag = await response.json(), response.headers["ETag"]
        sent = {"name": body["name"], "version": 7, "content": {"dropped": True}}
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await http.put(url, headers=auth | {"If-Match": etag}, json=sent)
        assert sb.config("canary", BILLING).content == {"dropped": True}
        [write] = sb.writes("canary", BILLING)
        assert (write.status, write.applied, write.dropped, write.if_match) == (
            None,
            True,
            True,
            etag,
        )
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await http.patch(
                f"{sb.url}/api/v2/assistants/{ASSISTANT}", headers=auth, json={"state": "Inactive"}
            )
        assert sb.assistant("canary", ASSISTANT)["state"] == "Inactive"
        assert [(w.method, w.dropped) for w in sb.writes()] == [("PUT", True), ("PATCH", True)]


async def test_drop_after_write_is_reproducible(outcomes: Any) -> None:
    """Which writes are dropped follows the rng_seed."""

    async def script(sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str]) -> list[Any]:
        http._retry_connection = False
        with contextlib.suppress(aiohttp.ServerDisconnectedError):
            await put_cycles(sb, http, auth)
        url = f"{sb.url}/api/v2/assistants/{ASSISTANT}"
        for n in range(12):
            with contextlib.suppress(aiohttp.ServerDisconnectedError):
                await http.patch(url, headers=auth, json={"name": f"n{n}"})
        return [(w.method, w.dropped) for w in sb.writes()]

    first = await outcomes(Faults(drop_after_write_rate=0.3), script)
    assert first == await outcomes(Faults(drop_after_write_rate=0.3), script)
    assert {d for _, d in first} == {True, False}


def test_faults_validate() -> None:
    """Out-of-range settings are refused, from Python and from YAML, naming the key."""
    for bad in (
        {"server_error_rate": 1.5},
        {"conflict_status": 418},
        {"concurrent_writer_mode": "x"},
        {"latency": -1},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Faults(**bad)
    _, problems = parse_faults(
        {"latency": "fast", "nope": 1, "token_ttl": None}, file="f.yaml", path="canary"
    )
    assert [p.path for p in problems] == ["canary.latency", "canary.nope"]


def test_faults_file(tmp_path: Path, sandbox_seed: Any) -> None:
    """A faults file maps orgs (and "*" for the rest) to faults; errors list every problem."""
    faults = load_faults(EXAMPLE)
    assert faults["emea-prod"].conflict_status == 412 and faults["*"].latency == 0.01
    sb = Sandbox(sandbox_seed, faults=faults)
    assert sb.faults("canary").concurrent_writer_mode == "edit"
    assert sb.faults("apac-prod") == faults["*"]
    bad = tmp_path / "faults.yaml"
    bad.write_text("canary:\n  latency: -1\n  bogus: 2\nemea-prod: [1]\n")
    with pytest.raises(PlanError) as caught:
        load_faults(bad)
    assert [p.path for p in caught.value.problems] == ["canary.bogus", "canary", "emea-prod"]
