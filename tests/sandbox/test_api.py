"""The sandbox answers every row of api.md's tables (sections 2, 3, 5, 6) over real HTTP."""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp
import pytest

from orchestrator.sandbox import Faults, Sandbox

pytestmark = pytest.mark.anyio

ORG_ID = "37104616-be01-5864-95e3-a7a637fffc9d"
BILLING = "19cc7f17-becc-5e23-8534-27fd328a4d65"
CLAIMS = "d3e27a42-edd9-5fa3-9019-1b77e651243d"
BILLING_ASSISTANT = "d5d30071-3a20-5442-b022-d4416f64cc99"
ASSISTANT = f"/api/v2/assistants/{BILLING_ASSISTANT}"
BILLING_QUEUE = "8bc940d3-8d87-5b40-9c5b-7925c1fd81f0"
CHECKLISTS = "/api/v2/assistants/agentchecklists"
BILLING_CHECKLIST = "c80cb074-429c-5cb0-af32-6c95685db7f2"
CONFIGS = "/api/v2/agentassist/configs"
ANALYTICS = "/api/v2/analytics/agentassist/conversations/query"
FORM = {"grant_type": "client_credentials"}


async def error(response: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    """Assert an api.md section 3 error answer; return its body."""
    body = await response.json()
    assert (response.status, body["code"], body["status"]) == (status, code, status), body
    assert body["message"]
    assert response.headers["ININ-Correlation-Id"] == body["contextId"]
    return body


async def oauth_error(response: aiohttp.ClientResponse, status: int, error_code: str) -> str:
    """Assert an OAuth error answer; return its description."""
    body = await response.json()
    assert (response.status, body["error"]) == (status, error_code), body
    assert response.headers["ININ-Correlation-Id"]
    return str(body["error_description"])


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(client_id, secret)}


async def current(
    http: aiohttp.ClientSession, sb: Sandbox, auth: dict[str, str], config_id: str = BILLING
) -> tuple[dict[str, Any], str]:
    response = await http.get(f"{sb.url}{CONFIGS}/{config_id}", headers=auth)
    assert response.status == 200
    return await response.json(), response.headers["ETag"]


