"""The copilot endpoints: GET, the full-replace PUT, ``expand=copilot`` (api.md 6)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from orchestrator.sandbox import Faults, Sandbox
from tests.sandbox.test_api import BILLING_ASSISTANT, error
from tests.support import SandboxFactory

pytestmark = pytest.mark.anyio

URL = f"/api/v2/assistants/{BILLING_ASSISTANT}"


async def test_a_plain_get_leaves_the_copilot_out_and_expand_adds_it(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """`copilot` only with ?expand=copilot, on the assistant and on the listing."""
    auth = await login(sandbox)
    plain = await (await http.get(f"{sandbox.url}{URL}", headers=auth)).json()
    whole = await (await http.get(f"{sandbox.url}{URL}?expand=copilot", headers=auth)).json()
    assert "copilot" not in plain
    assert whole == plain | {"copilot": sandbox.copilot("canary", BILLING_ASSISTANT)}
    assert whole["copilot"]["selfUri"] == f"{URL}/copilot"
    listing = await (
        await http.get(f"{sandbox.url}/api/v2/assistants?expand=copilot", headers=auth)
    ).json()
    assert all("copilot" in a for a in listing["entities"])
    bad = await http.get(f"{sandbox.url}{URL}?expand=queues", headers=auth)
    await error(bad, 400, "invalid.value")


async def test_put_replaces_the_copilot_whole(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A full replace; selfUri in the body is ignored; the assistant's dateModified moves."""
    auth = await login(sandbox)
    before = sandbox.assistant("canary", BILLING_ASSISTANT)["dateModified"]
    sent = {"enabled": False, "defaultLanguage": "en-US", "selfUri": "/elsewhere"}
    response = await http.put(f"{sandbox.url}{URL}/copilot", headers=auth, json=sent)
    assert response.status == 200
    answered = await response.json()
    assert answered == {"enabled": False, "defaultLanguage": "en-US", "selfUri": f"{URL}/copilot"}
    assert sandbox.copilot("canary", BILLING_ASSISTANT) == answered
    assert sandbox.assistant("canary", BILLING_ASSISTANT)["dateModified"] > before
    got = await (await http.get(f"{sandbox.url}{URL}/copilot", headers=auth)).json()
    assert got == answered


@pytest.mark.parametrize(
    ("sent", "status", "code", "field"),
    [
        ({"defaultLanguage": "fr-FR"}, 400, "invalid.value", "defaultLanguage"),
        ({"enabled": "yes", "defaultLanguage": "en-US"}, 400, "invalid.value", "enabled"),
        (
            {"nluEngineType": "NluV9", "defaultLanguage": "en-US"},
            400,
            "invalid.value",
            "nluEngineType",
        ),
        ({"voiceHints": {}, "defaultLanguage": "en-US"}, 400, "invalid.property", "voiceHints"),
        (
            {"autoSearchConfig": {"type": "Everything"}, "defaultLanguage": "en-US"},
            400,
            "invalid.value",
            "autoSearchConfig.type",
        ),
    ],
)
async def test_put_refusals(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    login: Any,
    sent: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    """defaultLanguage cannot change once set; bad values and unknown fields are refused."""
    before = sandbox.copilot("canary", BILLING_ASSISTANT)
    response = await http.put(
        f"{sandbox.url}{URL}/copilot", headers=await login(sandbox), json=sent
    )
    body = await error(response, status, code)
    assert [d["fieldName"] for d in body["details"]] == [field]
    assert sandbox.copilot("canary", BILLING_ASSISTANT) == before
    assert sandbox.writes() == []


async def test_copilot_reads_lag_and_another_writer_races(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession, login: Any
) -> None:
    """The read lag and the concurrent writer apply to the copilot as to the assistant."""
    faults = Faults(
        assistant_read_lag=60, concurrent_writer_rate=1.0, concurrent_writer_mode="edit"
    )
    async with make_sandbox(faults={"canary": faults}) as sb:
        auth = await login(sb)
        sent = {"enabled": False, "defaultLanguage": "en-US"}
        assert (await http.put(f"{sb.url}{URL}/copilot", headers=auth, json=sent)).status == 200
        stale = await (await http.get(f"{sb.url}{URL}/copilot", headers=auth)).json()
        assert stale["enabled"] is True  # what it was a moment ago
        assert [w.source for w in sb.foreign_writes] == ["concurrent_writer"]
        assert sb.assistant("canary", BILLING_ASSISTANT)["state"] == "Inactive"
