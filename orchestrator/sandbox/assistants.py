"""Kind ``assistant``: GET, PATCH and the cursor listing (api.md 6).

No ETag guards an assistant: a PATCH merges whatever it is given. The
read-lag fault makes a GET (and the listing) serve the body as it was a
moment ago, as a cache in front of the real API does.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from orchestrator.sandbox.api_errors import invalid_values, not_found
from orchestrator.sandbox.bodies import assistant_fields
from orchestrator.sandbox.exchange import Dropped, exchange, page_size, world
from orchestrator.sandbox.resources import ASSISTANTS_PATH, AssistantState, OrgState

routes = web.RouteTableDef()

VIEW = "assistants:assistant:view"
EDIT = "assistants:assistant:edit"


def _assistant(org: OrgState, assistant_id: str) -> AssistantState:
    try:
        return org.assistants[assistant_id]
    except KeyError:
        raise not_found(f"Assistant {assistant_id}") from None


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


@routes.get(ASSISTANTS_PATH + "/{assistant_id}")
async def get_assistant(request: web.Request) -> web.StreamResponse:
    """The assistant as a reader sees it (possibly lagging a recent PATCH)."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    assistant = _assistant(org, request.match_info["assistant_id"])
    return _json(assistant.visible(w.clock(), org.faults.assistant_read_lag))


@routes.patch(ASSISTANTS_PATH + "/{assistant_id}")
async def patch_assistant(request: web.Request) -> web.StreamResponse:
    """Merge the given top-level fields; answer the whole new assistant."""
    ex, w = exchange(request), world(request)
    org = ex.require(EDIT)
    assistant = _assistant(org, request.match_info["assistant_id"])
    fields = assistant_fields(ex.json_body())
    w.race_assistant(org, assistant)
    if not fields:
        return _json(assistant.body)  # nothing to merge: no write, no new dateModified
    body = assistant.patch(fields, by=org.client_user, now=w.clock())
    ex.applied = True
    if org.dice.chance(org.faults.drop_after_write_rate, "drop", assistant.id):
        raise Dropped
    return _json(body)


def _cursor(assistant_id: str) -> str:
    return base64.urlsafe_b64encode(assistant_id.encode()).decode().rstrip("=")


def _after(org: OrgState, cursor: str | None) -> int:
    """Index of the first assistant after ``cursor``."""
    if cursor is None:
        return 0
    try:
        assistant_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        assistant_id = ""
    ids = list(org.assistants)
    if assistant_id not in org.assistants:
        raise invalid_values([("after", "is not a cursor this listing gave out")])
    return ids.index(assistant_id) + 1


@routes.get(ASSISTANTS_PATH)
async def list_assistants(request: web.Request) -> web.StreamResponse:
    """The org's assistants, ``pageSize`` at a time, with an ``after`` cursor."""
    ex, w = exchange(request), world(request)
    org = ex.require(VIEW)
    size = page_size(request, org)
    start = _after(org, request.query.get("after"))
    everyone = list(org.assistants.values())
    page = everyone[start : start + size]
    now, lag = w.clock(), org.faults.assistant_read_lag
    body: dict[str, Any] = {
        "entities": [a.visible(now, lag) for a in page],
        "selfUri": request.path_qs,
    }
    if start + size < len(everyone):
        body["nextUri"] = f"{ASSISTANTS_PATH}?pageSize={size}&after={_cursor(page[-1].id)}"
    return _json(body)