def writable(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    keep = ("name", "description", "version", "deployed", "trafficPercent", "content")
    out = {k: body[k] for k in keep}
    out["version"] = body["version"] + 1
    return out | changes


# -- section 2: the token endpoint ------------------------------------------


async def test_token_client_credentials(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Valid Basic credentials and grant type give a bearer token with its lifetime."""
    response = await http.post(
        f"{sandbox.url}/oauth/token", headers=basic("canary", "canary-secret"), data=FORM
    )
    body = await response.json()
    assert response.status == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert response.headers["ININ-Correlation-Id"]


@pytest.mark.parametrize(
    "headers",
    [
        basic("canary", "wrong-secret"),
        basic("no-such-client", "canary-secret"),
        {},
        {"Authorization": "Basic !!!not-base64"},
    ],
    ids=["wrong-secret", "unknown-client", "no-header", "malformed"],
)
async def test_token_invalid_client(
    sandbox: Sandbox, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    """Unknown client, wrong secret or no credentials: 401 invalid_client."""
    response = await http.post(f"{sandbox.url}/oauth/token", headers=headers, data=FORM)
    await oauth_error(response, 401, "invalid_client")


async def test_token_unsupported_grant(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Any grant but client_credentials: 400 unsupported_grant_type."""
    response = await http.post(
        f"{sandbox.url}/oauth/token",
        headers=basic("canary", "canary-secret"),
        data={"grant_type": "password"},
    )
    await oauth_error(response, 400, "unsupported_grant_type")


async def test_token_rate_limit_is_400_not_429(
    make_sandbox: Any, http: aiohttp.ClientSession
) -> None:
    """Too many token requests: 400 invalid_request "rate limit exceeded; ...", never 429."""
    async with make_sandbox(faults={"canary": Faults(token_requests_per_minute=2)}) as sb:
        url, auth = f"{sb.url}/oauth/token", basic("canary", "canary-secret")
        for _ in range(2):
            assert (await http.post(url, headers=auth, data=FORM)).status == 200
        description = await oauth_error(
            await http.post(url, headers=auth, data=FORM), 400, "invalid_request"
        )
        assert description.startswith("rate limit exceeded; ")
        other = await http.post(url, headers=basic("amer-prod", "amer-prod-secret"), data=FORM)
        assert other.status == 200


async def test_token_requests_are_logged_without_secrets(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Token requests are recorded with their org; no record holds a secret or a token."""
    auth = await login(sandbox, "emea-prod")
    await http.post(f"{sandbox.url}/oauth/token", headers=basic("emea-prod", "wrong"), data=FORM)
    await http.get(f"{sandbox.url}/api/v2/tokens/me", headers=auth)
    records = sandbox.requests
    assert [(r.path, r.org, r.status) for r in records] == [
        ("/oauth/token", "emea-prod", 200),
        ("/oauth/token", "emea-prod", 401),
        ("/api/v2/tokens/me", "emea-prod", 200),
    ]
    assert records[0].body == {"grant_type": "client_credentials"}
    text = repr(records)
    assert "secret" not in text and auth["Authorization"].split()[1] not in text


async def test_tokens_me(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """GET /api/v2/tokens/me names the token's org and OAuth client."""
    response = await http.get(
        f"{sandbox.url}/api/v2/tokens/me", headers=await login(sandbox, "canary")
    )
    body = await response.json()
    assert response.status == 200
    assert body["organization"]["id"] == ORG_ID
    assert body["homeOrganization"]["id"] == ORG_ID
    assert body["oAuthClient"]["id"] == "canary"
    assert "agentassist:config:write" in body["authorizedScope"]


# -- section 3: errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "authentication.required"),
        ({"Authorization": "Token abc"}, "authentication.required"),
        ({"Authorization": "Bearer "}, "authentication.required"),
        ({"Authorization": "Bearer not-a-token"}, "bad.credentials"),
    ],
    ids=["none", "wrong-scheme", "empty", "unknown-token"],
)
async def test_401(
    sandbox: Sandbox, http: aiohttp.ClientSession, headers: dict[str, str], code: str
) -> None:
    """No usable bearer token: 401 with the code for why."""
    await error(await http.get(f"{sandbox.url}{CONFIGS}/{BILLING}", headers=headers), 401, code)


async def test_401_expired(
    make_sandbox: Any, fake_clock: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """A token past its expires_in: 401 credentials.expired."""
    async with make_sandbox(clock=fake_clock) as sb:
        auth = await login(sb)
        fake_clock.advance(86399)
        assert (await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=auth)).status == 200
        fake_clock.advance(1)
        await error(
            await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=auth), 401, "credentials.expired"
        )


