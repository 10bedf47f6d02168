"""Where an assistant is deployed: its queue bindings (api.md 6, kind ``assistant-queues``).

A queue is bound to at most one assistant. Binding one that is bound to
another assistant is refused with ``409 general.resource.conflict``, and
``GET /api/v2/routing/queues/{queueId}/assistant`` tells whose it is.
"""

from __future__ import annotations

from aiohttp import web

from orchestrator.sandbox.api_errors import bad_request, not_found
from orchestrator.sandbox.assistants import as_json, find
from orchestrator.sandbox.bodies import bindings
from orchestrator.sandbox.exchange import Dropped, Exchange, exchange, world
from orchestrator.sandbox.paging import page
from orchestrator.sandbox.resources import ASSISTANTS_PATH, OrgState
from orchestrator.sandbox.unversioned import AssistantState

routes = web.RouteTableDef()

VIEW = "assistants:queue:view"
EDIT = "assistants:queue:edit"
DELETE = "assistants:queue:delete"
PATH = ASSISTANTS_PATH + "/{assistant_id}/queues"
ONE = PATH + "/{queue_id}"


def _applied(ex: Exchange, org: OrgState, assistant: AssistantState) -> None:
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", assistant.id):
        raise Dropped


@routes.get(PATH)
async def list_bindings(request: web.Request) -> web.StreamResponse:
    """The assistant's bindings, ``pageSize`` at a time, with an ``after`` cursor."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    assistant = find(org, request.match_info["assistant_id"])
    seen = assistant.visible_bindings(w.clock(), org.faults.assistant_read_lag)
    by_id = {b["id"]: b for b in seen}
    path = PATH.format(assistant_id=assistant.id)
    ids, body = page(request, org, list(by_id), path)
    body["entities"] = [by_id[q] for q in ids]
    return as_json(body)


@routes.patch(PATH)
async def patch_bindings(request: web.Request) -> web.StreamResponse:
    """Upsert the given bindings, all or nothing; answer them."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    assistant = find(org, request.match_info["assistant_id"])
    wanted = bindings(ex.json_body(), org.queues)
    w.race_queues(org, assistant)
    entities = w.bind(org, assistant, wanted, by=org.client_user)
    _applied(ex, org, assistant)
    return as_json({"entities": entities, "selfUri": request.path})


@routes.delete(PATH)
async def delete_bindings(request: web.Request) -> web.StreamResponse:
    """Remove the bindings named in ``queueIds`` (comma-separated); 204."""
    ex, w = exchange(request), world(request)
    org = ex.require(DELETE)
    assistant = find(org, request.match_info["assistant_id"])
    queues = [q for q in request.query.get("queueIds", "").split(",") if q]
    if not queues:
        raise bad_request("queueIds is required: the comma-separated queues to unbind")
    w.race_queues(org, assistant)
    w.unbind(org, assistant, queues)
    _applied(ex, org, assistant)
    return web.Response(status=204)


@routes.get(ONE)
async def get_binding(request: web.Request) -> web.StreamResponse:
    """One binding of the assistant."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    assistant = find(org, request.match_info["assistant_id"])
    queue = request.match_info["queue_id"]
    for entity in assistant.visible_bindings(w.clock(), org.faults.assistant_read_lag):
        if entity["id"] == queue:
            return as_json(entity)
    raise not_found(f"Queue {queue} of assistant {assistant.id}")


@routes.put(ONE)
async def put_binding(request: web.Request) -> web.StreamResponse:
    """Upsert one binding."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    assistant = find(org, request.match_info["assistant_id"])
    body = ex.json_body()
    queue = request.match_info["queue_id"]
    if isinstance(body, dict) and body.get("id", queue) != queue:
        raise bad_request(f"The body's id does not match the path's ({queue})")
    wanted = bindings([{**body, "id": queue}] if isinstance(body, dict) else body, org.queues)
    w.race_queues(org, assistant)
    (entity,) = w.bind(org, assistant, wanted, by=org.client_user)
    _applied(ex, org, assistant)
    return as_json(entity)


@routes.delete(ONE)
async def delete_binding(request: web.Request) -> web.StreamResponse:
    """Remove one binding; 204."""
    ex, w = exchange(request), world(request)
    org = ex.require(DELETE)
    assistant = find(org, request.match_info["assistant_id"])
    queue = request.match_info["queue_id"]
    if queue not in assistant.bindings:
        raise not_found(f"Queue {queue} of assistant {assistant.id}")
    w.unbind(org, assistant, [queue])
    _applied(ex, org, assistant)
    return web.Response(status=204)


@routes.get("/api/v2/routing/queues/{queue_id}/assistant")
async def queue_assistant(request: web.Request) -> web.StreamResponse:
    """The binding of a queue, naming its assistant; 404 when the queue is bound to none."""
    org = exchange(request).require(VIEW)
    return as_json(_binding_of(org, request.match_info["queue_id"]))


def _binding_of(org: OrgState, queue: str) -> dict[str, object]:
    owner = org.queue_owner.get(queue)
    if queue not in org.queues:
        raise not_found(f"Queue {queue}")
    if owner is None:
        raise not_found(f"An assistant for queue {queue}")
    return org.assistants[owner].bindings[queue]
