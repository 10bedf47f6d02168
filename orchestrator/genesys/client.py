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
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import anyio

from orchestrator import errors
from orchestrator.genesys.pacing import OrgGate, OrgPaused
from orchestrator.genesys.retry import parse_retry_after
from orchestrator.genesys.tokens import TokenSource
from orchestrator.logs import redact
from orchestrator.models import Limits, Org

MAX_BODY = 8 * 1024 * 1024  # a config is at most 256 KiB; anything near this is wrong
USER_AGENT = "orchestrator/0.1 (+https://github.com/; rollback tool)"
WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
DEFAULT_RETRY_AFTER = 1.0


@dataclass(slots=True)
class HttpStats:
    """Counts for the report's ``http`` section (for a run, or one item)."""

    requests: int = 0
    retries: int = 0
    conflicts: int = 0
    rate_limited: int = 0
    server_errors: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """A 2xx answer, parsed."""

    status: int
    body: Any
    etag: str | None
    correlation_id: str | None


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
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )
    # aiohttp silently re-sends an idempotent request (PUT included) once when
    # a reused connection drops. That spends rate budget and hides a write
    # whose outcome is unknown; the worker must decide after a re-read.
    # There is no public switch (aio-libs/aiohttp#10790); tests guard this.
    session._retry_connection = False
    return session


class Client:
    """Shared by every org of one run."""

    def __init__(self, session: aiohttp.ClientSession, limits: Limits) -> None:
        self.session = session
        self.limits = limits
        self.stats = HttpStats()
        self._shared = anyio.CapacityLimiter(limits.concurrency)
        self._orgs: dict[str, OrgClient] = {}

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
            )
            client = self._orgs[org.name] = OrgClient(self, org, gate)
        return client


class OrgClient:
    """Requests to one org with its own token, quota and pause."""

    def __init__(self, parent: Client, org: Org, gate: OrgGate) -> None:
        self.org = org
        self.gate = gate
        self._parent = parent
        self._tokens = TokenSource(org, parent.limits, self._post_form)
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
        for refreshed in (False, True):
            token = await self._tokens.get()
            try:
                return await self._send(method, path, body, headers, token, resource_id, stats)
            except errors.AuthenticationFailed:
                if refreshed:
                    raise
                self._tokens.forget(token)
        raise AssertionError("unreachable")

    async def _post_form(
        self, url: str, headers: Mapping[str, str], form: str
    ) -> tuple[int, Any, str | None]:
        """The token request: not paced (the token endpoint has its own limit)."""
        where = {"org": self.org.name, "method": "POST", "path": "/oauth/token"}
        try:
            async with self._parent.session.post(url, data=form, headers=headers) as resp:
                raw = await _read_body(resp, where)
                return resp.status, _parse_json(raw), resp.headers.get("ININ-Correlation-Id")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _transport_error(exc, where, maybe_applied=False) from None

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
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        stats = self._parent.stats
        try:
            ticket = await self.gate.enter(max_pause=self._parent.limits.max_retry_after)
            try:
                stats.requests += 1
                if item_stats is not None:
                    item_stats.requests += 1
                async with self._parent.session.request(
                    method, self.org.api_base + path, data=data, headers=headers
                ) as resp:
                    raw = await _read_body(resp, where)
                    status = resp.status
                    correlation = resp.headers.get("ININ-Correlation-Id")
                    etag = resp.headers.get("ETag")
                    retry_after = resp.headers.get("Retry-After")
            finally:
                self.gate.leave(ticket)
        except OrgPaused as paused:
            raise errors.RateLimited(
                f"org paused by an earlier 429 for {paused.remaining:.0f} s more",
                retry_after=paused.remaining,
                status=429,
                code="too.many.requests.retry.after",
                correlation_id=self._last_429,
                **where,
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _transport_error(exc, where, maybe_applied=method in WRITES) from None
        if 200 <= status < 300:
            return Response(status, _parse_json(raw), etag, correlation)
        error = _api_error(status, _parse_json(raw), correlation, retry_after, where)
        self._count(error, item_stats)
        if isinstance(error, errors.RateLimited):
            self._last_429 = correlation
            self.gate.pause(error.retry_after)
        raise error

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


async def _read_body(resp: aiohttp.ClientResponse, where: Mapping[str, Any]) -> bytes:
    length = resp.content_length
    if length is not None and length > MAX_BODY:
        raise errors.ResponseTooLarge(
            f"response of {length} bytes refused (limit {MAX_BODY})",
            status=resp.status,
            correlation_id=resp.headers.get("ININ-Correlation-Id"),
            **where,
        )
    if length is not None:
        return await resp.read()
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.ResponseTooLarge(
                f"response larger than {MAX_BODY} bytes refused",
                status=resp.status,
                correlation_id=resp.headers.get("ININ-Correlation-Id"),
                **where,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


_BY_STATUS: dict[int, type[errors.ApiError]] = {
    400: errors.BadRequest,
    401: errors.AuthenticationFailed,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Conflict,
    412: errors.Conflict,
    428: errors.BadRequest,
}


def _api_error(
    status: int,
    body: Any,
    correlation: str | None,
    retry_after: str | None,
    where: Mapping[str, Any],
) -> errors.ApiError:
    info = body if isinstance(body, dict) else {}
    message = redact(str(info.get("message") or f"HTTP {status}"))
    code = str(info.get("code") or f"http.{status}")
    correlation = correlation or info.get("contextId")
    common: dict[str, Any] = {"status": status, "code": code, "correlation_id": correlation}
    if status == 429:
        wait = parse_retry_after(retry_after)
        return errors.RateLimited(
            message,
            retry_after=DEFAULT_RETRY_AFTER if wait is None else wait,
            **common,
            **where,
        )
    if status == 400 and "does not match the current version" in message:
        return errors.Conflict(message, **common, **where)
    if status >= 500:
        return errors.ServerError(message, **common, **where)
    kind = _BY_STATUS.get(status, errors.ApiError)
    return kind(message, **common, **where)


def _transport_error(
    exc: BaseException, where: Mapping[str, Any], *, maybe_applied: bool
) -> errors.TransportError:
    if isinstance(exc, TimeoutError):
        what, code = "no answer within the request timeout", "timeout"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        what, code = "the server closed the connection without answering", "disconnected"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        what, code = f"cannot connect: {exc.os_error.strerror or exc}", "unreachable"
    else:
        what, code = f"connection failed: {type(exc).__name__}: {exc}", "connection"
    if maybe_applied:
        what += " (the write may or may not have been applied)"
    return errors.TransportError(
        redact(what), maybe_applied=maybe_applied, code=code, status=None, **where
    )