@pytest.mark.parametrize(
    ("permission", "method", "path", "body"),
    [
        ("agentassist:config:read", "GET", f"{CONFIGS}/{BILLING}", None),
        ("agentassist:config:read", "GET", f"{CONFIGS}/{BILLING}/versions", None),
        ("agentassist:config:read", "GET", f"{CONFIGS}/{BILLING}/versions/1", None),
        ("agentassist:config:read", "POST", ANALYTICS, {"filter": {"configId": BILLING}}),
        ("agentassist:config:write", "PUT", f"{CONFIGS}/{BILLING}", {"name": "x", "version": 7}),
        ("assistants:assistant:view", "GET", "/api/v2/assistants", None),
        ("assistants:assistant:view", "GET", f"/api/v2/assistants/{BILLING_ASSISTANT}", None),
        (
            "assistants:assistant:edit",
            "PATCH",
            f"/api/v2/assistants/{BILLING_ASSISTANT}",
            {"name": "x"},
        ),
        ("assistants:copilot:view", "GET", f"{ASSISTANT}/copilot", None),
        ("assistants:copilot:view", "GET", f"{ASSISTANT}?expand=copilot", None),
        ("assistants:copilot:view", "GET", "/api/v2/assistants?expand=copilot", None),
        ("assistants:copilot:edit", "PUT", f"{ASSISTANT}/copilot", {"enabled": True}),
        ("assistants:queue:view", "GET", f"{ASSISTANT}/queues", None),
        ("assistants:queue:view", "GET", f"{ASSISTANT}/queues/{BILLING_QUEUE}", None),
        ("assistants:queue:view", "GET", f"/api/v2/routing/queues/{BILLING_QUEUE}/assistant", None),
        ("assistants:queue:edit", "PATCH", f"{ASSISTANT}/queues", [{"id": BILLING_QUEUE}]),
        ("assistants:queue:edit", "PUT", f"{ASSISTANT}/queues/{BILLING_QUEUE}", {}),
        ("assistants:queue:delete", "DELETE", f"{ASSISTANT}/queues?queueIds={BILLING_QUEUE}", None),
        ("assistants:queue:delete", "DELETE", f"{ASSISTANT}/queues/{BILLING_QUEUE}", None),
        ("assistants:agentchecklist:view", "GET", CHECKLISTS, None),
        ("assistants:agentchecklist:view", "GET", f"{CHECKLISTS}/{BILLING_CHECKLIST}", None),
        ("assistants:agentchecklist:edit", "PUT", f"{CHECKLISTS}/{BILLING_CHECKLIST}", {}),
    ],
)
async def test_403_names_the_permission(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    login: Any,
    permission: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    """Without a permission: 403 missing.permissions naming it; nothing changes."""
    from orchestrator.sandbox.seed import PERMISSIONS

    sandbox.set_permissions("canary", [p for p in PERMISSIONS if p != permission])
    headers = await login(sandbox) | {"If-Match": '"x"'}
    response = await http.request(method, f"{sandbox.url}{path}", headers=headers, json=body)
    assert permission in (await error(response, 403, "missing.permissions"))["message"]
    assert sandbox.writes() == []


@pytest.mark.parametrize(
    "path",
    [
        f"{CONFIGS}/00000000-0000-0000-0000-000000000000",
        f"{CONFIGS}/{CLAIMS}/versions/99",
        f"{CONFIGS}/{CLAIMS}/versions/latest",
        "/api/v2/assistants/00000000-0000-0000-0000-000000000000",
        "/api/v2/assistants/00000000-0000-0000-0000-000000000000/copilot",
        "/api/v2/assistants/00000000-0000-0000-0000-000000000000/queues",
        f"{ASSISTANT}/queues/00000000-0000-0000-0000-000000000000",
        f"{CHECKLISTS}/00000000-0000-0000-0000-000000000000",
        "/api/v2/routing/queues/00000000-0000-0000-0000-000000000000/assistant",
        "/api/v2/no/such/thing",
        "/nothing-here",
    ],
)
async def test_404(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, path: str) -> None:
    """Unknown config, version, assistant or path: 404 not.found with the JSON body."""
    await error(
        await http.get(f"{sandbox.url}{path}", headers=await login(sandbox)), 404, "not.found"
    )


async def test_404_other_orgs_config(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A token sees only its own org: another org's config id is 404."""
    response = await http.get(
        f"{sandbox.url}{CONFIGS}/{BILLING}", headers=await login(sandbox, "apac-prod")
    )
    await error(response, 404, "not.found")


# -- section 5: agentassist-config --------------------------------------------


async def test_get_config(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """GET serves the whole resource and a strong quoted ETag."""
    body, etag = await current(http, sandbox, await login(sandbox))
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert body == sandbox.config("canary", BILLING).body
    assert set(body) == {
        "id", "name", "description", "version", "deployed", "trafficPercent", "content",
        "dateCreated", "dateModified", "modifiedBy", "selfUri",
    }  # fmt: skip
    assert body["version"] == 6 and body["name"] == "Billing Assist Config"
    assert body["selfUri"] == f"{CONFIGS}/{BILLING}"


async def test_put_success(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """If-Match current and version + 1: 200, new body, new ETag, new version stored."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    content = body["content"] | {"settings": body["content"]["settings"] | {"cooldownSeconds": 45}}
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}",
        headers=auth | {"If-Match": etag},
        json=writable(body, content=content),
    )
    new = await response.json()
    assert response.status == 200
    assert new["version"] == 7 and new["content"] == content
    assert response.headers["ETag"] not in (etag, None)
    assert new["dateModified"] > body["dateModified"]
    assert new["dateCreated"] == body["dateCreated"]
    assert new["modifiedBy"]["id"] != body["modifiedBy"]["id"]
    view = sandbox.config("canary", BILLING)
    assert (view.version, view.etag, view.content, view.versions[:2]) == (
        7,
        response.headers["ETag"],
        content,
        (7, 6),
    )
    [write] = sandbox.writes("canary", BILLING)
    assert (write.method, write.status, write.if_match, write.applied) == ("PUT", 200, etag, True)


async def test_put_ignores_read_only_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """id, dateCreated, dateModified, modifiedBy, selfUri in a PUT are ignored."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    sent = body | {
        "version": 7,
        "id": "something-else",
        "dateCreated": "1999-01-01T00:00:00Z",
        "selfUri": "/x",
    }
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}", headers=auth | {"If-Match": etag}, json=sent
    )
    new = await response.json()
    assert response.status == 200
    assert (new["id"], new["dateCreated"], new["selfUri"]) == (
        BILLING,
        body["dateCreated"],
        body["selfUri"],
    )


@pytest.mark.parametrize("if_match", [None, "*"], ids=["absent", "star"])
async def test_put_428(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, if_match: str | None
) -> None:
    """No If-Match, or If-Match: *: 428 precondition.required."""
    auth = await login(sandbox)
    body, _ = await current(http, sandbox, auth)
    headers = auth | ({"If-Match": if_match} if if_match else {})
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}", headers=headers, json=writable(body)
    )
    await error(response, 428, "precondition.required")
    assert sandbox.config("canary", BILLING).version == 6


