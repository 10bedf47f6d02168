"""Queue bindings: the listing, upsert, removal, one queue at a time, and who owns a queue."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from orchestrator.sandbox import Faults, Sandbox
from tests.sandbox.test_api import BILLING_ASSISTANT, error
from tests.support import ASSISTANTS, SandboxFactory, queue_ids

pytestmark = pytest.mark.anyio

CLAIMS_ASSISTANT = ASSISTANTS["canary"][1]
URL = f"/api/v2/assistants/{BILLING_ASSISTANT}/queues"


async def test_listing_pages_with_a_cursor(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """pageSize and the after cursor walk every binding once; a bad cursor is refused."""
    auth, names = await login(sandbox), queue_ids(sandbox)
    sandbox.bind_queues("canary", BILLING_ASSISTANT, {names["Retention"]: ["call"]})
    seen, uri = [], f"{URL}?pageSize=1"
    while uri:
        page = await (await http.get(f"{sandbox.url}{uri}", headers=auth)).json()
        seen += page["entities"]
        uri = page.get("nextUri")
    assert seen == sandbox.bindings("canary", BILLING_ASSISTANT) and len(seen) == 2
    assert seen[0]["assistant"]["id"] == BILLING_ASSISTANT
    await error(
        await http.get(f"{sandbox.url}{URL}?after=nope", headers=auth), 400, "invalid.value"
    )


async def test_patch_upserts_and_delete_removes(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """PATCH adds or changes bindings (read-only keys ignored); DELETE ?queueIds= removes them."""
    auth, names = await login(sandbox), queue_ids(sandbox)
    vip, billing = names["Billing VIP"], names["Billing"]
    created = sandbox.bindings("canary", BILLING_ASSISTANT)[0]["dateCreated"]
    sent = [
        {"id": vip, "mediaTypes": ["email"]},
        {"id": billing, "mediaTypes": ["call"], "selfUri": "x"},
    ]
    response = await http.patch(f"{sandbox.url}{URL}", headers=auth, json=sent)
    assert response.status == 200
    assert [e["id"] for e in (await response.json())["entities"]] == [vip, billing]
    by_id = {b["id"]: b for b in sandbox.bindings("canary", BILLING_ASSISTANT)}
    assert by_id[billing]["mediaTypes"] == ["call"] and by_id[billing]["dateCreated"] == created
    assert sandbox.queue_owner("canary", vip) == BILLING_ASSISTANT
    response = await http.delete(
        f"{sandbox.url}{URL}?queueIds={vip},{names['Sales']}", headers=auth
    )
    assert response.status == 204
    assert [b["id"] for b in sandbox.bindings("canary", BILLING_ASSISTANT)] == [billing]
    assert sandbox.queue_owner("canary", names["Sales"]) is not None  # not Billing's: untouched
    await error(await http.delete(f"{sandbox.url}{URL}", headers=auth), 400, "bad.request")


async def test_a_queue_of_another_assistant_is_refused_with_409(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A queue is bound to at most one assistant; the PATCH changes nothing (all or nothing)."""
    auth, names = await login(sandbox), queue_ids(sandbox)
    sent = [
        {"id": names["Retention"], "mediaTypes": ["call"]},
        {"id": names["Claims"], "mediaTypes": ["call"]},
    ]
    await error(
        await http.patch(f"{sandbox.url}{URL}", headers=auth, json=sent),
        409,
        "general.resource.conflict",
    )
    assert sandbox.queue_owner("canary", names["Retention"]) is None
    owner = await http.get(
        f"{sandbox.url}/api/v2/routing/queues/{names['Claims']}/assistant", headers=auth
    )
    assert (await owner.json())["assistant"]["id"] == CLAIMS_ASSISTANT
    free = await http.get(
        f"{sandbox.url}/api/v2/routing/queues/{names['Retention']}/assistant", headers=auth
    )
    await error(free, 404, "not.found")


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ([], "bad.request"),
        ({"id": "x"}, "bad.request"),
        ([{"id": "00000000-0000-0000-0000-000000000000", "mediaTypes": ["call"]}], "invalid.value"),
        ([{"id": "QUEUE", "mediaTypes": []}], "invalid.value"),
        ([{"id": "QUEUE", "mediaTypes": ["fax"]}], "invalid.value"),
        ([{"id": "QUEUE", "mediaTypes": ["call", "call"]}], "invalid.value"),
        (
            [{"id": "QUEUE", "mediaTypes": ["call"]}, {"id": "QUEUE", "mediaTypes": ["call"]}],
            "invalid.value",
        ),
        ([{"id": "QUEUE", "mediaTypes": ["call"], "priority": 1}], "invalid.property"),
    ],
)
async def test_patch_refusals(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, sent: Any, code: str
) -> None:
    """Bodies the API refuses: 400 with the code of api.md 3; nothing changes."""
    retention = queue_ids(sandbox)["Retention"]
    sent = (
        [dict(e, id=retention) if e.get("id") == "QUEUE" else e for e in sent]
        if isinstance(sent, list)
        else sent
    )
    response = await http.patch(f"{sandbox.url}{URL}", headers=await login(sandbox), json=sent)
    await error(response, 400, code)
    assert sandbox.writes() == []


async def test_bindings_lag_and_race_like_assistants(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession, login: Any
) -> None:
    """The listing lags a write; the concurrent writer edits the first binding just before."""
    faults = Faults(
        assistant_read_lag=60, concurrent_writer_rate=1.0, concurrent_writer_mode="edit"
    )
    async with make_sandbox(faults={"canary": faults}) as sb:
        auth, names = await login(sb), queue_ids(sb)
        sent = [{"id": names["Retention"], "mediaTypes": ["call"]}]
        assert (await http.patch(f"{sb.url}{URL}", headers=auth, json=sent)).status == 200
        listed = await (await http.get(f"{sb.url}{URL}", headers=auth)).json()
        assert [e["id"] for e in listed["entities"]] == [names["Billing"]]
        now = {b["id"]: b["mediaTypes"] for b in sb.bindings("canary", BILLING_ASSISTANT)}
        assert now == {names["Billing"]: ["call", "message", "email"], names["Retention"]: ["call"]}
        assert [w.source for w in sb.foreign_writes] == ["concurrent_writer"]
