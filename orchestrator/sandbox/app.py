"""The aiohttp application: routes, and the envelope every request passes.

For each request the envelope reserves a log slot, stamps a correlation id,
and for ``/api/...`` runs the gate in this order:

1. authenticate the bearer token (401 ``authentication.required``,
   ``bad.credentials``, ``credentials.expired``);
2. the 429-burst fault, then the sliding rate window, both at arrival time;
3. the latency fault (the only wait before handling);
4. read the body of a write, so the handlers never await;
5. the 5xx fault.

Handlers are synchronous from there on: the check of an ETag and the write it
guards happen in one step of the event loop.
"""

from __future__ import annotations

import email.utils
import math
import time
import uuid
from collections.abc import Awaitable, Callable

import anyio
from aiohttp import web

from orchestrator.sandbox import admin, assistants, checklists, configs, copilot, oauth, queues
from orchestrator.sandbox.api_errors import ApiFailure, not_found, server_error
from orchestrator.sandbox.exchange import EXCHANGE, WORLD, Dropped, Exchange
from orchestrator.sandbox.ratelimit import SlidingWindow
from orchestrator.sandbox.resources import OrgState
from orchestrator.sandbox.world import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORRELATION_HEADER = "ININ-Correlation-Id"
# Content may be 256 KiB serialized; a larger body must still reach the
# validator to be refused with 400 invalid.value rather than 413.
MAX_BODY = 4 * 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SERVER_ERRORS = (500, 502, 503, 504)


def build_app(world: World) -> web.Application:
    """The sandbox's application, serving ``world``."""
    app = web.Application(middlewares=[_envelope], client_max_size=MAX_BODY)
    app[WORLD] = world
    app.router.add_routes(oauth.routes)
    app.router.add_routes(configs.routes)
    # Before the assistants': /assistants/agentchecklists would match /assistants/{id}.
    app.router.add_routes(checklists.routes)
    app.router.add_routes(copilot.routes)
    app.router.add_routes(queues.routes)
    app.router.add_routes(assistants.routes)
    app.router.add_routes(admin.routes)
    app.router.add_route("*", "/{tail:.*}", _unknown)
    return app


_WINDOW = web.RequestKey("window", tuple)


async def _unknown(request: web.Request) -> web.StreamResponse:
    raise not_found(f"{request.method} {request.path}")


@web.middleware
async def _envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith(admin.PREFIX):
        return await handler(request)
    world = request.app[WORLD]
    ex = Exchange(
        time=world.clock(),
        method=request.method,
        path=path,
        query=request.query_string,
        if_match=request.headers.get("If-Match"),
        correlation_id=str(uuid.uuid4()),
    )
    info = request.match_info
    ex.resource_id = info.get("config_id") or info.get("assistant_id") or info.get("checklist_id")
    request[EXCHANGE] = ex
    seq = world.log.reserve()
    try:
        try:
            if path.startswith("/api/"):
                await _gate(world, request, ex)
            response = await handler(request)
        except ApiFailure as failure:
            response = failure.response(ex.correlation_id)
        except Dropped:
            ex.dropped = True
            if request.transport is not None:
                request.transport.abort()
            # Writing to the aborted transport fails quietly inside aiohttp,
            # which treats it as the client having gone away.
            return web.Response(status=204)
        ex.status = response.status
        response.headers[CORRELATION_HEADER] = ex.correlation_id
        _tell_the_limit(request, response, ex.time)
        return response
    finally:
        world.log.fill(seq, ex.record())


def _tell_the_limit(request: web.Request, response: web.StreamResponse, now: float) -> None:
    """``inin-ratelimit-*`` on every answer of a token with a limit (api.md 4)."""
    known = request.get(_WINDOW)
    if known is None or "inin-ratelimit-allowed" in response.headers:
        return
    org, window = known
    limit = org.requests_per_minute
    if limit is None or org.faults.ratelimit_headers_on_429_only:
        return
    response.headers["inin-ratelimit-allowed"] = str(limit)
    response.headers["inin-ratelimit-count"] = str(len(window))
    response.headers["inin-ratelimit-reset"] = str(window.reset(now))


def _authenticate(world: World, request: web.Request, now: float) -> tuple[OrgState, SlidingWindow]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiFailure(401, "authentication.required", "No authentication bearer token specified")
    state = world.tokens.get(token.strip())
    if state is None:
        raise ApiFailure(401, "bad.credentials", "Invalid login credentials")
    if now >= state.expires_at:
        raise ApiFailure(401, "credentials.expired", "The bearer token has expired")
    return state.org, state.window


async def _gate(world: World, request: web.Request, ex: Exchange) -> None:
    now = ex.time
    refusal: ApiFailure | None = None
    org: OrgState | None = None
    try:
        org, window = _authenticate(world, request, now)
        ex.org = org
        request[_WINDOW] = (org, window)
        refusal = _throttled(org) or _over_limit(org, window, now)
    except ApiFailure as failure:
        refusal = failure
    key = ex.resource_id or ex.path
    if org is not None and org.faults.latency > 0:
        await anyio.sleep(org.dice.stream("latency", key).uniform(0.0, org.faults.latency))
    if request.method in _BODY_METHODS:
        try:
            ex.take_body(await request.read())
        except web.HTTPRequestEntityTooLarge:
            refusal = refusal or ApiFailure(
                413, "request.entity.too.large", "The body is too large"
            )
    if refusal is not None:
        raise refusal
    assert org is not None
    if org.dice.chance(org.faults.server_error_rate, "5xx", key):
        raise server_error(org.dice.stream("5xx", key).choice(_SERVER_ERRORS))


def _too_many(retry_after: int, *, allowed: int | None, count: int, http_date: bool) -> ApiFailure:
    if http_date:
        # Rounded up so that a client reading the date never retries early.
        header = email.utils.formatdate(math.ceil(time.time() + retry_after), usegmt=True)
    else:
        header = str(retry_after)
    headers = {"Retry-After": header, "inin-ratelimit-reset": str(retry_after)}
    if allowed is not None:
        headers["inin-ratelimit-allowed"] = str(allowed)
        headers["inin-ratelimit-count"] = str(count)
    return ApiFailure(
        429,
        "too.many.requests.retry.after",
        f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds",
        headers=headers,
    )


def _throttled(org: OrgState) -> ApiFailure | None:
    """The 429-burst fault: org-wide, so it follows arrival order."""
    faults = org.faults
    org.api_requests += 1
    if org.throttle_left == 0:
        on_cue = faults.throttle_at == org.api_requests
        if not on_cue and not org.dice.chance(faults.throttle_rate, "throttle"):
            return None
        org.throttle_left = faults.throttle_burst
    org.throttle_left -= 1
    retry_after = math.ceil(faults.throttle_retry_after)
    limit = org.requests_per_minute
    count = limit + 1 if limit is not None else 0
    return _too_many(retry_after, allowed=limit, count=count, http_date=faults.throttle_http_date)


def _over_limit(org: OrgState, window: SlidingWindow, now: float) -> ApiFailure | None:
    limit = org.requests_per_minute
    retry_after = window.admit(now, limit)
    if retry_after is None or limit is None:
        return None
    http_date = org.faults.throttle_http_date
    return _too_many(retry_after, allowed=limit, count=len(window) + 1, http_date=http_date)
