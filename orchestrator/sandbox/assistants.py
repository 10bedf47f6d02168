"""Kind ``assistant``: GET (``expand=copilot``), PATCH and the cursor listing (api.md 6).

No ETag guards an assistant: a PATCH merges whatever it is given. The
read-lag fault makes a GET (and the listing) serve the body as it was a
moment ago, as a cache in front of the real API does.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from orchestrator.sandbox.api_errors import invalid_values, not_found
from orchestrator.sandbox.bodies import assistant_fields
from orchestrator.sandbox.exchange import Dropped, Exchange, exchange, world
from orchestrator.sandbox.paging import page
from orchestrator.sandbox.resources import ASSISTANTS_PATH, OrgState
from orchestrator.sandbox.unversioned import AssistantState

routes = web.RouteTableDef()

VIEW = "assistants:assistant:view"
EDIT = "assistants:assistant:edit"
COPILOT_VIEW = "assistants:copilot:view"
_EXPANSIONS = frozenset({"copilot"})


def find(org: OrgState, assistant_id: str) -> AssistantState:
    """An assistant of ``org``, or 404 not.found."""
    try:
        return org.assistants[assistant_id]
    except KeyError:
        raise not_found(f"Assistant {assistant_id}") from None


def as_json(body: Any) -> web.Response:
    """A 200 answer with a JSON body."""
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


def _expand(request: web.Request, ex: Exchange) -> bool:
    """Whether ``expand`` asks for the copilot (which needs its own view permission)."""
    wanted = {e for e in request.query.get("expand", "").split(",") if e}
    if wanted - _EXPANSIONS:
        raise invalid_values([("expand", "may only be copilot")])
    if wanted:
        ex.require(COPILOT_VIEW)
    return bool(wanted)


@routes.get(ASSISTANTS_PATH + "/{assistant_id}")
async def get_assistant(request: web.Request) -> web.StreamResponse:
    """The assistant as a reader sees it (possibly lagging a recent write)."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    assistant = find(org, request.match_info["assistant_id"])
    expand = _expand(request, ex)
    return as_json(assistant.visible(w.clock(), org.faults.assistant_read_lag, expand=expand))


@routes.patch(ASSISTANTS_PATH + "/{assistant_id}")
async def patch_assistant(request: web.Request) -> web.StreamResponse:
    """Merge the given top-level fields (null removes one); answer the whole new assistant."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    assistant = find(org, request.match_info["assistant_id"])
    fields = assistant_fields(ex.json_body(), assistant.extra["assistant"])
    w.race_assistant(org, assistant)
    if not fields:
        return as_json(assistant.body)  # nothing to merge: no write, no new dateModified
    body = assistant.patch(fields, by=org.client_user, now=w.clock())
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", assistant.id):
        raise Dropped
    return as_json(body)


@routes.get(ASSISTANTS_PATH)
async def list_assistants(request: web.Request) -> web.StreamResponse:
    """The org's assistants, ``pageSize`` at a time, with an ``after`` cursor."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    expand = _expand(request, ex)
    query = "&expand=copilot" if expand else ""
    ids, body = page(request, org, list(org.assistants), ASSISTANTS_PATH, query)
    now, lag = w.clock(), org.faults.assistant_read_lag
    body["entities"] = [org.assistants[a].visible(now, lag, expand=expand) for a in ids]
    return as_json(body)
