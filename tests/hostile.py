"""A server that bends the contract on demand: the tests' adversary, beside the sandbox.

One org on 127.0.0.1 (port 0): the OAuth token, ``tokens/me``, Agent Assist
configs (GET, PUT with If-Match and version + 1, history, the analytics
query) and assistants (GET, PATCH). By default every answer is the
contract's. A test programs what the next matching requests get instead:

    hostile.next("PUT", "/configs/", Answer(status=204, apply=True))
    hostile.always("GET", "/configs/", Answer(status=503))
    hostile.next("PUT", "/configs/", redirect(f"{other.url}/elsewhere"))

``apply=True`` lets the write happen first (the server did it, the answer
lies about it). Every request is logged with its headers and body, whether
it was applied, and what was answered; a second instance stands in for
another origin.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from aiohttp import web

ORG_ID = "0d3a1c55-8b3e-4f7a-9d7c-2e1f0a9b8c7d"
CLIENT_ID = "hostile"
SECRET = "hostile-secret"
CONFIG_IDS = ("c0nf1g-aaaa", "c0nf1g-bbbb", "c0nf1g-cccc")
ASSISTANT_IDS = ("a551st-aaaa",)
WRITABLE = ("name", "description", "deployed", "trafficPercent", "content")

Body = Any | Callable[[web.Request], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What a programmed request gets instead of the contract's answer."""

    status: int = 200
    body: Body = None  # JSON-able, bytes as they are, or a function of the request
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    apply: bool = False  # a write: apply it first, then answer this
    drop: bool = False  # close the connection without any answer


def redirect(location: str, status: int = 307) -> Answer:
    """A redirect to ``location`` (absolute, or a path on this server)."""
    return Answer(status=status, headers={"Location": location})


def echo_authorization(status: int = 401) -> Answer:
    """The token endpoint's refusal, quoting the Authorization header it received."""
    return Answer(
        status=status,
        body=lambda request: {
            "error": f"invalid_client {request.headers.get('Authorization')}",
            "error_description": f"bad credentials: {request.headers.get('Authorization')}",
        },
        headers={"ININ-Correlation-Id": "echo"},
    )


@dataclass(slots=True)
class Seen:
    """One request as the server saw it, and what it did with it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    time: float = field(default_factory=time.monotonic)  # when it arrived
    status: int | None = None  # None: dropped without an answer
    applied: bool = False
    programmed: bool = False


SEEN = web.RequestKey("seen", Seen)


@dataclass(slots=True)
class Config:
    """One config: every version's writable content, newest last."""

    id: str
    versions: list[dict[str, Any]]

    @property
    def version(self) -> int:
        return len(self.versions)

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(json.dumps(self.versions[-1], sort_keys=True).encode())
        return f'"{self.version}-{digest.hexdigest()[:12]}"'

    def body(self, number: int | None = None) -> dict[str, Any]:
        number = number or self.version
        return {
            "id": self.id,
            **self.versions[number - 1],
            "version": number,
            "dateCreated": f"2026-11-{number:02d}T10:00:00.000Z",
            "dateModified": f"2026-11-{number:02d}T10:00:00.000Z",
            "selfUri": f"/api/v2/agentassist/configs/{self.id}",
        }


def _content(config_id: str, number: int) -> dict[str, Any]:
    return {
        "name": f"Config {config_id}",
        "description": f"version {number}",
        "deployed": True,
        "trafficPercent": 10 * number,
        "content": {"rules": [{"threshold": number / 10}], "settings": {"turns": number}},
    }