@pytest.mark.parametrize(
    ("status", "code"), [(409, "general.resource.conflict"), (412, "precondition.failed")]
)
async def test_put_stale_etag(
    make_sandbox: Any, http: aiohttp.ClientSession, login: Any, status: int, code: str
) -> None:
    """If-Match not the current ETag: 409 general.resource.conflict, or 412 where configured."""
    async with make_sandbox(faults={"canary": Faults(conflict_status=status)}) as sb:
        auth = await login(sb)
        body, etag = await current(http, sb, auth)
        sb.edit_config("canary", BILLING)  # another writer moves it on
        body["version"] += 1
        response = await http.put(
            f"{sb.url}{CONFIGS}/{BILLING}", headers=auth | {"If-Match": etag}, json=writable(body)
        )
        await error(response, status, code)
        assert sb.config("canary", BILLING).version == 7
        assert sb.writes() == []


async def test_put_etag_is_compared_byte_for_byte(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """The ETag without its quotes, or weak, is not the ETag."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    for wrong in (etag.strip('"'), f"W/{etag}"):
        response = await http.put(
            f"{sandbox.url}{CONFIGS}/{BILLING}",
            headers=auth | {"If-Match": wrong},
            json=writable(body),
        )
        await error(response, 409, "general.resource.conflict")


@pytest.mark.parametrize("version", [6, 8, 1])
async def test_put_version_mismatch(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, version: int
) -> None:
    """Body version not current + 1: 409 version.mismatch."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}",
        headers=auth | {"If-Match": etag},
        json=writable(body, version=version),
    )
    await error(response, 409, "version.mismatch")
    assert sandbox.config("canary", BILLING).version == 6


async def test_put_version_mismatch_as_400(
    make_sandbox: Any, http: aiohttp.ClientSession, login: Any
) -> None:
    """Configured so, a wrong version is 400 bad.request "does not match the current version"."""
    async with make_sandbox(faults={"canary": Faults(version_mismatch_as_400=True)}) as sb:
        auth = await login(sb)
        body, etag = await current(http, sb, auth)
        response = await http.put(
            f"{sb.url}{CONFIGS}/{BILLING}",
            headers=auth | {"If-Match": etag},
            json=writable(body, version=6),
        )
        assert (
            "does not match the current version"
            in (await error(response, 400, "bad.request"))["message"]
        )


async def test_put_unknown_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Unknown fields: 400 invalid.property, one details entry per key."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    sent = writable(body, versionRevert=3, trafficShift={"to": 5})
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}", headers=auth | {"If-Match": etag}, json=sent
    )
    details = (await error(response, 400, "invalid.property"))["details"]
    assert [(d["errorCode"], d["fieldName"]) for d in details] == [
        ("invalid.property", "versionRevert"),
        ("invalid.property", "trafficShift"),
    ]


