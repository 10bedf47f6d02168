"""The run's HTTP session, proxies, and the request counts the reports show.

Split from :mod:`~orchestrator.genesys.client`, which re-exports the counts and
:func:`new_session`; the client reads :func:`proxy_for` once per run and base.
"""

from __future__ import annotations

import urllib.request
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from orchestrator.models import Limits

USER_AGENT = "orchestrator/0.1 (genesys-rollback-orchestrator; rollback tool)"


@dataclass(slots=True)
class HttpStats:
    """Counts for the report's ``http`` section (for a run, or one item)."""

    requests: int = 0
    retries: int = 0
    conflicts: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    # An item's: the ININ-Correlation-Id of each request that changed it (a 2xx to a
    # PUT, PATCH or DELETE; one whose body the kind then refuses is named as in doubt,
    # by the write.unknown it causes) since the journal last took them. An assistant's write
    # is a PATCH and a PUT, its queues' a PATCH and DELETEs; each is an entry of
    # its own in Genesys Cloud's audit log. None, not a list, until one lands: a
    # run holds one of these per item.
    landed: list[str] | None = None

    def take_landed(self) -> list[str]:
        """The ids landed since the last call, in the order sent."""
        landed, self.landed = self.landed or [], None
        return landed


@dataclass(slots=True)
class RunStats(HttpStats):
    """A run's counts, and its answers by method and status (an item's stats carry no map)."""

    # (method, HTTP status or "error" when no answer came) -> count.
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)


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
