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


CLAIMS_ASSISTANT = "9bd9322c-c4dd-5650-b462-ec0b56c8a5dc"
BILLING_CHECKLIST = "c80cb074-429c-5cb0-af32-6c95685db7f2"


def agent_assist_session(url: str, queues: dict[str, str]) -> dict[str, Any]:
    """Every new operation through the SDK's own methods, its models deserialising each answer."""
    client = sdk_client(url)
    api = genesys.AgentAssistantsApi(client)
    copilots = genesys.AgentCopilotApi(client)
    seen: dict[str, Any] = {}
    seen["whole"] = api.get_assistant(BILLING_ASSISTANT, expand="copilot")
    seen["plain"] = api.get_assistant(BILLING_ASSISTANT)
    seen["listed"] = api.get_assistants(page_size=25, expand="copilot")
    copilot = copilots.get_assistant_copilot(BILLING_ASSISTANT)
    copilot.summary_generation_config.enabled = True
    seen["copilot"] = copilots.put_assistant_copilot(BILLING_ASSISTANT, copilot)
    copilot.default_language = "fr-FR"
    seen["language"] = _refusal(copilots.put_assistant_copilot, BILLING_ASSISTANT, copilot)

    first = api.get_assistant_queues(CLAIMS_ASSISTANT, page_size=1)
    cursor = parse_qs(urlsplit(first.next_uri).query)["after"][0]
    seen["queue_pages"] = [
        first,
        api.get_assistant_queues(CLAIMS_ASSISTANT, page_size=1, after=cursor),
    ]
    vip = genesys.AssistantQueue()
    vip.id, vip.media_types = queues["Billing VIP"], ["call", "email"]
    seen["patched"] = api.patch_assistant_queues(BILLING_ASSISTANT, [vip])
    retention = genesys.AssistantQueue()
    retention.id, retention.media_types = queues["Retention"], ["message"]
    seen["put_one"] = api.put_assistant_queue(BILLING_ASSISTANT, queues["Retention"], retention)
    seen["one"] = api.get_assistant_queue(BILLING_ASSISTANT, queues["Retention"])
    seen["owner"] = genesys.RoutingApi(client).get_routing_queue_assistant(queues["Claims"])
    taken = genesys.AssistantQueue()
    taken.id, taken.media_types = queues["Claims"], ["call"]
    seen["taken"] = _refusal(api.patch_assistant_queues, BILLING_ASSISTANT, [taken])
    api.delete_assistant_queue(BILLING_ASSISTANT, queues["Retention"])
    api.delete_assistant_queues(BILLING_ASSISTANT, queue_ids=queues["Billing VIP"])
    seen["free"] = _refusal(
        genesys.RoutingApi(client).get_routing_queue_assistant, queues["Retention"]
    )
    seen["after"] = api.get_assistant_queues(BILLING_ASSISTANT)

    seen["checklists"] = api.get_assistants_agentchecklists(page_size=1)
    checklist = api.get_assistants_agentchecklist(BILLING_CHECKLIST)
    checklist.name = "Billing call checklist (SDK)"
    checklist.checklist_items[1].important = False
    seen["checklist"] = api.put_assistants_agentchecklist(BILLING_CHECKLIST, checklist)
    return seen


def _refusal(call: Any, *args: Any) -> int:
    try:
        call(*args)
    except ApiException as exc:
        return int(exc.status)
    raise AssertionError("the sandbox accepted it")


async def test_sdk_drives_copilots_queues_and_checklists(sandbox: Sandbox) -> None:
    """get/put copilot, the queue bindings' six operations, routing's owner, checklists."""
    queues = {name: queue for queue, name in sandbox.queues("canary").items()}
    seen = await anyio.to_thread.run_sync(agent_assist_session, sandbox.url, queues)

    whole = seen["whole"]
    assert whole.copilot.default_language == "en-US" and whole.copilot.nlu_engine_type == "NluV3"
    rules = whole.copilot.rule_engine_config.rules
    assert rules[0].rule.actions[0].action_type == "KnowledgeArticle"
    assert rules[0].rule.conditions[0].condition_type == "Intent"
    assert whole.copilot.summary_generation_config.model_config.use_latest_model is True
    assert seen["plain"].copilot is None
    assert all(a.copilot is not None for a in seen["listed"].entities)
    assert seen["copilot"].summary_generation_config.enabled is True
    assert sandbox.copilot("canary", BILLING_ASSISTANT)["summaryGenerationConfig"]["enabled"]
    assert seen["language"] == 400

    first, second = seen["queue_pages"]
    assert [len(first.entities), len(second.entities)] == [1, 1] and second.next_uri is None
    assert {e.id for e in first.entities + second.entities} == {
        queues["Claims"],
        queues["Claims Escalations"],
    }
    assert first.entities[0].assistant.id == CLAIMS_ASSISTANT
    assert isinstance(first.entities[0].date_created, datetime)
    (patched,) = seen["patched"].entities
    assert (patched.id, patched.media_types) == (queues["Billing VIP"], ["call", "email"])
    assert seen["put_one"].media_types == ["message"] == seen["one"].media_types
    assert seen["owner"].assistant.id == CLAIMS_ASSISTANT
    assert seen["owner"].assistant.name == "Claims assistant"
    assert seen["taken"] == 409 and seen["free"] == 404
    assert [e.id for e in seen["after"].entities] == [queues["Billing"]]
    assert sandbox.queue_owner("canary", queues["Claims"]) == CLAIMS_ASSISTANT

    assert len(seen["checklists"].entities) == 1 and seen["checklists"].next_uri
    checklist = seen["checklist"]
    assert checklist.name == "Billing call checklist (SDK)"
    assert checklist.checklist_items[1].important is False
    assert isinstance(checklist.date_modified, datetime)
    assert sandbox.checklist("canary", BILLING_CHECKLIST)["name"] == "Billing call checklist (SDK)"

    methods = [(r.method, r.status) for r in sandbox.requests if r.method != "GET"]
    assert methods == [
        ("POST", 200),
        ("PUT", 200),
        ("PUT", 400),
        ("PATCH", 200),
        ("PUT", 200),
        ("PATCH", 409),
        ("DELETE", 204),
        ("DELETE", 204),
        ("PUT", 200),
    ]
