"""HTTP access to Genesys Cloud orgs: pacing, tokens, and errors as data.

One :class:`Client` per run owns the ``aiohttp.ClientSession`` and the
run-wide concurrency cap; it hands out one :class:`OrgClient` per org, which
owns that org's :class:`~orchestrator.genesys.tokens.TokenSource` and
:class:`~orchestrator.genesys.pacing.OrgGate`. This is the only module that
touches aiohttp's exceptions: everything leaves as the project's
:mod:`~orchestrator.errors`.

The client never re-sends a request on its own (the worker decides, after
re-reading), with one exception that cannot double-apply anything: a request
refused with 401 is sent again once with a fresh token.

Redirects are never followed by aiohttp: a ``GET`` follows one (a few hops at
most) only within the org's own origin; a write, the token request, or a
redirect to another origin ends in :class:`~orchestrator.errors.Redirected`
naming where it pointed. Text a server sends (messages, codes, ids) is
redacted and bounded in length before it goes anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from yarl import URL

from orchestrator import errors, jsontext
from orchestrator.genesys.answers import (
    ID_CHARS,
    Response,
    api_error,
    bounded,
    parse_json,
    redirected,
)
from orchestrator.genesys.pacing import (
    OrgGate,
    OrgPaused,
    PacingListener,
    ratelimit_headers,
    slots,
)
from orchestrator.genesys.session import USER_AGENT as USER_AGENT
from orchestrator.genesys.session import HttpStats as HttpStats
from orchestrator.genesys.session import RunStats as RunStats
from orchestrator.genesys.session import new_session as new_session
from orchestrator.genesys.session import proxy_for
from orchestrator.genesys.tokens import TokenSource
from orchestrator.logs import redact
from orchestrator.models import Limits, Org

MAX_BODY = 8 * 1024 * 1024  # a config is at most 256 KiB; anything near this is wrong
WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
MAX_REDIRECTS = 5  # same-origin hops a GET may take
CHANGES = frozenset({"PUT", "PATCH", "DELETE"})  # requests that change a resource


class WriteHeld(Exception):
    """A write's turn came after the run stopped new writes: it was not sent."""


