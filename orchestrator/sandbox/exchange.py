"""One request in flight: what the envelope learnt, what the handler adds.

It becomes a ``RequestRecord`` when the request completes, whatever way it
completes (answer, error, dropped connection, cancellation).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from orchestrator.sandbox.api_errors import (
    ApiFailure,
    bad_request,
    invalid_values,
    missing_permission,
)
from orchestrator.sandbox.records import RequestRecord
from orchestrator.sandbox.resources import OrgState
from orchestrator.sandbox.world import World

WORLD = web.AppKey("world", World)


class Dropped(Exception):
    """The handler applied a write and wants the connection cut, unanswered."""


class Exchange:
    """Mutable per-request context, turned into a frozen record at the end."""

    __slots__ = (
        "applied",
        "body",
        "body_error",
        "correlation_id",
        "dropped",
        "if_match",
        "method",
        "org",
        "path",
        "query",
        "resource_id",
        "status",
        "time",
    )

    def __init__(
        self,
        *,
        time: float,
        method: str,
        path: str,
        query: str,
        if_match: str | None,
        correlation_id: str,
    ) -> None:
        self.time = time
        self.method = method
        self.path = path
        self.query = query
        self.if_match = if_match
        self.correlation_id = correlation_id
        self.org: OrgState | None = None
        self.status: int | None = None
        self.applied = False
        self.dropped = False
        self.resource_id: str | None = None
        self.body: Any = None
        self.body_error: str | None = None

    def take_body(self, raw: bytes) -> None:
        """Parse a request body once; handlers decide whether a failure matters."""
        if not raw:
            self.body_error = "The request body is empty; a JSON object is required"
            return
        try:
            self.body = json.loads(raw)
        except ValueError:
            self.body_error = "The request body is not valid JSON"

    def json_body(self) -> Any:
        """The parsed body.

        Raises:
            ApiFailure: 400 bad.request when it was absent or not JSON.
        """
        if self.body_error is not None:
            raise bad_request(self.body_error)
        return self.body

    def require_org(self) -> OrgState:
        """The caller's org (the gate has authenticated every API request)."""
        if self.org is None:
            raise ApiFailure(401, "authentication.required", "No authentication bearer token")
        return self.org

    def require(self, permission: str) -> OrgState:
        """The caller's org, once it is known to hold ``permission``.

        Raises:
            ApiFailure: 403 missing.permissions.
        """
        org = self.require_org()
        if permission not in org.permissions:
            raise missing_permission(permission)
        return org

    def record(self) -> RequestRecord:
        """The frozen record of this request."""
        return RequestRecord(
            time=self.time,
            method=self.method,
            path=self.path,
            query=self.query,
            org=self.org.name if self.org is not None else None,
            status=self.status,
            if_match=self.if_match,
            correlation_id=self.correlation_id,
            applied=self.applied,
            dropped=self.dropped,
            resource_id=self.resource_id,
            body=self.body,
        )


EXCHANGE = web.RequestKey("exchange", Exchange)


def exchange(request: web.Request) -> Exchange:
    """The exchange the envelope attached to ``request``."""
    return request[EXCHANGE]


def world(request: web.Request) -> World:
    """The world the application serves."""
    return request.app[WORLD]


def page_size(request: web.Request, org: OrgState, default: int = 25) -> int:
    """``pageSize`` from the query, capped by the org's page-size fault."""
    size = positive_int(request, "pageSize", default)
    cap = org.faults.page_size_cap
    return min(size, cap) if cap is not None else size


def is_number(text: str) -> bool:
    """Plain ASCII digits: what ``int`` reads as a non-negative number here."""
    return text.isascii() and text.isdigit()


def positive_int(request: web.Request, name: str, default: int) -> int:
    """A positive integer query parameter.

    Raises:
        ApiFailure: 400 invalid.value naming the parameter.
    """
    text = request.query.get(name)
    if text is None:
        return default
    if not is_number(text) or int(text) < 1:
        raise invalid_values([(name, "must be a positive integer")])
    return int(text)