class Hostile:
    """The programmable server (see the module docstring)."""

    def __init__(self, *, versions: int = 3, secret: str = SECRET) -> None:
        self.secret = secret
        self.configs = {
            cid: Config(cid, [_content(cid, n) for n in range(1, versions + 1)])
            for cid in CONFIG_IDS
        }
        self.assistants = {
            aid: {"id": aid, "name": "Helper", "state": "Inactive", "transcriptionConfig": {}}
            for aid in ASSISTANT_IDS
        }
        self.seen: list[Seen] = []
        self.tokens: list[str] = []
        self.url = ""
        self._once: list[tuple[str, str, Answer]] = []
        self._always: list[tuple[str, str, Answer]] = []

    # ----- programming -----------------------------------------------------

    def next(self, method: str, path_part: str, *answers: Answer) -> None:
        """The next matching requests (method, and ``path_part`` in the path) get ``answers``."""
        self._once += [(method, path_part, a) for a in answers]

    def always(self, method: str, path_part: str, answer: Answer) -> None:
        """Every matching request from now on gets ``answer`` (after any ``next``)."""
        self._always.append((method, path_part, answer))

    def reset(self) -> None:
        """Back to the contract's answers."""
        self._once.clear()
        self._always.clear()

    # ----- what happened ---------------------------------------------------

    def requests(self, method: str | None = None, path_part: str = "") -> list[Seen]:
        """Logged requests, optionally of one method and path."""
        return [
            s for s in self.seen if (method is None or s.method == method) and path_part in s.path
        ]

    def applied(self, config_id: str) -> int:
        """How many writes to ``config_id`` were applied."""
        return len([s for s in self.seen if s.applied and config_id in s.path])

    # ----- serving ---------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 in the current loop; yields the base URL."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/api/v2/tokens/me", self._me)
        base = "/api/v2/agentassist/configs/{cid}"
        app.router.add_get(base, self._get_config)
        app.router.add_put(base, self._put_config)
        app.router.add_get(base + "/versions", self._versions)
        app.router.add_get(base + "/versions/{number}", self._version)
        app.router.add_post("/api/v2/analytics/agentassist/conversations/query", self._active)
        app.router.add_get("/api/v2/assistants/{aid}", self._get_assistant)
        app.router.add_patch("/api/v2/assistants/{aid}", self._patch_assistant)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            yield self.url
        finally:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()

    def _programmed(self, method: str, path: str) -> Answer | None:
        for i, (m, part, answer) in enumerate(self._once):
            if m == method and part in path:
                del self._once[i]
                return answer
        for m, part, answer in self._always:
            if m == method and part in path:
                return answer
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        seen = Seen(request.method, request.path_qs, dict(request.headers), await request.read())
        self.seen.append(seen)
        request[SEEN] = seen
        answer = self._programmed(request.method, request.path_qs)
        if answer is None:
            try:
                response: web.StreamResponse = await handler(request)
            except web.HTTPException as refusal:
                seen.status = refusal.status
                raise
        else:
            seen.programmed = True
            if answer.apply:
                with contextlib.suppress(web.HTTPException):  # refused: nothing applied
                    await handler(request)
            if answer.drop:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=204)  # never reaches the client
            response = _respond(answer, request)
        seen.status = response.status
        return response

    def _authorized(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise _failure(401, "bad.credentials", "Invalid login credentials")

    async def _token(self, request: web.Request) -> web.StreamResponse:
        expected = base64.b64encode(f"{CLIENT_ID}:{self.secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"hostile-token-{len(self.tokens)}-{hashlib.sha256(expected.encode()).hexdigest()}"
        self.tokens.append(token)
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400}
        )

    async def _me(self, request: web.Request) -> web.StreamResponse:
        self._authorized(request)
        return web.json_response({"organization": {"id": ORG_ID, "name": "Hostile Org"}})

    def _config(self, request: web.Request) -> Config:
        self._authorized(request)
        config = self.configs.get(request.match_info["cid"])
        if config is None:
            raise _failure(404, "not.found", "no such config")
        return config

    async def _get_config(self, request: web.Request) -> web.StreamResponse:
        config = self._config(request)
        return web.json_response(config.body(), headers={"ETag": config.etag})

    async def _put_config(self, request: web.Request) -> web.StreamResponse:
        config = self._config(request)
        body = json.loads(await request.read())
        if_match = request.headers.get("If-Match")
        if not if_match:
            raise _failure(428, "precondition.required", "If-Match is required")
        if if_match != config.etag:
            raise _failure(409, "general.resource.conflict", "If-Match is not the current ETag")
        if body.get("version") != config.version + 1:
            raise _failure(409, "version.mismatch", "version is not current + 1")
        config.versions.append({k: body[k] for k in WRITABLE if k in body})
        request[SEEN].applied = True
        return web.json_response(config.body(), headers={"ETag": config.etag})

    async def _versions(self, request: web.Request) -> web.StreamResponse:
        config = self._config(request)
        entities = [
            {"id": str(n), "version": n, "dateCreated": config.body(n)["dateCreated"]}
            for n in range(config.version, 0, -1)
        ]
        return web.json_response({"entities": entities, "pageCount": 1, "pageNumber": 1})

    async def _version(self, request: web.Request) -> web.StreamResponse:
        config = self._config(request)
        return web.json_response(config.body(int(request.match_info["number"])))

    async def _active(self, request: web.Request) -> web.StreamResponse:
        self._authorized(request)
        config_id = json.loads(await request.read())["filter"]["configId"]
        active = self.configs[config_id].version
        return web.json_response({"results": [{"configId": config_id, "activeVersion": active}]})

    async def _get_assistant(self, request: web.Request) -> web.StreamResponse:
        self._authorized(request)
        return web.json_response(self.assistants[request.match_info["aid"]])

    async def _patch_assistant(self, request: web.Request) -> web.StreamResponse:
        self._authorized(request)
        assistant = self.assistants[request.match_info["aid"]]
        assistant.update(json.loads(await request.read()))
        request[SEEN].applied = True
        return web.json_response(assistant)


_ERRORS: dict[int, type[web.HTTPException]] = {
    401: web.HTTPUnauthorized,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    428: web.HTTPPreconditionRequired,
}


def _failure(status: int, code: str, message: str) -> web.HTTPException:
    body = json.dumps({"message": message, "code": code, "status": status})
    return _ERRORS[status](text=body, content_type="application/json")


def _respond(answer: Answer, request: web.Request) -> web.StreamResponse:
    body = answer.body(request) if callable(answer.body) else answer.body
    if body is None:
        raw = b""
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode()
    response = web.Response(status=answer.status, body=raw or None, headers=dict(answer.headers))
    if raw:
        response.content_type = answer.content_type
    return response