BIG = {"blob": "x" * (256 * 1024)}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"trafficPercent": 101}, "trafficPercent"),
        ({"trafficPercent": -1}, "trafficPercent"),
        ({"trafficPercent": 50.5}, "trafficPercent"),
        ({"deployed": "yes"}, "deployed"),
        ({"description": None}, "description"),
        ({"content": ["not", "an", "object"]}, "content"),
        ({"content": BIG}, "content"),
        ({"version": "7"}, "version"),
    ],
)
async def test_put_invalid_values(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, changes: dict[str, Any], field: str
) -> None:
    """Values out of range: 400 invalid.value naming the field."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}",
        headers=auth | {"If-Match": etag},
        json=writable(body, **changes),
    )
    result = await error(response, 400, "invalid.value")
    assert field in result["message"]
    assert [d["fieldName"] for d in result["details"]] == [field]


async def test_put_content_at_the_limit(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Content of exactly 256 KiB serialized is accepted."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    content = {"blob": "x" * (256 * 1024 - len('{"blob":""}'))}
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}",
        headers=auth | {"If-Match": etag},
        json=writable(body, content=content),
    )
    assert response.status == 200


@pytest.mark.parametrize("missing", ["name", "version"])
async def test_put_required_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, missing: str
) -> None:
    """name and version are required: 400 invalid.value naming the field."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    sent = writable(body)
    del sent[missing]
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}", headers=auth | {"If-Match": etag}, json=sent
    )
    assert [d["fieldName"] for d in (await error(response, 400, "invalid.value"))["details"]] == [
        missing
    ]


@pytest.mark.parametrize(
    "raw", [b"", b"{not json", b"[1, 2]", b'"text"'], ids=["empty", "broken", "array", "string"]
)
async def test_put_body_must_be_an_object(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, raw: bytes
) -> None:
    """A body that is not a JSON object: 400 bad.request."""
    auth = await login(sandbox)
    _, etag = await current(http, sandbox, auth)
    headers = auth | {"If-Match": etag, "Content-Type": "application/json"}
    await error(
        await http.put(f"{sandbox.url}{CONFIGS}/{BILLING}", headers=headers, data=raw),
        400,
        "bad.request",
    )


