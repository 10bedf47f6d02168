"""OAuth client credentials (api.md section 2): one token per org, reused until near expiry.

The token endpoint answers in OAuth's format, not Genesys's, and says "rate
limit" with a 400 rather than a 429; that refusal is retried with backoff.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from orchestrator import errors
from orchestrator.genesys.retry import Budget, backoff_delay
from orchestrator.logs import get_logger, redact, register_secret
from orchestrator.models import Limits, Org

_log = get_logger()

# Refresh a token this long before the server says it expires.
TOKEN_EARLY = 60.0
DEFAULT_LIFETIME = 86400.0

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
        register_secret(org.client_secret)

    async def get(self) -> str:
        """A valid access token."""
        if self._token is not None and time.monotonic() < self._expires:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                refresh = self._expires > 0.0
                self._token, lifetime = await self._fetch()
                what = "token refreshed" if refresh else "token fetched"
                _log.info(what, org=self._org.name, expires_in=round(lifetime))
                early = min(TOKEN_EARLY, lifetime / 10)
                self._expires = time.monotonic() + lifetime - early
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
        basic = base64.b64encode(f"{org.client_id}:{org.client_secret}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, data, correlation = await self._post(
            f"{org.login_base}/oauth/token", headers, "grant_type=client_credentials"
        )
        if status == 200 and isinstance(data, dict) and isinstance(data.get("access_token"), str):
            token = data["access_token"]
            register_secret(token)
            return token, float(data.get("expires_in") or DEFAULT_LIFETIME)
        description = data.get("error_description") if isinstance(data, dict) else None
        code = data.get("error") if isinstance(data, dict) else None
        kind = errors.BadRequest if status == 400 else errors.AuthenticationFailed
        raise kind(
            redact(str(description or f"token request refused with HTTP {status}")),
            status=status,
            code=str(code or "token.refused"),
            correlation_id=correlation,
            org=org.name,
            method="POST",
            path="/oauth/token",
        )
