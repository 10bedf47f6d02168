"""Error answers of the API (api.md section 3) as an exception handlers raise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aiohttp import web

SERVER_ERRORS: Mapping[int, tuple[str, str]] = {
    500: ("internal.server.error", "The server encountered an unexpected error."),
    502: ("service.unavailable", "Bad gateway: the upstream service did not answer."),
    503: ("service.unavailable", "The service is temporarily unavailable."),
    504: ("request.timeout", "The request timed out upstream."),
}


class ApiFailure(Exception):
    """A non-2xx answer with the Genesys JSON error body.

    Raised anywhere below the request envelope, which renders it with the
    request's correlation id as ``contextId``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.headers = dict(headers or {})

    def response(self, correlation_id: str) -> web.Response:
        """The HTTP answer, carrying ``correlation_id`` as ``contextId``."""
        body = {
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "contextId": correlation_id,
            "details": [dict(d) for d in self.details],
            "errors": [],
        }
        return web.Response(
            status=self.status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=self.headers,
        )


def not_found(what: str) -> ApiFailure:
    """404 not.found naming what is missing."""
    return ApiFailure(404, "not.found", f"{what} not found")


def bad_request(message: str) -> ApiFailure:
    """400 bad.request."""
    return ApiFailure(400, "bad.request", message)


def invalid_values(problems: Sequence[tuple[str, str]]) -> ApiFailure:
    """400 invalid.value: the message names the first field, details name all."""
    field, why = problems[0]
    return ApiFailure(
        400,
        "invalid.value",
        f"Invalid value for {field}: {why}",
        details=[{"errorCode": "invalid.value", "fieldName": f} for f, _ in problems],
    )


def invalid_properties(names: Sequence[str]) -> ApiFailure:
    """400 invalid.property with one details entry per offending key."""
    return ApiFailure(
        400,
        "invalid.property",
        "Unrecognized or read-only properties: " + ", ".join(names),
        details=[{"errorCode": "invalid.property", "fieldName": n} for n in names],
    )


def missing_permission(permission: str) -> ApiFailure:
    """403 missing.permissions; the message names the permission."""
    return ApiFailure(
        403,
        "missing.permissions",
        f"You are missing the following permission(s): {permission}",
    )


def server_error(status: int) -> ApiFailure:
    """A transient 5xx with the code that goes with the status."""
    code, message = SERVER_ERRORS[status]
    return ApiFailure(status, code, message)
