"""Who may call: the OAuth token endpoint and ``/api/v2/tokens/me`` (api.md 2).

The token endpoint answers in OAuth's own error format, not Genesys's, and
refuses too many token requests with 400 ``invalid_request``, never 429.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

import anyio
from aiohttp import web

from orchestrator.sandbox.exchange import exchange, world
from orchestrator.sandbox.resources import OrgState
from orchestrator.sandbox.world import World

routes = web.RouteTableDef()

FORM = "application/x-www-form-urlencoded"


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _client(w: World, credentials: tuple[str, str] | None) -> tuple[OrgState | None, bool]:
    """The org the client id names, and whether the secret is right."""
    if credentials is None:
        return None, False
    org = w.clients.get(credentials[0])
    if org is None:
        return None, False
    return org, hmac.compare_digest(credentials[1].encode(), org.client_secret.encode())


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.StreamResponse:
    """Client-credentials grant: Basic auth, form body."""
    w, ex = world(request), exchange(request)
    org, authentic = _client(w, _basic_credentials(request.headers.get("Authorization", "")))
    ex.org = org
    if org is not None and org.faults.latency > 0:
        await anyio.sleep(org.dice.stream("latency", "token").uniform(0.0, org.faults.latency))
    form = await request.post() if request.content_type == FORM else None
    grant = form.get("grant_type") if form is not None else None
    # Only the grant type is kept: a form may carry a secret too.
    ex.body = {"grant_type": grant if isinstance(grant, str) else None}
    if org is None or not authentic:
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    retry = org.token_window.admit(w.clock(), org.faults.token_requests_per_minute)
    if retry is not None:
        return _oauth_error(
            400, "invalid_request", f"rate limit exceeded; retry in {retry} seconds"
        )
    if form is None or not isinstance(grant, str):
        return _oauth_error(400, "invalid_request", f"a {FORM} body with grant_type is required")
    if grant != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    body = {
        "access_token": w.issue_token(org),
        "token_type": "bearer",
        "expires_in": org.token_expires_in,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.get("/api/v2/tokens/me")
async def tokens_me(request: web.Request) -> web.StreamResponse:
    """Who the token is: the org, and the OAuth client it was issued to."""
    org = exchange(request).require_org()
    organization = {
        "id": org.org_id,
        "name": org.display_name,
        "selfUri": f"/api/v2/organizations/{org.org_id}",
    }
    client: dict[str, Any] = {
        "id": org.client_id,
        "name": f"{org.display_name} orchestrator",
        "authorizedGrantType": "CLIENT-CREDENTIALS",
        "organization": {"id": org.org_id, "name": org.display_name},
        "selfUri": f"/api/v2/oauth/clients/{org.client_id}",
    }
    body = {
        "organization": organization,
        "homeOrganization": organization,
        "authorizedScope": sorted(org.permissions),
        # api.md spells it oAuthClient; the Genesys SDKs read OAuthClient. Both.
        "oAuthClient": client,
        "OAuthClient": client,
    }
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")
