"""The official Genesys Cloud Python SDK works against the sandbox unchanged.

The SDK is the wire-format witness: if it cannot parse an answer, or sends
something the sandbox refuses, the sandbox is wrong. The SDK is synchronous
(urllib3), so it runs in a worker thread while the sandbox serves in the
test's event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import PureCloudPlatformClientV2 as genesys
import pytest
from PureCloudPlatformClientV2.rest import ApiException

from orchestrator.sandbox import Sandbox

pytestmark = pytest.mark.anyio

ORG_ID = "37104616-be01-5864-95e3-a7a637fffc9d"
BILLING = "19cc7f17-becc-5e23-8534-27fd328a4d65"
BILLING_ASSISTANT = "d5d30071-3a20-5442-b022-d4416f64cc99"
CONFIG_PATH = "/api/v2/agentassist/configs/{configId}"
AUTH = ["PureCloud OAuth"]


def sdk_client(url: str, client_id: str = "canary", secret: str = "canary-secret") -> Any:
    """An SDK ApiClient pointed at the sandbox, logged in with client credentials."""
    client = genesys.ApiClient(host=url)
    client.get_client_credentials_token(client_id, secret)
    return client


def config_call(client: Any, method: str, **kw: Any) -> Any:
    """agentassist-config has no SDK method of its own: the SDK's generic call_api."""
    return client.call_api(
        CONFIG_PATH,
        method,
        path_params={"configId": BILLING},
        response_type="object",
        auth_settings=AUTH,
        **kw,
    )


def session(url: str) -> dict[str, Any]:
    """What the SDK saw, step by step (runs in a worker thread)."""
    client = sdk_client(url)
    seen: dict[str, Any] = {"token": client.access_token}
    seen["me"] = genesys.TokensApi(client).get_tokens_me()

    assistants = genesys.AgentAssistantsApi(client)
    first = assistants.get_assistants(page_size=2)
    cursor = parse_qs(urlsplit(first.next_uri).query)["after"][0]
    seen["pages"] = [first, assistants.get_assistants(page_size=2, after=cursor)]
    seen["assistant"] = assistants.get_assistant(BILLING_ASSISTANT)
    patch = genesys.Assistant()
    patch.name = "Billing assistant (SDK)"
    patch.state = "Inactive"
    seen["patched"] = assistants.patch_assistant(BILLING_ASSISTANT, patch)

    body = config_call(client, "GET", header_params={"Accept": "application/json"})
    etag = client.last_response.getheader("ETag")
    seen["config"], seen["etag"] = body, etag
    sent = body | {"version": body["version"] + 1, "trafficPercent": 50}
    headers = {"If-Match": etag, "Content-Type": "application/json", "Accept": "application/json"}
    seen["put"] = config_call(client, "PUT", header_params=dict(headers), body=sent)
    seen["put_etag"] = client.last_response.getheader("ETag")
    try:
        config_call(client, "PUT", header_params=dict(headers), body=sent)  # the old ETag again
    except ApiException as exc:
        seen["stale"] = exc
    return seen


async def test_sdk_against_the_sandbox(sandbox: Sandbox) -> None:
    """Token, tokens/me, assistants (list, get, patch) and a config GET/PUT through the SDK."""
    assert sandbox.url is not None
    seen = await anyio.to_thread.run_sync(session, sandbox.url)

    me = seen["me"]
    assert me.organization.id == ORG_ID and me.organization.name == "Canary"
    assert me.home_organization.id == ORG_ID
    assert me.o_auth_client.id == "canary"
    assert me.o_auth_client.organization.id == ORG_ID
    assert "assistants:assistant:edit" in me.authorized_scope

    first, last = seen["pages"]
    assert [a.name for a in first.entities] == ["Billing assistant", "Claims assistant"]
    assert [a.name for a in last.entities] == ["Sales assistant"] and last.next_uri is None
    assert all(isinstance(a.date_modified, datetime) for a in first.entities)

    assistant = seen["assistant"]
    assert assistant.id == BILLING_ASSISTANT and assistant.name == "Billing assistant"
    assert assistant.state == "Active"
    assert (
        isinstance(assistant.date_created, datetime) and assistant.date_created.tzinfo is not None
    )
    assert assistant.transcription_config.vendor_name == "Genesys"
    kb = assistant.knowledge_suggestion_config
    assert kb.vendor_name == "GenesysKnowledge" and kb.knowledge_bases[0].id

    patched = seen["patched"]
    assert (patched.name, patched.state) == ("Billing assistant (SDK)", "Inactive")
    assert patched.date_modified > assistant.date_modified
    assert sandbox.assistant("canary", BILLING_ASSISTANT)["name"] == "Billing assistant (SDK)"

    assert seen["config"]["id"] == BILLING and seen["config"]["version"] == 6
    assert seen["etag"].startswith('"') and seen["etag"].endswith('"')
    assert seen["put"]["version"] == 7 and seen["put"]["trafficPercent"] == 50
    assert seen["put_etag"] == sandbox.config("canary", BILLING).etag != seen["etag"]

    stale = seen["stale"]
    assert stale.status == 409
    assert stale.headers["ININ-Correlation-Id"] in stale.body

    records = [(r.method, r.path, r.status, r.if_match) for r in sandbox.requests]
    config_path = CONFIG_PATH.format(configId=BILLING)
    assert records[0] == ("POST", "/oauth/token", 200, None)
    assert records[-2:] == [
        ("PUT", config_path, 200, seen["etag"]),
        ("PUT", config_path, 409, seen["etag"]),
    ]
    assert {r.org for r in sandbox.requests} == {"canary"}
    assert seen["token"] not in repr(sandbox.requests)


def refused(url: str) -> list[int]:
    """Statuses the SDK raised for refused credentials and a missing assistant."""
    out = []
    try:
        sdk_client(url, secret="wrong")
    except ApiException as exc:
        out.append(exc.status)
    try:
        genesys.AgentAssistantsApi(sdk_client(url)).get_assistant(
            "00000000-0000-0000-0000-000000000000"
        )
    except ApiException as exc:
        out.append(exc.status)
    return out


async def test_sdk_sees_errors(sandbox: Sandbox) -> None:
    """Refusals reach the SDK as ApiExceptions with the sandbox's statuses."""
    assert sandbox.url is not None
    assert await anyio.to_thread.run_sync(refused, sandbox.url) == [401, 404]
