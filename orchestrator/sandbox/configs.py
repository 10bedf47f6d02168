"""Kind ``agentassist-config``: resource, write, history, propagation (api.md 5).

``put_config`` is the heart of the sandbox. From the ETag comparison to the
stored version nothing awaits, so two PUTs carrying the same ETag cannot both
pass the check: exactly one wins.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from aiohttp import web

from orchestrator.sandbox.api_errors import ApiFailure, invalid_values, not_found
from orchestrator.sandbox.bodies import config_fields
from orchestrator.sandbox.exchange import (
    Dropped,
    exchange,
    is_number,
    page_size,
    positive_int,
    world,
)
from orchestrator.sandbox.resources import ConfigState, OrgState, Version, user_ref

routes = web.RouteTableDef()

READ = "agentassist:config:read"
WRITE = "agentassist:config:write"
BASE = "/api/v2/agentassist/configs/{config_id}"


def _config(org: OrgState, config_id: str) -> ConfigState:
    try:
        return org.configs[config_id]
    except KeyError:
        raise not_found(f"Agent Assist config {config_id}") from None


def _answer(version: Version, *, etag: bool) -> web.Response:
    headers = {"ETag": version.etag} if etag else None
    return web.Response(body=version.raw, content_type="application/json", headers=headers)


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


@routes.get(BASE)
async def get_config(request: web.Request) -> web.StreamResponse:
    """The current version, with its ETag."""
    org = exchange(request).require(READ)
    return _answer(_config(org, request.match_info["config_id"]).current, etag=True)


def _stale(org: OrgState) -> ApiFailure:
    if org.faults.conflict_status == 412:
        return ApiFailure(412, "precondition.failed", "If-Match does not match the current ETag")
    return ApiFailure(
        409,
        "general.resource.conflict",
        "The resource was modified: If-Match is not the current ETag",
    )


def _version_mismatch(org: OrgState, sent: int, current: int) -> ApiFailure:
    message = f"The version {sent} does not match the current version {current}; send {current + 1}"
    if org.faults.version_mismatch_as_400:
        return ApiFailure(400, "bad.request", message)
    return ApiFailure(409, "version.mismatch", message)


@routes.put(BASE)
async def put_config(request: web.Request) -> web.StreamResponse:
    """Write a new version, guarded by If-Match and the body's version."""
    ex, w = exchange(request), world(request)
    org = ex.require(WRITE)
    config = _config(org, request.match_info["config_id"])
    body = ex.json_body()
    if_match = ex.if_match
    if if_match is None or not if_match.strip() or if_match.strip() == "*":
        raise ApiFailure(
            428, "precondition.required", "This request requires an If-Match header with the ETag"
        )
    fields = config_fields(body)
    # From here to the stored version there is no await (see module docstring).
    w.race_config(org, config)
    current = config.current
    if if_match.strip() != current.etag:
        raise _stale(org)
    if fields["version"] != current.number + 1:
        raise _version_mismatch(org, fields["version"], current.number)
    version = w.write_config(org, config, fields, by=org.client_user)
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", config.id):
        raise Dropped
    return _answer(version, etag=True)


@routes.get(BASE + "/versions")
async def list_versions(request: web.Request) -> web.StreamResponse:
    """Kept versions, newest first, page by page."""
    org = exchange(request).require(READ)
    config = _config(org, request.match_info["config_id"])
    size = page_size(request, org)
    number = positive_int(request, "pageNumber", 1)
    newest_first = config.versions[::-1]
    page = newest_first[(number - 1) * size : number * size]
    return _json(
        {
            "entities": [
                {
                    "id": str(v.number),
                    "version": v.number,
                    "dateCreated": v.date,
                    "createdBy": user_ref(v.by),
                }
                for v in page
            ],
            "pageSize": size,
            "pageNumber": number,
            "total": len(newest_first),
            "pageCount": math.ceil(len(newest_first) / size),
        }
    )


@routes.get(BASE + "/versions/{version_id}")
async def get_version(request: web.Request) -> web.StreamResponse:
    """One kept version as it was; 404 if pruned or never written."""
    org = exchange(request).require(READ)
    config = _config(org, request.match_info["config_id"])
    text = request.match_info["version_id"]
    version = config.find(int(text)) if is_number(text) else None
    if version is None:
        raise not_found(f"Version {text} of Agent Assist config {config.id}")
    return _answer(version, etag=False)


def _conversations(config_id: str, version: int) -> int:
    digest = hashlib.sha256(f"{config_id}:{version}".encode()).digest()
    return 20 + int.from_bytes(digest[:2], "big") % 480


@routes.post("/api/v2/analytics/agentassist/conversations/query")
async def propagation(request: web.Request) -> web.StreamResponse:
    """Which version live conversations use; lags writes by the propagation delay."""
    ex, w = exchange(request), world(request)
    org = ex.require(READ)
    body = ex.json_body()
    filters = body.get("filter") if isinstance(body, dict) else None
    config_id = filters.get("configId") if isinstance(filters, dict) else None
    if not isinstance(config_id, str):
        raise invalid_values([("filter.configId", "a config id is required")])
    config = _config(org, config_id)
    active = config.active_version(w.clock())
    result = {
        "configId": config.id,
        "activeVersion": active,
        "conversationCount": _conversations(config.id, active),
    }
    return _json({"results": [result]})
