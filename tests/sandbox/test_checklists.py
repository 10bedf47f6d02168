"""Agent checklists: the listing, GET and the full-replace PUT (api.md 6)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from orchestrator.sandbox import Faults, Sandbox
from tests.sandbox.test_api import error
from tests.support import CHECKLISTS, SandboxFactory

pytestmark = pytest.mark.anyio

BILLING_CHECKLIST = CHECKLISTS["canary"][0]
LISTING = "/api/v2/assistants/agentchecklists"
URL = f"{LISTING}/{BILLING_CHECKLIST}"


async def test_listing_pages_and_get_serves_the_whole_checklist(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """pageSize=1 walks both checklists; GET serves what the sandbox holds."""
    auth = await login(sandbox)
    first = await (await http.get(f"{sandbox.url}{LISTING}?pageSize=1", headers=auth)).json()
    second = await (await http.get(f"{sandbox.url}{first['nextUri']}", headers=auth)).json()
    assert [c["id"] for c in first["entities"] + second["entities"]] == CHECKLISTS["canary"]
    assert "nextUri" not in second
    got = await (await http.get(f"{sandbox.url}{URL}", headers=auth)).json()
    assert got == sandbox.checklist("canary", BILLING_CHECKLIST)
    assert got["selfUri"] == URL and len(got["checklistItems"]) == 3


async def test_put_replaces_and_gives_new_items_an_id(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Name, language, items replaced; the path's id in the body is fine; new items get ids."""
    sent = {
        "id": BILLING_CHECKLIST,
        "name": "Short",
        "language": "en-GB",
        "checklistItems": [{"name": "Greet"}],
    }
    response = await http.put(f"{sandbox.url}{URL}", headers=await login(sandbox), json=sent)
    assert response.status == 200
    body = await response.json()
    assert (body["name"], body["language"]) == ("Short", "en-GB")
    (item,) = body["checklistItems"]
    assert item["name"] == "Greet" and item["id"]
    assert (
        body["dateCreated"] == "2026-10-01T09:00:00.000Z"
        and body["dateModified"] > body["dateCreated"]
    )


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ({"id": "another", "name": "x", "language": "en-US", "checklistItems": []}, "bad.request"),
        ({"language": "en-US", "checklistItems": []}, "invalid.value"),
        ({"name": "x", "language": "en-US"}, "invalid.value"),
        ({"name": "x", "language": "en-US", "checklistItems": [{"title": "x"}]}, "invalid.value"),
        (
            {"name": "x", "language": "en-US", "checklistItems": [{"name": "x", "important": 1}]},
            "invalid.value",
        ),
        (
            {"name": "x", "language": "en-US", "checklistItems": [], "scoring": {}},
            "invalid.property",
        ),
    ],
)
async def test_put_refusals(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, sent: Any, code: str
) -> None:
    """Bodies the API refuses: 400 with the code of api.md 3; nothing changes."""
    before = sandbox.checklist("canary", BILLING_CHECKLIST)
    await error(
        await http.put(f"{sandbox.url}{URL}", headers=await login(sandbox), json=sent), 400, code
    )
    assert sandbox.checklist("canary", BILLING_CHECKLIST) == before


async def test_checklists_lag_and_race(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession, login: Any
) -> None:
    """A GET lags the PUT; the concurrent writer renames the checklist just before it."""
    faults = Faults(
        assistant_read_lag=60, concurrent_writer_rate=1.0, concurrent_writer_mode="edit"
    )
    async with make_sandbox(faults={"canary": faults}) as sb:
        auth = await login(sb)
        sent = {"name": "Mine", "language": "en-US", "checklistItems": []}
        assert (await http.put(f"{sb.url}{URL}", headers=auth, json=sent)).status == 200
        seen = await (await http.get(f"{sb.url}{URL}", headers=auth)).json()
        assert seen["name"] == "Billing call checklist"
        assert sb.checklist("canary", BILLING_CHECKLIST)["name"] == "Mine"
        assert [w.source for w in sb.foreign_writes] == ["concurrent_writer"]