async def test_put_omitted_optional_fields_keep_their_values(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A PUT of only name and version keeps description, deployed, trafficPercent, content."""
    auth = await login(sandbox)
    body, etag = await current(http, sandbox, auth)
    response = await http.put(
        f"{sandbox.url}{CONFIGS}/{BILLING}",
        headers=auth | {"If-Match": etag},
        json={"name": "Renamed", "version": 7},
    )
    new = await response.json()
    assert new["name"] == "Renamed"
    for key in ("description", "deployed", "trafficPercent", "content"):
        assert new[key] == body[key]


# -- section 5: history -------------------------------------------------------


async def test_versions_listing(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """Versions newest first with pageSize, pageNumber, total and pageCount."""
    auth = await login(sandbox)
    url = f"{sandbox.url}{CONFIGS}/{CLAIMS}/versions"
    first = await (await http.get(url, headers=auth)).json()
    assert (first["pageSize"], first["pageNumber"], first["total"], first["pageCount"]) == (
        25,
        1,
        8,
        1,
    )
    assert [e["version"] for e in first["entities"]] == [8, 7, 6, 5, 4, 3, 2, 1]
    entity = first["entities"][0]
    assert entity["id"] == "8" and entity["dateCreated"] and entity["createdBy"]["id"]
    seen = []
    for number in (1, 2, 3):
        page = await (
            await http.get(url, headers=auth, params={"pageSize": 3, "pageNumber": number})
        ).json()
        assert (page["pageSize"], page["pageNumber"], page["total"], page["pageCount"]) == (
            3,
            number,
            8,
            3,
        )
        seen += [e["version"] for e in page["entities"]]
    assert seen == [8, 7, 6, 5, 4, 3, 2, 1]
    beyond = await (
        await http.get(url, headers=auth, params={"pageSize": 3, "pageNumber": 4})
    ).json()
    assert beyond["entities"] == []


@pytest.mark.parametrize("params", [{"pageSize": "0"}, {"pageSize": "ten"}, {"pageNumber": "-1"}])
async def test_versions_listing_bad_paging(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, params: dict[str, str]
) -> None:
    """A paging parameter that is not a positive integer: 400 invalid.value naming it."""
    response = await http.get(
        f"{sandbox.url}{CONFIGS}/{CLAIMS}/versions", headers=await login(sandbox), params=params
    )
    assert [
        d["fieldName"] for d in (await error(response, 400, "invalid.value"))["details"]
    ] == list(params)


async def test_previous_version_reads(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """GET versions/{N-1} serves that version's whole body as it was, without an ETag."""
    auth = await login(sandbox)
    body, _ = await current(http, sandbox, auth)
    response = await http.get(f"{sandbox.url}{CONFIGS}/{BILLING}/versions/5", headers=auth)
    previous = await response.json()
    assert response.status == 200 and "ETag" not in response.headers
    assert previous["version"] == 5 and previous["id"] == BILLING
    assert set(previous) == set(body)
    assert previous["content"] != body["content"]
    assert previous["dateModified"] < body["dateModified"]
    # Every stored version is a complete body, each differing from the one before.
    contents = []
    for n in range(1, 7):
        v = await (
            await http.get(f"{sandbox.url}{CONFIGS}/{BILLING}/versions/{n}", headers=auth)
        ).json()
        assert set(v) == set(body) and v["version"] == n
        contents.append((v["content"], v["description"], v["trafficPercent"], v["deployed"]))
    assert all(a != b for a, b in itertools.pairwise(contents))
    assert contents[-1][0] == body["content"]


async def test_analytics_propagation(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """The analytics query answers the active version of the filtered config."""
    response = await http.post(
        f"{sandbox.url}{ANALYTICS}",
        headers=await login(sandbox),
        json={"filter": {"configId": CLAIMS}},
    )
    [result] = (await response.json())["results"]
    assert result["configId"] == CLAIMS and result["activeVersion"] == 8
    assert isinstance(result["conversationCount"], int)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"filter": {"configId": "00000000-0000-0000-0000-000000000000"}}, 404, "not.found"),
        ({"filter": {}}, 400, "invalid.value"),
        ({}, 400, "invalid.value"),
    ],
)
async def test_analytics_errors(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    login: Any,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    """An unknown config is 404; a query without a configId is 400."""
    await error(
        await http.post(f"{sandbox.url}{ANALYTICS}", headers=await login(sandbox), json=body),
        status,
        code,
    )


# -- section 6: assistant -----------------------------------------------------


async def test_get_assistant(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """GET serves the whole assistant."""
    response = await http.get(
        f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}", headers=await login(sandbox)
    )
    body = await response.json()
    assert response.status == 200
    assert body == sandbox.assistant("canary", BILLING_ASSISTANT)
    assert body["name"] == "Billing assistant" and body["state"] in ("Active", "Inactive")
    assert body["knowledgeSuggestionConfig"]["knowledgeBases"][0]["id"]
    assert body["selfUri"] == f"/api/v2/assistants/{BILLING_ASSISTANT}"


async def test_patch_assistant(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """PATCH merges top-level fields, ignores read-only ones, answers the whole assistant."""
    auth = await login(sandbox)
    url = f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}"
    before = await (await http.get(url, headers=auth)).json()
    sent = {
        "state": "Inactive",
        "transcriptionConfig": {"vendorName": "GoogleDialogflow"},
        "id": "x",
        "dateModified": "y",
    }
    response = await http.patch(url, headers=auth, json=sent)
    after = await response.json()
    assert response.status == 200
    assert after["state"] == "Inactive" and after["transcriptionConfig"] == {
        "vendorName": "GoogleDialogflow"
    }
    assert (after["id"], after["name"]) == (BILLING_ASSISTANT, before["name"])
    assert after["knowledgeSuggestionConfig"] == before["knowledgeSuggestionConfig"]
    assert after["dateModified"] > before["dateModified"]
    assert after == sandbox.assistant("canary", BILLING_ASSISTANT)
    assert after == await (await http.get(url, headers=auth)).json()
    [write] = sandbox.writes("canary", BILLING_ASSISTANT)
    assert (write.method, write.body) == ("PATCH", sent)


async def test_patch_assistant_twice_in_a_row_moves_date_modified(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Each PATCH gives a strictly later dateModified, even within a millisecond."""
    auth = await login(sandbox)
    url = f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}"
    stamps = [
        (await (await http.patch(url, headers=auth, json={"name": f"n{i}"})).json())["dateModified"]
        for i in range(5)
    ]
    assert stamps == sorted(set(stamps))


async def test_patch_assistant_unknown_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """Unknown fields in a PATCH (the copilot has its own PUT): 400 invalid.property naming each."""
    response = await http.patch(
        f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}",
        headers=await login(sandbox),
        json={"copilot": {}, "queues": [], "name": "x"},
    )
    details = (await error(response, 400, "invalid.property"))["details"]
    assert [d["fieldName"] for d in details] == ["copilot", "queues"]
    assert sandbox.assistant("canary", BILLING_ASSISTANT)["name"] == "Billing assistant"


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"state": "Paused"}, "state"),
        ({"name": ""}, "name"),
        ({"transcriptionConfig": "Genesys"}, "transcriptionConfig"),
    ],
)
async def test_patch_assistant_invalid_values(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, sent: dict[str, Any], field: str
) -> None:
    """A state other than Active|Inactive (or another bad value): 400 invalid.value."""
    response = await http.patch(
        f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}",
        headers=await login(sandbox),
        json=sent,
    )
    assert [d["fieldName"] for d in (await error(response, 400, "invalid.value"))["details"]] == [
        field
    ]


async def test_patch_assistant_body_must_be_an_object(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A PATCH body that is not a JSON object: 400 bad.request."""
    response = await http.patch(
        f"{sandbox.url}/api/v2/assistants/{BILLING_ASSISTANT}",
        headers=await login(sandbox),
        json=[1],
    )
    await error(response, 400, "bad.request")


async def test_assistants_cursor_pagination(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """The listing pages with pageSize and an after cursor; nextUri is absent on the last page."""
    auth = await login(sandbox)
    seen, uri, pages = [], "/api/v2/assistants?pageSize=2", 0
    while uri:
        page = await (await http.get(f"{sandbox.url}{uri}", headers=auth)).json()
        assert page["selfUri"] == uri
        seen += [a["id"] for a in page["entities"]]
        uri, pages = page.get("nextUri"), pages + 1
    assert pages == 2
    everything = await (await http.get(f"{sandbox.url}/api/v2/assistants", headers=auth)).json()
    assert seen == [a["id"] for a in everything["entities"]] and len(seen) == 3
    assert "nextUri" not in everything


async def test_assistants_bad_cursor(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A cursor the listing never gave: 400 invalid.value naming after."""
    response = await http.get(
        f"{sandbox.url}/api/v2/assistants?after=bogus", headers=await login(sandbox)
    )
    assert [d["fieldName"] for d in (await error(response, 400, "invalid.value"))["details"]] == [
        "after"
    ]


# -- the Python API around it -------------------------------------------------


async def test_another_writer_is_not_a_client_write(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """edit_config and patch_assistant change state but are logged as foreign writes."""
    before = sandbox.config("canary", BILLING)
    sandbox.edit_config("canary", BILLING)
    bumped = sandbox.config("canary", BILLING)
    assert (bumped.version, bumped.content) == (7, before.content) and bumped.etag != before.etag
    sandbox.edit_config("canary", BILLING, content={"rules": []}, trafficPercent=20)
    edited = sandbox.config("canary", BILLING)
    assert (edited.version, edited.content, edited.body["trafficPercent"]) == (8, {"rules": []}, 20)
    sandbox.patch_assistant("canary", BILLING_ASSISTANT, state="Inactive")
    assert sandbox.assistant("canary", BILLING_ASSISTANT)["state"] == "Inactive"
    assert [(w.source, w.resource_id, w.version) for w in sandbox.foreign_writes] == [
        ("edit_config", BILLING, 7),
        ("edit_config", BILLING, 8),
        ("patch_assistant", BILLING_ASSISTANT, None),
    ]
    assert sandbox.writes() == [] and sandbox.requests == []
    with pytest.raises(ValueError, match="trafficPercent"):
        sandbox.edit_config("canary", BILLING, trafficPercent=300)
    with pytest.raises(ValueError, match="state"):
        sandbox.patch_assistant("canary", BILLING_ASSISTANT, state="Gone")
    with pytest.raises(KeyError):
        sandbox.config("canary", "nope")


async def test_sandboxes_do_not_share_state(make_sandbox: Any, sandbox_seed: Any) -> None:
    """Each Sandbox works on its own copy of the seed."""
    async with make_sandbox() as one, make_sandbox() as two:
        one.edit_config("canary", BILLING, content={"changed": True})
        one.config("canary", BILLING).content["mutated"] = True
        assert two.config("canary", BILLING).version == 6
        assert "changed" not in sandbox_seed.org("canary").configs[0].versions[-1].fields["content"]
        assert "mutated" not in one.config("canary", BILLING).content


async def test_request_record_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A record carries method, path, query, org, status, If-Match, correlation id and resource."""
    auth = await login(sandbox)
    sandbox.clear_requests()
    response = await http.get(
        f"{sandbox.url}{CONFIGS}/{BILLING}/versions?pageSize=2", headers=auth | {"If-Match": '"e"'}
    )
    [record] = sandbox.requests
    assert (record.method, record.path, record.query, record.org, record.status) == (
        "GET", f"{CONFIGS}/{BILLING}/versions", "pageSize=2", "canary", 200,
    )  # fmt: skip
    assert (record.if_match, record.resource_id, record.applied, record.dropped) == (
        '"e"',
        BILLING,
        False,
        False,
    )
    assert record.correlation_id == response.headers["ININ-Correlation-Id"]


async def test_admin_endpoints(sandbox: Sandbox, http: aiohttp.ClientSession, login: Any) -> None:
    """The /sandbox/ endpoints show orgs and requests and set faults and limits, unlogged."""
    orgs = await (await http.get(f"{sandbox.url}/sandbox/orgs")).json()
    names = ["canary", "emea-prod", "amer-prod", "apac-prod", "latam-prod"]
    assert [o["name"] for o in orgs] == names
    response = await http.patch(
        f"{sandbox.url}/sandbox/orgs/canary", json={"requests_per_minute": None}
    )
    assert response.status == 200
    response = await http.put(f"{sandbox.url}/sandbox/faults/canary", json={"conflict_status": 412})
    assert response.status == 200 and sandbox.faults("canary") == Faults(conflict_status=412)
    response = await http.put(f"{sandbox.url}/sandbox/faults/canary", json={"conflict_status": 418})
    assert response.status == 400
    await http.get(f"{sandbox.url}/api/v2/tokens/me", headers=await login(sandbox))
    logged = await (await http.get(f"{sandbox.url}/sandbox/requests")).json()
    assert [r["path"] for r in logged] == ["/oauth/token", "/api/v2/tokens/me"]
    assert (await http.delete(f"{sandbox.url}/sandbox/requests")).status == 204
    assert sandbox.requests == []
    assert (
        json.loads(await (await http.get(f"{sandbox.url}/sandbox/faults/canary")).text())[
            "conflict_status"
        ]
        == 412
    )


async def test_request_log_can_be_capped(sandbox_seed: Any, http: aiohttp.ClientSession) -> None:
    """max_requests keeps only the newest records, in arrival order."""
    sb = Sandbox(sandbox_seed, max_requests=3)
    async with sb.serve() as url:
        for n in range(5):
            await http.get(f"{url}/nowhere/{n}")
    assert [r.path for r in sb.requests] == ["/nowhere/2", "/nowhere/3", "/nowhere/4"]


@pytest.mark.parametrize("version", ["²", "1e3", "-1", " 1"])
async def test_odd_version_ids_are_404(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any, version: str
) -> None:
    """A version id that is not plain digits is simply not found."""
    response = await http.get(
        f"{sandbox.url}{CONFIGS}/{BILLING}/versions/{version}", headers=await login(sandbox)
    )
    await error(response, 404, "not.found")


async def test_oversized_body_is_a_json_413(
    sandbox: Sandbox, http: aiohttp.ClientSession, login: Any
) -> None:
    """A body over the server's size limit is refused with the JSON error body."""
    auth = await login(sandbox)
    body = json.dumps({"name": "x", "version": 7, "content": {"blob": "x" * (5 * 1024 * 1024)}})
    headers = auth | {"If-Match": '"x"', "Content-Type": "application/json"}
    response = await http.put(f"{sandbox.url}{CONFIGS}/{BILLING}", headers=headers, data=body)
    await error(response, 413, "request.entity.too.large")


async def test_5xx_rows(make_sandbox: Any, http: aiohttp.ClientSession, login: Any) -> None:
    """500, 502, 503, 504 carry internal.server.error, service.unavailable, request.timeout."""
    codes = {
        500: "internal.server.error",
        502: "service.unavailable",
        503: "service.unavailable",
        504: "request.timeout",
    }
    async with make_sandbox(faults={"canary": Faults(server_error_rate=1.0)}) as sb:
        auth, seen = await login(sb), set()
        for _ in range(60):
            response = await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=auth)
            await error(response, response.status, codes[response.status])
            seen.add(response.status)
        assert seen == set(codes)


async def test_429_row(make_sandbox: Any, http: aiohttp.ClientSession, login: Any) -> None:
    """429 too.many.requests.retry.after with Retry-After, from the throttle fault too."""
    faults = {"canary": Faults(throttle_rate=1.0, throttle_retry_after=7)}
    async with make_sandbox(faults=faults) as sb:
        response = await http.get(f"{sb.url}{CONFIGS}/{BILLING}", headers=await login(sb))
        await error(response, 429, "too.many.requests.retry.after")
        assert response.headers["Retry-After"] == "7"
        assert response.headers["inin-ratelimit-allowed"] == "120"
