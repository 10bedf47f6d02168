"""The run's HTTP session, and the proxy the environment names for an origin.

Split from :mod:`~orchestrator.genesys.client`, which re-exports
:func:`new_session`; the client reads :func:`proxy_for` once per run and base.
"""

from __future__ import annotations

import urllib.request

import aiohttp
from yarl import URL

from orchestrator.models import Limits

USER_AGENT = "orchestrator/0.1 (genesys-rollback-orchestrator; rollback tool)"


def proxy_for(base: str) -> str | None:
    """The proxy the environment names for ``base`` (``NO_PROXY`` honoured), or None."""
    host = URL(base).host or ""
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(URL(base).scheme) or None


def new_session(limits: Limits) -> aiohttp.ClientSession:
    """The run's session; created inside the running loop, closed by the caller."""
    connector = aiohttp.TCPConnector(limit=limits.concurrency + 8, limit_per_host=0)
    session = aiohttp.ClientSession(
        connector=connector,
        # The per-attempt timeout is aiohttp's own timer on each request: a cancel
        # scope around every request cost 5% of the CPU in the throughput benchmark.
        timeout=aiohttp.ClientTimeout(total=limits.request_timeout),
        # Nothing here uses cookies; filtering them costs per request.
        cookie_jar=aiohttp.DummyCookieJar(),
        # HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read once per run (Client.proxy),
        # not by aiohttp per request: its trust_env costs two thread hops each.
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )
    # aiohttp silently re-sends an idempotent request (PUT included) once when
    # a reused connection drops. That spends rate budget and hides a write
    # whose outcome is unknown; the worker must decide after a re-read.
    # There is no public switch (aio-libs/aiohttp#10790); tests guard this.
    session._retry_connection = False
    return session
