"""Agent checklists: the paged listing, GET and a full-replace PUT (api.md 6)."""

from __future__ import annotations

from aiohttp import web

from orchestrator.sandbox.api_errors import not_found
from orchestrator.sandbox.assistants import as_json
from orchestrator.sandbox.bodies import checklist_fields
from orchestrator.sandbox.exchange import Dropped, exchange, world
from orchestrator.sandbox.paging import page
from orchestrator.sandbox.resources import OrgState
from orchestrator.sandbox.unversioned import CHECKLISTS_PATH, ChecklistState

routes = web.RouteTableDef()

VIEW = "assistants:agentchecklist:view"
EDIT = "assistants:agentchecklist:edit"


def _find(org: OrgState, checklist_id: str) -> ChecklistState:
    try:
        return org.checklists[checklist_id]
    except KeyError:
        raise not_found(f"Agent checklist {checklist_id}") from None


@routes.get(CHECKLISTS_PATH)
async def list_checklists(request: web.Request) -> web.StreamResponse:
    """The org's checklists, ``pageSize`` at a time, with an ``after`` cursor."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    ids, body = page(request, org, list(org.checklists), CHECKLISTS_PATH)
    now, lag = w.clock(), org.faults.assistant_read_lag
    body["entities"] = [org.checklists[c].visible(now, lag) for c in ids]
    return as_json(body)


@routes.get(CHECKLISTS_PATH + "/{checklist_id}")
async def get_checklist(request: web.Request) -> web.StreamResponse:
    """The checklist as a reader sees it (possibly lagging a recent PUT)."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    checklist = _find(org, request.match_info["checklist_id"])
    return as_json(checklist.visible(w.clock(), org.faults.assistant_read_lag))


@routes.put(CHECKLISTS_PATH + "/{checklist_id}")
async def put_checklist(request: web.Request) -> web.StreamResponse:
    """Replace name, language and items; answer the whole new checklist."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    checklist = _find(org, request.match_info["checklist_id"])
    fields = checklist_fields(ex.json_body(), checklist.id, checklist.extra)
    w.race_checklist(org, checklist)
    body = w.put_checklist(org, checklist, fields, by=org.client_user)
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", checklist.id):
        raise Dropped
    return as_json(body)
