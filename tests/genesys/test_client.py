"""The HTTP client against the sandbox: tokens, errors as data, nothing re-sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from orchestrator import errors
from orchestrator.genesys.client import MAX_BODY, MAX_REDIRECTS, Client, OrgClient, new_session
from orchestrator.genesys.retry import parse_retry_after
from orchestrator.models import Backoff, Limits, Org, Secret
from orchestrator.sandbox import Faults, Sandbox
from tests.hostile import CLIENT_ID, SECRET, Hostile, redirect
from tests.support import CONFIGS, SandboxFactory

pytestmark = pytest.mark.anyio

LIMITS = Limits(attempts=4, backoff=Backoff(base=0.01, max=0.02), request_timeout=5.0)


CONFIG = CONFIGS["canary"][0]


PATH = f"/api/v2/agentassist/configs/{CONFIG}"


def org(url: str, name: str = "canary", secret: str | None = None) -> Org:
    return Org(
        name=name,
        api_base=url,
        login_base=url,
        client_id=name,
        client_secret=Secret(secret or f"{name}-secret"),
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session(LIMITS) as s:
        yield s


def client_for(session: aiohttp.ClientSession, url: str, **kw: str) -> OrgClient:
    return Client(session, LIMITS).org(org(url, **kw))


async def test_the_re_send_switch_exists_in_this_aiohttp() -> None:
    """pyproject's aiohttp floor (3.11) is the first release with the switch we turn off."""
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS
    async with new_session(LIMITS) as s:
        assert s._retry_connection is False


async def test_a_dropped_write_is_reported_unknown_and_never_re_sent(
    make_sandbox: SandboxFactory, session: aiohttp.ClientSession
) -> None:
    """aiohttp would re-send a PUT on a dropped reused connection; ours must not."""
    async with make_sandbox(faults={"canary": Faults(drop_after_write_rate=1.0)}) as sb:
        client = client_for(session, sb.url)
        first = await client.request("GET", PATH)  # the connection is now reused
        body = {**_writable(first.body), "version": first.body["version"] + 1}
        with pytest.raises(errors.TransportError) as caught:
            await client.request("PUT", PATH, body=body, headers={"If-Match": first.etag or ""})
        assert caught.value.maybe_applied
        assert caught.value.code == "disconnected"
        assert [r.method for r in sb.requests if r.method == "PUT"] == ["PUT"]
        assert sb.config("canary", CONFIG).version == first.body["version"] + 1


async def test_errors_carry_org_config_status_code_and_correlation_id(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """A 404 becomes NotFound with the id the server logged."""
    client = client_for(session, sandbox.url)
    with pytest.raises(errors.NotFound) as caught:
        await client.request("GET", "/api/v2/agentassist/configs/nope", resource_id="nope")
    exc = caught.value
    served = sandbox.requests[-1]
    assert (exc.status, exc.code, exc.org, exc.config_id) == (404, "not.found", "canary", "nope")
    assert exc.correlation_id == served.correlation_id
    assert served.correlation_id in str(exc) and "canary" in str(exc)


async def test_a_412_and_a_version_400_are_conflicts(
    make_sandbox: SandboxFactory, session: aiohttp.ClientSession
) -> None:
    """Both stale-write answers of api.md map to Conflict."""
    async with make_sandbox(faults={"canary": Faults(conflict_status=412)}) as sb:
        client = client_for(session, sb.url)
        live = await client.request("GET", PATH)
        body = {**_writable(live.body), "version": live.body["version"] + 1}
        with pytest.raises(errors.Conflict) as caught:
            await client.request("PUT", PATH, body=body, headers={"If-Match": '"stale"'})
        assert caught.value.status == 412
        sb.set_faults("canary", Faults(version_mismatch_as_400=True))
        body["version"] = 1
        with pytest.raises(errors.Conflict) as caught:
            await client.request("PUT", PATH, body=body, headers={"If-Match": live.etag or ""})
        assert caught.value.status == 400


async def test_bad_credentials_are_an_authentication_failure_without_the_secret(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """401 invalid_client; the message never shows the secret."""
    client = client_for(session, sandbox.url, secret="not-the-secret")
    with pytest.raises(errors.AuthenticationFailed) as caught:
        await client.request("GET", "/api/v2/tokens/me")
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value)


async def test_the_token_endpoint_rate_limit_is_retried_with_backoff(
    make_sandbox: SandboxFactory, session: aiohttp.ClientSession
) -> None:
    """400 invalid_request "rate limit" is not final until the attempts run out."""
    faults = {"canary": Faults(token_requests_per_minute=1)}
    async with make_sandbox(faults=faults) as sb:
        first = client_for(session, sb.url)
        await first.request("GET", "/api/v2/tokens/me")
        second = client_for(session, sb.url)  # a new client: must fetch its own token
        with pytest.raises(errors.BadRequest) as caught:
            await second.request("GET", "/api/v2/tokens/me")
        assert caught.value.code == "invalid_request"
        refused = [r for r in sb.requests if r.path == "/oauth/token" and r.status == 400]
        assert len(refused) == LIMITS.attempts


async def test_a_body_over_the_limit_is_refused(session: aiohttp.ClientSession) -> None:
    """A response larger than MAX_BODY ends as ResponseTooLarge, not in memory."""

    async def huge(request: web.Request) -> web.StreamResponse:
        if request.path == "/oauth/token":
            return web.json_response({"access_token": "t0k3n-for-test", "expires_in": 600})
        response = web.StreamResponse()
        await response.prepare(request)  # chunked: no Content-Length to check up front
        chunk = b"x" * 65536
        for _ in range(MAX_BODY // len(chunk) + 2):
            await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        with pytest.raises(errors.ResponseTooLarge):
            await client_for(session, url).request("GET", PATH)
    finally:
        await runner.cleanup()


def _writable(body: dict[str, object]) -> dict[str, object]:
    keys = ("name", "description", "deployed", "trafficPercent", "content")
    return {k: body[k] for k in keys if k in body}


async def test_the_token_request_is_never_redirected(session: aiohttp.ClientSession) -> None:
    """A token endpoint answering 307 elsewhere: the credentials go nowhere else."""
    hostile, other = Hostile(), Hostile()
    async with hostile.serve(), other.serve():
        hostile.always("POST", "/oauth/token", redirect(f"{other.url}/oauth/token"))
        client = client_for(session, hostile.url, name=CLIENT_ID, secret=SECRET)
        with pytest.raises(errors.Redirected) as caught:
            await client.request("GET", "/api/v2/tokens/me")
    assert other.seen == []
    assert caught.value.location == f"{other.url}/oauth/token"
    assert other.url in str(caught.value) and caught.value.status == 307


async def test_a_redirect_loop_within_the_origin_ends(session: aiohttp.ClientSession) -> None:
    """A GET redirected to itself again and again: a few hops, then an error naming it."""
    hostile = Hostile()
    async with hostile.serve():
        hostile.always("GET", "/api/v2/tokens/me", redirect("/api/v2/tokens/me"))
        client = client_for(session, hostile.url, name=CLIENT_ID, secret=SECRET)
        with pytest.raises(errors.Redirected, match="more than 5 redirects"):
            await client.request("GET", "/api/v2/tokens/me")
    assert len(hostile.requests("GET", "/tokens/me")) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        ("-5", None),
        ("0", None),
        ("nan", None),
        ("inf", None),
        ("abc", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after_that_says_nothing_usable_is_none(value: str, parsed: float | None) -> None:
    """Only a positive, finite delay (or a future date) is a Retry-After; else the default."""
    assert parse_retry_after(value) == parsed
