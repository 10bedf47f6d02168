"""HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured, through a real proxy on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import anyio
import pytest

from orchestrator.genesys.client import Client, new_session
from orchestrator.models import Backoff, Limits, Org, Secret
from orchestrator.sandbox import Sandbox
from tests.support import CONFIGS

pytestmark = pytest.mark.anyio

LIMITS = Limits(attempts=2, backoff=Backoff(base=0.01, max=0.02), request_timeout=5.0)
PATH = f"/api/v2/agentassist/configs/{CONFIGS['canary'][0]}"


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    sink.close()


@contextlib.asynccontextmanager
async def forward_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A minimal HTTP forward proxy: logs each connection's absolute-URI request line."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        method, target, version = line.decode("ascii").split()
        seen.append(f"{method} {target}")
        url = urlsplit(target)
        assert url.hostname is not None and url.port is not None
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
        path = url.path + (f"?{url.query}" if url.query else "")
        up_writer.write(f"{method} {path} {version}\r\n".encode("ascii"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_pipe, reader, up_writer)
            tg.start_soon(_pipe, up_reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()


def _org(url: str) -> Org:
    return Org(
        name="canary",
        api_base=url,
        login_base=url,
        client_id="canary",
        client_secret=Secret("canary-secret"),
    )


async def _read_one(url: str) -> int:
    async with new_session(LIMITS) as session:
        resp = await Client(session, LIMITS).org(_org(url)).request("GET", PATH)
        return resp.status


async def test_requests_go_through_the_proxy_named_by_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token request and the API request both reach the sandbox via the proxy."""
    async with forward_proxy() as (proxy, seen):
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert await _read_one(sandbox.url) == 200
    assert seen, "the proxy saw no request"
    assert all(line.split()[1].startswith(sandbox.url) for line in seen)
    assert any(line.startswith("POST ") and "/oauth/token" in line for line in seen)
    assert [r.status for r in sandbox.requests if r.path == PATH] == [200]


async def test_no_proxy_bypasses_the_proxy(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host named in NO_PROXY is reached directly."""
    async with forward_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert await _read_one(sandbox.url) == 200
    assert seen == []
    assert [r.status for r in sandbox.requests if r.path == PATH] == [200]