class Client:
    """Shared by every org of one run."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        limits: Limits,
        listener: PacingListener | None = None,
    ) -> None:
        self.session = session
        self.limits = limits
        self.listener = listener
        self.stats = RunStats()
        self._shared = slots(limits.concurrency)
        # Items in work at once: one waiting for a request slot holds content in memory.
        self.work = slots(limits.concurrency)
        self._smoothing = AsyncLimiter(limits.max_rate, 1.0) if limits.max_rate else None
        self._orgs: dict[str, OrgClient] = {}
        # Asked when a change's turn at its org's gate comes (it may have waited there):
        # once true, none leaves (a stop signal; the journal's intent stays for resume).
        self.writes_held: Callable[[], bool] = lambda: False
        self._proxies: dict[str, str | None] = {}  # base -> proxy_for(base), read once per run

    def proxy(self, base: str) -> str | None:
        """:func:`proxy_for` ``base``, read from the environment once per run and base.

        Orgs mostly share their bases; reading the environment costs a walk
        over every variable, twice, per call.
        """
        if base not in self._proxies:
            self._proxies[base] = proxy_for(base)
        return self._proxies[base]

    def requests_last_minute(self, org: str) -> int:
        """Requests sent to ``org`` in the last 60 s (safe from any thread)."""
        client = self._orgs.get(org)
        return client.gate.meter.last_minute() if client is not None else 0

    def limit(self, org: str) -> int:
        """The quota ``org`` is paced to, in requests per minute."""
        client = self._orgs.get(org)
        return client.gate.limit if client is not None else 0

    def org(self, org: Org) -> OrgClient:
        """The client of ``org`` (one per org per run)."""
        client = self._orgs.get(org.name)
        if client is None:
            gate = OrgGate(
                requests_per_minute=org.requests_per_minute,
                concurrency=org.concurrency,
                shared=self._shared,
                smoothing=self._smoothing,
                name=org.name,
            )
            client = self._orgs[org.name] = OrgClient(self, org, gate)
        return client


class OrgClient:
    """Requests to one org with its own token, quota and pause."""

    def __init__(self, parent: Client, org: Org, gate: OrgGate) -> None:
        self.org = org
        self.gate = gate
        self.work = parent.work  # the run's: see Client.work
        self._parent = parent
        self._tokens = TokenSource(org, parent.limits, self._post_form)
        # HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as every other tool on the host.
        self._api_proxy = parent.proxy(org.api_base)
        self._login_proxy = parent.proxy(org.login_base)
        self._last_429: str | None = None
        self.stats = parent.stats  # the run's counters

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | Sequence[Any] | None = None,
        headers: Mapping[str, str] | None = None,
        resource_id: str | None = None,
        stats: HttpStats | None = None,
    ) -> Response:
        """Send one API request through the org's gate; 2xx or a typed error.

        ``stats`` (an item's own counters) is counted beside the run's.

        Raises:
            errors.RequestError: any failure, with org, resource, status and
                correlation id filled in.
        """
        for hops in range(MAX_REDIRECTS + 1):
            resp = await self._authorized(method, path, body, headers, resource_id, stats)
            if not 300 <= resp.status < 400:
                return resp
            where = self._same_origin(path, resp.location)
            if method != "GET":
                why = "a write is never redirected: not followed"
            elif where is None:
                why = f"not followed: only redirects within {self.org.api_base} are"
            elif hops == MAX_REDIRECTS:
                why = f"not followed: more than {MAX_REDIRECTS} redirects"
            else:
                path = where
                continue
            raise redirected(resp, why, resource_id)
        raise AssertionError("unreachable")

    async def _authorized(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | Sequence[Any] | None,
        headers: Mapping[str, str] | None,
        resource_id: str | None,
        stats: HttpStats | None,
    ) -> Response:
        """One request with the org's token; sent once more with a new token after a 401."""
        for refreshed in (False, True):
            token = await self._tokens.get()
            try:
                return await self._send(method, path, body, headers, token, resource_id, stats)
            except errors.AuthenticationFailed:
                if refreshed:
                    raise
                self._tokens.forget(token)
        raise AssertionError("unreachable")

    def _same_origin(self, path: str, location: str | None) -> str | None:
        """The path to follow ``location`` to, if it stays on the org's origin."""
        if not location:
            return None
        base = URL(self.org.api_base)
        try:
            target = URL(self.org.api_base + path).join(URL(location))
        except ValueError:
            return None
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            return None
        return target.raw_path_qs

    async def _post_form(
        self, url: str, headers: Mapping[str, str], form: str
    ) -> tuple[int, Any, str | None]:
        """The token request: not paced (the token endpoint has its own limit)."""
        where = {"org": self.org.name, "method": "POST", "path": "/oauth/token"}
        try:
            await self.gate.sit_out_pause(max_pause=self._parent.limits.max_retry_after)
        except OrgPaused as paused:
            raise self._paused_error(paused, where) from None
        try:
            async with self._parent.session.post(
                url, data=form, headers=headers, allow_redirects=False, proxy=self._login_proxy
            ) as resp:
                raw = await _read_body(resp, where)
                status, location = resp.status, resp.headers.get("Location")
                correlation = bounded(resp.headers.get("ININ-Correlation-Id"), ID_CHARS)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _transport_error(exc, where, maybe_applied=False) from None
        if 300 <= status < 400:
            answer = Response(
                status,
                None,
                None,
                correlation,
                org=self.org.name,
                method="POST",
                path="/oauth/token",
                location=location,
            )
            raise redirected(answer, "not followed: it would carry the credentials", None)
        return status, parse_json(raw), correlation

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | Sequence[Any] | None,
        extra: Mapping[str, str] | None,
        token: str,
        resource_id: str | None,
        item_stats: HttpStats | None,
    ) -> Response:
        where = {"org": self.org.name, "method": method, "path": path, "config_id": resource_id}
        headers = {"Authorization": f"Bearer {token}", **(extra or {})}
        data = None
        if body is not None:
            data = jsontext.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        stats = self._parent.stats
        learned = False
        try:
            await self.gate.enter(max_pause=self._parent.limits.max_retry_after)
            try:
                if method in CHANGES and self._parent.writes_held():
                    raise WriteHeld(f"{method} {path}: not sent, new writes are stopped")
                stats.requests += 1
                if item_stats is not None:
                    item_stats.requests += 1
                async with self._parent.session.request(
                    method,
                    self.org.api_base + path,
                    proxy=self._api_proxy,
                    data=data,
                    headers=headers,
                    allow_redirects=False,  # see request(): followed only within the origin
                ) as resp:
                    raw = await _read_body(resp, where, maybe_applied=method in WRITES)
                    status = resp.status
                    correlation = bounded(resp.headers.get("ININ-Correlation-Id"), ID_CHARS)
                    etag = resp.headers.get("ETag")
                    retry_after = resp.headers.get("Retry-After")
                    content_type = resp.content_type
                    location = resp.headers.get("Location")
                    told = ratelimit_headers(resp.headers)
                    if told is not None:  # counted while this request still is, as the server does
                        learned = self.gate.learn(*told)
            finally:
                self.gate.leave()
        except OrgPaused as paused:
            raise self._paused_error(paused, where) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.answers[method, "error"] += 1
            raise _transport_error(exc, where, maybe_applied=method in WRITES) from None
        stats.answers[method, str(status)] += 1
        if 200 <= status < 300 and correlation and item_stats is not None and method in CHANGES:
            if item_stats.landed is None:
                item_stats.landed = []
            item_stats.landed.append(correlation)
        listener = self._parent.listener
        if learned and listener is not None:
            await listener.limit_learned(self.org.name, self.gate.limit, self.gate.configured)
        if 200 <= status < 400:
            return Response(
                status,
                parse_json(raw),
                etag,
                correlation,
                org=self.org.name,
                method=method,
                path=path,
                content_type=content_type,
                size=len(raw),
                location=location,
            )
        error = api_error(status, parse_json(raw), correlation, retry_after, where)
        self._count(error, item_stats)
        if isinstance(error, errors.RateLimited):
            self._last_429 = correlation
            self.gate.pause(error.retry_after)
            if listener is not None:
                await listener.paused(self.org.name, error.retry_after)
        raise error

    def _paused_error(self, paused: OrgPaused, where: Mapping[str, Any]) -> errors.RateLimited:
        return errors.RateLimited(
            f"org paused by an earlier 429 for {paused.remaining:.0f} s more",
            retry_after=paused.remaining,
            status=429,
            code="too.many.requests.retry.after",
            correlation_id=self._last_429,
            **where,
        )

    def _count(self, error: errors.ApiError, item_stats: HttpStats | None) -> None:
        for stats in (self._parent.stats, item_stats):
            if stats is None:
                continue
            if isinstance(error, errors.Conflict):
                stats.conflicts += 1
            elif isinstance(error, errors.RateLimited):
                stats.rate_limited += 1
            elif isinstance(error, errors.ServerError):
                stats.server_errors += 1


