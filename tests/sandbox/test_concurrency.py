"""Check-and-write is atomic: of many PUTs carrying one ETag, exactly one wins."""

from __future__ import annotations

from typing import Any

import aiohttp
import anyio
import pytest

from orchestrator.sandbox import Faults, Sandbox

pytestmark = pytest.mark.anyio

BILLING = "19cc7f17-becc-5e23-8534-27fd328a4d65"
ASSISTANT = "d5d30071-3a20-5442-b022-d4416f64cc99"


async def race(sb: Sandbox, auth: dict[str, str], writers: int) -> list[int]:
    """``writers`` PUTs of different content, all with the same ETag, on separate connections."""
    url = f"{sb.url}/api/v2/agentassist/configs/{BILLING}"
    async with aiohttp.ClientSession() as reader:
        response = await reader.get(url, headers=auth)
        body, etag = await response.json(), response.headers["ETag"]
    statuses: list[int] = []

    async def put(n: int) -> None:
        sent = {"name": body["name"], "version": body["version"] + 1, "content": {"writer": n}}
        async with aiohttp.ClientSession() as own:
            answer = await own.put(url, headers=auth | {"If-Match": etag}, json=sent)
            statuses.append(answer.status)

    async with anyio.create_task_group() as tg:
        for n in range(writers):
            tg.start_soon(put, n)
    return statuses


@pytest.mark.parametrize("latency", [0.0, 0.05], ids=["direct", "overlapping"])
@pytest.mark.parametrize(("conflict", "writers"), [(409, 2), (412, 2), (409, 8)])
async def test_one_etag_one_winner(
    make_sandbox: Any, login: Any, latency: float, conflict: int, writers: int
) -> None:
    """Concurrent PUTs with one ETag: one 200, the rest 409 (or 412), one new version."""
    faults = {"canary": Faults(latency=latency, conflict_status=conflict)}
    async with make_sandbox(faults=faults) as sb:
        statuses = await race(sb, await login(sb), writers)
        assert sorted(statuses) == [200] + [conflict] * (writers - 1)
        view = sb.config("canary", BILLING)
        assert view.versions[:2] == (7, 6) and len(view.versions) == 7
        [winner] = sb.writes("canary", BILLING)
        assert view.content == {"writer": winner.body["content"]["writer"]}
