"""OAuth client credentials (api.md section 2): one token per org, reused until near expiry.

The token endpoint answers in OAuth's format, not Genesys's, and says "rate
limit" with a 400 rather than a 429; that refusal is retried with backoff.

What the endpoint says is checked, not trusted: a token must be usable as a
header value, and a lifetime that is not a positive number (``0``, ``-5``,
``"abc"``, NaN) means "refresh soon", never "keep it a day" nor "fetch one
per request"; any lifetime is held between :data:`MIN_LIFETIME` and
:data:`MAX_LIFETIME`. Every form of the credentials the request carries is
registered for redaction before it leaves, so an endpoint that echoes the
``Authorization`` header cannot put it into a report.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from orchestrator import errors
from orchestrator.genesys.answers import ID_CHARS, MESSAGE_CHARS, bounded, finite
from orchestrator.genesys.retry import Budget, backoff_delay
from orchestrator.logs import get_logger, register_secret
from orchestrator.models import Limits, Org

_log = get_logger()

# Refresh a token this long before the server says it expires.
TOKEN_EARLY = 60.0
MIN_LIFETIME = 30.0  # also what an absent or absurd expires_in gets: refresh soon
MAX_LIFETIME = 172800.0  # api.md: lifetimes run from 5 min to 48 h
# An access token goes into a header as it is: visible ASCII only (RFC 6750 b64token and more).
_USABLE_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")

# Sends the token request: (url, headers, form body) -> (status, parsed JSON, correlation id).
PostForm = Callable[[str, Mapping[str, str], str], Awaitable[tuple[int, Any, str | None]]]


class TokenSource:
    """The access token of one org: fetched once, shared, refreshed before it expires."""

    def __init__(self, org: Org, limits: Limits, post: PostForm) -> None:
        self._org = org
        self._limits = limits
        self._post = post
        self._token: str | None = None
        self._expires = 0.0
        self._lock = anyio.Lock()
        self._basic = base64.b64encode(f"{org.client_id}:{org.client_secret}".encode()).decode()
        register_secret(org.client_secret)
        register_secret(self._basic)  # the Authorization header, should anything echo it

    async def get(self) -> str:
        """A valid access token."""
        if self._token is not None and time.monotonic() < self._expires:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                refresh = self._expires > 0.0
                self._token, seconds = await self._fetch()
                what = "token refreshed" if refresh else "token fetched"
                _log.info(what, org=self._org.name, expires_in=round(seconds))
                early = min(TOKEN_EARLY, seconds / 10)
                self._expires = time.monotonic() + seconds - early
            return self._token

    def forget(self, token: str) -> None:
        """``token`` was refused (401): the next :meth:`get` fetches a new one."""
        if self._token == token:
            _log.info("token refused, fetching a new one", org=self._org.name)
            self._token = None
            self._expires = 0.001  # the next fetch is a refresh

    async def _fetch(self) -> tuple[str, float]:
        budget = Budget(self._limits.attempts)
        while True:
            try:
                return await self._request()
            except errors.BadRequest as exc:
                if "rate limit" not in exc.detail.lower() or not budget.spend():
                    raise
                await anyio.sleep(backoff_delay(self._limits.backoff, budget.used))

    async def _request(self) -> tuple[str, float]:
        org = self._org
        headers = {
            "Authorization": f"Basic {self._basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, data, correlation = await self._post(
            f"{org.login_base}/oauth/token", headers, "grant_type=client_credentials"
        )
        where = {"org": org.name, "method": "POST", "path": "/oauth/token"}
        token = data.get("access_token") if isinstance(data, dict) else None
        if isinstance(token, str):
            register_secret(token)  # even one refused below: it may be real
        if status == 200:
            if not isinstance(token, str) or _USABLE_TOKEN.fullmatch(token) is None:
                raise errors.MalformedAnswer(
                    "HTTP 200 answer to the token request holds no usable access_token",
                    status=status,
                    correlation_id=correlation,
                    **where,
                )
            return token, lifetime(data.get("expires_in"))
        description = data.get("error_description") if isinstance(data, dict) else None
        code = data.get("error") if isinstance(data, dict) else None
        kind = errors.BadRequest if status == 400 else errors.AuthenticationFailed
        raise kind(
            bounded(description or f"token request refused with HTTP {status}", MESSAGE_CHARS)
            or "",
            status=status,
            code=bounded(code or "token.refused", ID_CHARS),
            correlation_id=correlation,
            **where,
        )


def lifetime(expires_in: object) -> float:
    """Seconds to keep a token, from the ``expires_in`` the token endpoint gave."""
    seconds = finite(expires_in)
    if seconds is None or seconds <= 0:
        return MIN_LIFETIME
    return min(max(seconds, MIN_LIFETIME), MAX_LIFETIME)