async def _read_body(
    resp: aiohttp.ClientResponse, where: Mapping[str, Any], *, maybe_applied: bool = False
) -> bytes:
    length = resp.content_length
    if length is not None and length > MAX_BODY:
        raise _too_large(f"response of {length} bytes refused", resp, where, maybe_applied)
    if length is not None:
        return await resp.read()
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large("response refused", resp, where, maybe_applied)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(
    what: str, resp: aiohttp.ClientResponse, where: Mapping[str, Any], maybe_applied: bool
) -> errors.ResponseTooLarge:
    return errors.ResponseTooLarge(
        f"{what} (limit {MAX_BODY} bytes)",
        maybe_applied=maybe_applied,  # a write was answered: it may have been applied
        status=resp.status,
        correlation_id=bounded(resp.headers.get("ININ-Correlation-Id"), ID_CHARS),
        **where,
    )


def _transport_error(
    exc: BaseException, where: Mapping[str, Any], *, maybe_applied: bool
) -> errors.TransportError:
    if isinstance(exc, TimeoutError):
        what, code = "no answer within the request timeout", "timeout"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        what, code = "the server closed the connection without answering", "disconnected"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        what, code = f"cannot connect: {exc.os_error.strerror or exc}", "unreachable"
        maybe_applied = False  # no connection, so nothing was sent
    else:
        what, code = f"connection failed: {type(exc).__name__}: {exc}", "connection"
    if maybe_applied:
        what += " (the write may or may not have been applied)"
    return errors.TransportError(
        redact(what), maybe_applied=maybe_applied, code=code, status=None, **where
    )
