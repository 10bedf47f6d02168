"""Unauthenticated control endpoints for curl users, under ``/sandbox/``.

They are not part of the Genesys API and are not written to the request log.

==========================  =====================================================
``GET /sandbox/orgs``         every org: name, org id, client id, rate limit,
                              permissions, config and assistant ids
``PATCH /sandbox/orgs/{org}`` ``{"requests_per_minute": 600 | null,
                              "permissions": [...]}``; either key may be left out
``GET /sandbox/requests``     the request log (``?org=NAME`` to filter)
``DELETE /sandbox/requests``  clear the request log
``GET /sandbox/faults/{org}`` the org's faults
``PUT /sandbox/faults/{org}`` replace them; keys as in a faults file, unnamed
                              keys fall back to "off"
==========================  =====================================================

Example: ``curl -X PATCH localhost:8787/sandbox/orgs/canary -d
'{"requests_per_minute": null}'`` lifts canary's rate limit.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from orchestrator.sandbox.exchange import world
from orchestrator.sandbox.faults import parse_faults
from orchestrator.sandbox.resources import OrgState
from orchestrator.sandbox.seed_unversioned import PERMISSIONS
from orchestrator.sandbox.world import World

PREFIX = "/sandbox/"

routes = web.RouteTableDef()


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, indent=2).encode(), status=status, content_type="application/json"
    )


def _org(w: World, request: web.Request) -> OrgState:
    name = request.match_info["org"]
    if name not in w.orgs:
        raise web.HTTPNotFound(text=f"no org {name!r}\n")
    return w.orgs[name]


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON\n") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object\n")
    return body


@routes.get(PREFIX + "orgs")
async def orgs(request: web.Request) -> web.StreamResponse:
    """Every org and what it holds."""
    return _json(
        [
            {
                "name": org.name,
                "org_id": org.org_id,
                "client_id": org.client_id,
                "requests_per_minute": org.requests_per_minute,
                "permissions": sorted(org.permissions),
                "configs": list(org.configs),
                "assistants": list(org.assistants),
            }
            for org in world(request).orgs.values()
        ]
    )


@routes.patch(PREFIX + "orgs/{org}")
async def patch_org(request: web.Request) -> web.StreamResponse:
    """Change an org's rate limit or permissions."""
    org = _org(world(request), request)
    body = await _body(request)
    if "requests_per_minute" in body:
        rpm = body["requests_per_minute"]
        if rpm is not None and (not isinstance(rpm, int) or isinstance(rpm, bool) or rpm < 1):
            raise web.HTTPBadRequest(text="requests_per_minute: a positive integer or null\n")
        org.requests_per_minute = rpm
    if "permissions" in body:
        perms = body["permissions"]
        if not isinstance(perms, list) or not set(perms) <= set(PERMISSIONS):
            raise web.HTTPBadRequest(text=f"permissions: a list drawn from {PERMISSIONS}\n")
        org.permissions = frozenset(perms)
    return _json(
        {
            "name": org.name,
            "requests_per_minute": org.requests_per_minute,
            "permissions": sorted(org.permissions),
        }
    )


@routes.get(PREFIX + "requests")
async def requests(request: web.Request) -> web.StreamResponse:
    """The request log, arrival order."""
    only = request.query.get("org")
    records = [
        dataclasses.asdict(r) for r in world(request).log.records() if only is None or r.org == only
    ]
    return _json(records)


@routes.delete(PREFIX + "requests")
async def clear_requests(request: web.Request) -> web.StreamResponse:
    """Forget the request log."""
    world(request).log.clear()
    return web.Response(status=204)


@routes.get(PREFIX + "faults/{org}")
async def get_faults(request: web.Request) -> web.StreamResponse:
    """An org's faults."""
    return _json(dataclasses.asdict(_org(world(request), request).faults))


@routes.put(PREFIX + "faults/{org}")
async def put_faults(request: web.Request) -> web.StreamResponse:
    """Replace an org's faults."""
    w = world(request)
    org = _org(w, request)
    faults, problems = parse_faults(await _body(request), file="request", path=org.name)
    if problems:
        return _json({"problems": [str(p) for p in problems]}, status=400)
    w.set_faults(org, faults)
    return _json(dataclasses.asdict(faults))
