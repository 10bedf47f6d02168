"""The floor: the baseline's four requests per rollback through bare aiohttp, and nothing else.

``python -m orchestrator.bench.floor URL TARGETS CONCURRENCY`` logs in to every
org of ``TARGETS`` (a JSON file: org -> ``[[config_id, version or null]]``)
and rolls each config back exactly as :mod:`orchestrator.bench.baseline`
does (GET the config, GET the target version, PUT it with ``If-Match`` and
version + 1, POST the analytics query until the new version is active), with
CONCURRENCY rollbacks in flight on one aiohttp session. It prints its
figures as one JSON line.

What it leaves out is what the orchestrator exists for: no journal, no plan,
no diff, no field checks, no pacing, no retries, no resource lock, no log
line, no report. Its CPU per rollback is therefore what the four requests
alone cost through the HTTP client the orchestrator is built on: beside the
SDK's figure it shows how much of a CPU budget (issue 16: a third of the
SDK's) is spent before the orchestrator does anything of its own.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import anyio

from orchestrator import jsontext
from orchestrator.bench.measure import answer, timed
from orchestrator.bench.plans import secret_of

_T = TypeVar("_T")

CONFIG = "/api/v2/agentassist/configs/"
QUERY = "/api/v2/analytics/agentassist/conversations/query"
JSON = "application/json"
VERIFY_POLLS = 60  # as the baseline polls
VERIFY_INTERVAL = 0.5
SHOWN_ERRORS = 5
ONCE: dict[str, Any] = {"allow_redirects": False}  # a redirect is a refusal, never followed


class Refused(Exception):
    """An answer that is not a 2xx (a redirect included), or a version that never became active."""


async def _json(resp: aiohttp.ClientResponse) -> Any:
    body = await resp.read()
    if not 200 <= resp.status < 300:
        raise Refused(f"{resp.method} {resp.url.path}: {resp.status} {body[:200]!r}")
    return jsontext.loads(body)


async def login(session: aiohttp.ClientSession, url: str, org: str) -> str:
    """``org``'s access token (client credentials, as the sandbox seeds them)."""
    basic = base64.b64encode(f"{org}:{secret_of(org)}".encode()).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    form = "grant_type=client_credentials"
    async with session.post(url + "/oauth/token", data=form, headers=headers, **ONCE) as resp:
        token: str = (await _json(resp))["access_token"]
    return token


async def rollback(
    session: aiohttp.ClientSession, url: str, token: str, config_id: str, to: int | None
) -> None:
    """Roll one config back to version ``to`` (None: the previous one), then wait until live.

    Raises:
        Refused: a refusal, or the new version never became active.
    """
    auth = {"Authorization": f"Bearer {token}"}
    path = url + CONFIG + config_id
    async with session.get(path, headers=auth, **ONCE) as resp:
        live = await _json(resp)
        etag = resp.headers["ETag"]
    wanted = live["version"] - 1 if to is None else to
    async with session.get(f"{path}/versions/{wanted}", headers=auth, **ONCE) as resp:
        old = await _json(resp)
    new = live["version"] + 1
    body = jsontext.dumps({**old, "version": new})  # read-only fields are ignored by the API
    posting = {**auth, "Content-Type": JSON}
    async with session.put(path, data=body, headers={**posting, "If-Match": etag}, **ONCE) as resp:
        await _json(resp)
    query = jsontext.dumps({"filter": {"configId": config_id}})
    for _ in range(VERIFY_POLLS):
        async with session.post(url + QUERY, data=query, headers=posting, **ONCE) as resp:
            results = (await _json(resp)).get("results") or []
        active = [r.get("activeVersion") for r in results]
        if any(isinstance(v, int) and v >= new for v in active):
            return
        await anyio.sleep(VERIFY_INTERVAL)
    raise Refused(f"{config_id}: version {new} never became active")


async def _each(concurrency: int, items: Iterable[_T], do: Callable[[_T], Awaitable[None]]) -> None:
    """``do`` every item, ``concurrency`` at a time (a fixed crew, as a thread pool)."""
    queue = iter(items)

    async def crew() -> None:
        for item in queue:  # one iterator shared by the crew: each item is taken once
            await do(item)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(crew)


async def run(
    url: str, targets: Mapping[str, Sequence[Sequence[Any]]], concurrency: int
) -> dict[str, Any]:
    """Log in to every org, roll every config back; counts of what went well and wrong."""
    errors: list[str] = []
    tokens: dict[str, str] = {}
    succeeded = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sign_in(org: str) -> None:
            tokens[org] = await login(session, url, org)

        async def one(item: tuple[str, str, int | None]) -> None:
            nonlocal succeeded
            org, config_id, to = item
            try:
                await rollback(session, url, tokens[org], config_id, to)
            except (Refused, aiohttp.ClientError, KeyError, TypeError, ValueError) as exc:
                errors.append(f"{config_id}: {str(exc)[:200]}")
            else:
                succeeded += 1

        await _each(concurrency, targets, sign_in)
        items = [(org, cid, to) for org in targets for cid, to in targets[org]]
        await _each(concurrency, items, one)
    return {
        "items": len(items),
        "succeeded": succeeded,
        "failed": len(items) - succeeded,
        "errors": errors[:SHOWN_ERRORS],
    }


def main(argv: list[str]) -> None:
    """Child: run the floor, print rollbacks/s, CPU per rollback and peak RSS as JSON."""
    url, targets_path, concurrency = argv[0], Path(argv[1]), int(argv[2])
    targets = json.loads(targets_path.read_text())
    answer(timed(lambda: anyio.run(run, url, targets, concurrency, backend="asyncio")))


if __name__ == "__main__":
    main(sys.argv[1:])
