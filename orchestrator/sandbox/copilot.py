"""An assistant's copilot: GET and a full-replace PUT (api.md 6, "The whole assistant").

``defaultLanguage`` cannot change once set: a PUT that changes it is
``400 invalid.value``. ``selfUri`` in the body is ignored.
"""

from __future__ import annotations

from aiohttp import web

from orchestrator.sandbox.assistants import as_json, find
from orchestrator.sandbox.bodies import copilot_fields
from orchestrator.sandbox.exchange import Dropped, exchange, world
from orchestrator.sandbox.resources import ASSISTANTS_PATH

routes = web.RouteTableDef()

VIEW = "assistants:copilot:view"
EDIT = "assistants:copilot:edit"
PATH = ASSISTANTS_PATH + "/{assistant_id}/copilot"


@routes.get(PATH)
async def get_copilot(request: web.Request) -> web.StreamResponse:
    """The copilot as a reader sees it (possibly lagging a recent PUT)."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    assistant = find(org, request.match_info["assistant_id"])
    return as_json(assistant.visible_copilot(w.clock(), org.faults.assistant_read_lag))


@routes.put(PATH)
async def put_copilot(request: web.Request) -> web.StreamResponse:
    """Replace the copilot whole; answer the new copilot."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    assistant = find(org, request.match_info["assistant_id"])
    fields = copilot_fields(ex.json_body(), assistant.copilot, assistant.extra["copilot"])
    w.race_assistant(org, assistant)
    body = w.put_copilot(org, assistant, fields, by=org.client_user)
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", assistant.id):
        raise Dropped
    return as_json(body)
