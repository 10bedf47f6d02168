"""Against a server that bends the contract: never claim a write that did not happen,
never hide one that may have, never crash.

Each test programs the hostile server (tests/hostile.py), runs a plan against
it, and asserts on the item's status, the run's exit code, the report, and
what the server saw and applied.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, Result, resumable, resume_run
from orchestrator.genesys.content import content_hash
from orchestrator.journal import Journal
from orchestrator.journal.rows import Snapshot
from orchestrator.planfile.loader import load_plan
from orchestrator.timestamps import stamp
from orchestrator.ui import report
from tests.hostile import (
    ASSISTANT_IDS,
    CLIENT_ID,
    CONFIG_IDS,
    ORG_ID,
    SECRET,
    Answer,
    Hostile,
    redirect,
)
from tests.support import approve_all, execute, write_plan

pytestmark = pytest.mark.anyio

ONE = CONFIG_IDS[0]
ORG = {"hostile": {"client_id": CLIENT_ID, "client_secret": SECRET, "org_id": ORG_ID}}


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server = Hostile()
    async with server.serve():
        yield server


def plan_for(tmp_path: Path, url: str, ids: tuple[str, ...] = (ONE,), **kw: Any) -> Path:
    return write_plan(tmp_path, url, {"hostile": list(ids)}, orgs=ORG, **kw)


def only(data: dict[str, Any]) -> dict[str, Any]:
    (item,) = data["items"]
    return item


async def events(journal: Journal, run_id: str) -> list[str]:
    return [e.event for e in await journal.events(run_id) if e.seq == 0]


async def resume(journal: Journal) -> tuple[Result, dict[str, Any]]:
    row = await resumable(journal, None)
    result = await resume_run(
        load_plan(row.plan_path),
        journal,
        row,
        observer=Observer(),
        approver=approve_all,
        options=Options(handle_signals=False),
    )
    assert result.run_id is not None
    return result, await report.build(journal, result.run_id)


LYING_ANSWERS = {
    "html": Answer(body=b"<html><body>Saved!</body></html>", content_type="text/html"),
    "empty-object": Answer(body={}),
    "204": Answer(status=204),
    "202": Answer(status=202, body={"status": "accepted"}),
    "another-version": Answer(body={"id": ONE, "name": "x", "version": 99}),
}


@pytest.mark.parametrize("lie", LYING_ANSWERS, ids=str)
async def test_a_write_that_never_happened_is_never_succeeded(
    hostile: Hostile, tmp_path: Path, journal: Journal, lie: str
) -> None:
    """Every PUT answered with a 2xx that is not the resource written: failed, nothing applied."""
    hostile.always("PUT", "/configs/", LYING_ANSWERS[lie])
    result, data = await execute(plan_for(tmp_path, hostile.url, limits={"attempts": 3}), journal)
    item = only(data)
    assert item["status"] == "failed"
    assert item["new_version"] is None
    assert "gave up after 3 attempts" in item["error"]["message"]
    assert "answer" in item["error"]["message"]
    assert result.exit_code == 1
    assert data["status"] == "failed"
    # Each lie was found out by a read showing the write had not landed: never re-sent blind.
    assert len(hostile.requests("PUT")) == 3 and hostile.applied(ONE) == 0
    assert (await events(journal, data["run_id"])).count("write.unknown") == 3
    puts = [s.time for s in hostile.requests("PUT")]
    gets = [s.time for s in hostile.requests("GET", f"/configs/{ONE}")]
    assert all(any(p < g < q for g in gets) for p, q in itertools.pairwise(puts))


@pytest.mark.parametrize("lie", LYING_ANSWERS, ids=str)
async def test_a_write_that_happened_behind_a_lying_answer_is_found_and_not_repeated(
    hostile: Hostile, tmp_path: Path, journal: Journal, lie: str
) -> None:
    """The server applied the PUT but answered nonsense: a re-read proves it; one write."""
    hostile.next("PUT", "/configs/", Answer(**{**_fields(LYING_ANSWERS[lie]), "apply": True}))
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    item = only(data)
    assert item["status"] == "succeeded"
    assert item["new_version"] == hostile.configs[ONE].version == 4
    assert result.exit_code == 0
    assert len(hostile.requests("PUT")) == 1 and hostile.applied(ONE) == 1
    assert "write.unknown" in await events(journal, data["run_id"])


async def test_a_2xx_that_is_not_the_resource_is_never_recorded_as_a_write_that_landed(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """A lying 2xx carries a correlation id: the journal names it as a write that may have
    landed (write.unknown), never as one confirmed, even after the item fails."""
    lie = Answer(body={}, headers={"ININ-Correlation-Id": "lying-2xx"})
    hostile.always("PUT", "/configs/", lie)
    _, data = await execute(plan_for(tmp_path, hostile.url, limits={"attempts": 2}), journal)
    item = only(data)
    assert item["status"] == "failed" and hostile.applied(ONE) == 0
    assert len(hostile.requests("PUT")) == 2
    trail = await events(journal, data["run_id"])
    assert trail.count("write.unknown") == 2 and "write.confirmed" not in trail
    assert item["write_correlation_ids"] == ["lying-2xx", "lying-2xx"]  # once per PUT sent


def _fields(answer: Answer) -> dict[str, Any]:
    return {k: getattr(answer, k) for k in ("status", "body", "headers", "content_type")}


async def test_a_redirected_put_is_not_followed_to_another_path(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """A 307 to another path: not re-sent there (no body, no token); the error names it."""
    hostile.always("PUT", "/configs/", redirect("/api/v2/elsewhere"))
    result, data = await execute(plan_for(tmp_path, hostile.url, limits={"attempts": 2}), journal)
    item = only(data)
    assert item["status"] == "failed"
    assert item["error"]["code"] == "redirected"
    assert "/api/v2/elsewhere" in item["error"]["message"]
    assert result.exit_code == 1
    assert hostile.requests(path_part="elsewhere") == [] and hostile.applied(ONE) == 0


async def test_a_redirected_put_is_not_followed_to_another_host(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """A 302 to another origin: that host sees nothing at all, neither body nor If-Match."""
    other = Hostile()
    async with other.serve():
        hostile.always("PUT", "/configs/", redirect(f"{other.url}/api/v2/x", status=302))
        plan = plan_for(tmp_path, hostile.url, limits={"attempts": 2})
        result, data = await execute(plan, journal)
    assert other.seen == []
    assert only(data)["status"] == "failed" and other.url in only(data)["error"]["message"]
    assert result.exit_code == 1


async def test_a_read_redirected_to_another_host_is_not_followed(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """Planning's GET redirected off-origin: not followed, so no baseline from there."""
    other = Hostile()
    async with other.serve():
        hostile.always("GET", f"/configs/{ONE}", redirect(f"{other.url}/api/v2/agentassist"))
        result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    assert other.seen == []
    item = only(data)
    assert (item["status"], item["error"]["code"]) == ("failed", "redirected")
    assert hostile.requests("PUT") == [] and result.exit_code == 1


async def test_a_read_redirected_within_the_origin_is_followed(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """A GET moved to another path of the same server is followed (and the run succeeds)."""
    moved = f"/api/v2/agentassist/configs/{ONE}?moved=1"
    hostile.next("GET", f"/configs/{ONE}", redirect(moved, status=301))
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    assert only(data)["status"] == "succeeded" and result.exit_code == 0
    assert hostile.requests("GET", "moved=1")


async def test_a_lost_answer_that_no_read_can_settle_is_unverified_then_resumed(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """Applied, answer dropped, every re-read 5xx: unverified write.unknown; resume finishes it."""

    def trouble() -> None:
        hostile.next("PUT", "/configs/", Answer(apply=True, drop=True))
        hostile.always("GET", "/configs/", Answer(status=503, body={"message": "busy"}))

    plan = plan_for(tmp_path, hostile.url, limits={"attempts": 3})
    result, data = await execute(plan, journal, at_wave=trouble)
    item = only(data)
    assert item["status"] == "unverified"
    assert item["error"]["code"] == "write.unknown"
    assert "may have happened" in item["error"]["message"]
    assert result.exit_code == 1
    assert hostile.applied(ONE) == 1
    markdown = await report.render(data, "markdown")
    assert f"orchestrator resume {data['run_id']}" in markdown and "write.unknown" in markdown
    hostile.reset()
    result, data = await resume(journal)
    assert only(data)["status"] == "succeeded" and result.exit_code == 0
    assert only(data)["new_version"] == 4
    assert len(hostile.requests("PUT")) == 1 and hostile.applied(ONE) == 1


async def test_a_config_without_an_etag_fails_before_any_write(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """No ETag on the read: an item error at planning; no intent journaled, no PUT."""
    body = hostile.configs[ONE].body()
    hostile.always("GET", f"/configs/{ONE}", Answer(body=body))
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    item = only(data)
    assert (item["status"], item["error"]["code"]) == ("failed", "answer.malformed")
    assert "ETag" in item["error"]["message"]
    assert "write.intended" not in await events(journal, data["run_id"])
    assert hostile.requests("PUT") == [] and result.exit_code == 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (Answer(body={"name": "x", "version": 3}, headers={"ETag": 'W/"3-x"'}), "ETag"),
        (Answer(body={"name": "x", "version": 3}, headers={"ETag": '"open'}), "ETag"),
        (Answer(body={"name": "x", "version": "3"}, headers={"ETag": '"3"'}), "version"),
        (Answer(body={"name": "x", "version": True}, headers={"ETag": '"3"'}), "version"),
        (Answer(body={"version": 3}, headers={"ETag": '"3"'}), "name"),
        (Answer(body=[1, 2], headers={"ETag": '"3"'}), "list"),
        (Answer(body=b"<html/>", content_type="text/html", headers={"ETag": '"3"'}), "JSON"),
        (Answer(body=b"[" * 100_000, headers={"ETag": '"3"'}), "JSON"),
        (Answer(body={"id": "other", "name": "x", "version": 3}, headers={"ETag": '"3"'}), "id"),
        # An escaped lone surrogate parses, but no UTF-8 text (a hash, a journal) can hold it.
        (Answer(body=b'{"name": "x\\ud800", "version": 3}', headers={"ETag": '"3"'}), "JSON"),
        (Answer(body=b'{"name": "x\xed\xa0\x80", "version": 3}', headers={"ETag": '"3"'}), "JSON"),
    ],
    ids=[
        "weak-etag",
        "odd-etag",
        "string-version",
        "bool-version",
        "no-name",
        "list",
        "html",
        "deep-json",
        "other-id",
        "lone-surrogate",
        "surrogate-bytes",
    ],
)
async def test_a_malformed_read_is_an_item_error(
    hostile: Hostile, tmp_path: Path, journal: Journal, answer: Answer, why: str
) -> None:
    """Odd ETags, wrong types, non-JSON: the item fails saying why; nothing is written."""
    hostile.always("GET", f"/configs/{ONE}", answer)
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    item = only(data)
    assert (item["status"], item["error"]["code"]) == ("failed", "answer.malformed")
    assert why in item["error"]["message"]
    assert "version 0" not in item["error"]["message"]
    assert hostile.requests("PUT") == [] and result.exit_code == 1


@pytest.mark.parametrize("where", ["/versions?", "/versions/"])
async def test_non_json_history_with_before_is_an_item_error(
    hostile: Hostile, tmp_path: Path, journal: Journal, where: str
) -> None:
    """`to: {before: T}` with an HTML history page or version body: failed, no write."""
    hostile.always("GET", where, Answer(body=b"<html/>", content_type="text/html"))
    plan = plan_for(tmp_path, hostile.url, defaults={"to": {"before": "2026-11-03T00:00:00Z"}})
    result, data = await execute(plan, journal)
    item = only(data)
    assert (item["status"], item["error"]["code"]) == ("failed", "answer.malformed")
    assert hostile.requests("PUT") == [] and result.exit_code == 1


@pytest.mark.parametrize(
    "answer",
    [
        Answer(body=b"<html/>", content_type="text/html"),
        Answer(body={"results": "none"}),
        Answer(body={"results": [{"configId": ONE, "activeVersion": True}]}),
        Answer(body={"results": [{"configId": ONE, "activeVersion": "99"}]}),
    ],
    ids=["html", "results-not-a-list", "bool-version", "string-version"],
)
async def test_verification_never_takes_an_odd_answer_for_live(
    hostile: Hostile, tmp_path: Path, journal: Journal, answer: Answer
) -> None:
    """The write landed; the analytics answer proves nothing: unverified, never succeeded."""
    hostile.always("POST", "/analytics/", answer)
    plan = plan_for(tmp_path, hostile.url, limits={"verify_timeout": "1s"})
    result, data = await execute(plan, journal)
    item = only(data)
    assert item["status"] == "unverified" and item["new_version"] == 4
    assert hostile.applied(ONE) == 1 and result.exit_code == 1


@pytest.mark.parametrize("value", ["-5", "nan", "abc", "0", "inf"])
async def test_an_odd_retry_after_still_waits(
    hostile: Hostile, tmp_path: Path, journal: Journal, value: str
) -> None:
    """A 429 with a Retry-After that says nothing usable: the retry waits the default pause."""
    hostile.next("PUT", "/configs/", Answer(status=429, headers={"Retry-After": value}))
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    assert only(data)["status"] == "succeeded" and result.exit_code == 0
    first, second = hostile.requests("PUT")
    assert second.time - first.time >= 0.95  # DEFAULT_RETRY_AFTER, however loaded the machine


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_429s_spend_the_item_budget_on_reads_and_writes_alike(
    hostile: Hostile, tmp_path: Path, journal: Journal, method: str
) -> None:
    """429 after 429 within max_retry_after: failed, attempts exhausted, on either side."""

    def throttle() -> None:
        throttled = Answer(status=429, headers={"Retry-After": "0.05"}, body={"message": "slow"})
        hostile.always(method, f"/configs/{ONE}", throttled)

    plan = plan_for(tmp_path, hostile.url, limits={"attempts": 3})
    if method == "GET":  # planning's read, throttled from the start
        throttle()
        result, data = await execute(plan, journal)
    else:
        result, data = await execute(plan, journal, at_wave=throttle)
    item = only(data)
    assert item["status"] == "failed"
    assert "gave up after 3 attempts" in item["error"]["message"]
    assert item["error"]["http_status"] == 429 and result.exit_code == 1
    assert hostile.applied(ONE) == 0


async def assistant_to_restore(
    tmp_path: Path, hostile: Hostile, journal: Journal, **extra: Any
) -> Path:
    """A snapshot of the assistant, Active (with ``extra``), and a plan restoring it."""
    (aid,) = ASSISTANT_IDS
    fields = {"name": "Helper", "state": "Active", "transcriptionConfig": {}, **extra}
    journal.add_snapshot(
        Snapshot(
            org="hostile",
            kind="assistant",
            resource_id=aid,
            taken_at=stamp(datetime(2026, 11, 29, 22, tzinfo=UTC)),
            source="snapshot",
            run_id=None,
            version=None,
            modified=None,
            content_hash=content_hash(fields),
            fields=fields,
        )
    )
    await journal.flush()
    item = {"id": aid, "kind": "assistant", "to": {"snapshot": "2026-11-29T22:00:00Z"}}
    return write_plan(tmp_path, hostile.url, {"hostile": [item]}, orgs=ORG, limits={"attempts": 2})


async def test_a_write_in_doubt_names_the_requests_of_it_that_landed_before(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """The PATCH lands (its answer has a correlation id), the copilot PUT gets a 500 each
    time: the item fails, the PATCH is named as landed, the PUTs as in doubt, none confirmed."""
    (aid,) = ASSISTANT_IDS
    hostile.assistants[aid]["copilot"] = {"enabled": False}
    plan = await assistant_to_restore(tmp_path, hostile, journal, copilot={"enabled": True})
    patched = Answer(
        body=lambda request: hostile.assistants[aid],
        apply=True,
        headers={"ININ-Correlation-Id": "the-patch"},
    )
    hostile.next("PATCH", "/assistants/", patched)
    failing = {"message": "down", "code": "internal.server.error", "status": 500}
    refused = Answer(status=500, body=failing, headers={"ININ-Correlation-Id": "a-put"})
    hostile.always("PUT", "/copilot", refused)
    result, data = await execute(plan, journal)
    item = only(data)
    assert item["status"] == "failed" and result.exit_code == 1
    assert [s.method for s in hostile.requests() if s.method in ("PATCH", "PUT")] == [
        "PATCH",
        "PUT",
        "PUT",
    ]
    assert hostile.assistants[aid]["state"] == "Active"  # the PATCH did land
    trail = await events(journal, data["run_id"])
    assert trail.count("write.unknown") == 2 and "write.confirmed" not in trail
    assert item["write_correlation_ids"] == ["the-patch", "a-put", "a-put"]


@pytest.mark.parametrize("applied", [False, True])
async def test_an_assistant_patch_is_confirmed_only_by_the_content_written(
    hostile: Hostile, tmp_path: Path, journal: Journal, applied: bool
) -> None:
    """A PATCH answered `{}`: applied, a read-back proves it (one PATCH); not, it fails."""
    (aid,) = ASSISTANT_IDS
    plan = await assistant_to_restore(tmp_path, hostile, journal)
    lie = Answer(body={}, apply=applied)
    if applied:
        hostile.next("PATCH", "/assistants/", lie)
    else:
        hostile.always("PATCH", "/assistants/", lie)
    result, data = await execute(plan, journal)
    patches = hostile.requests("PATCH")
    if applied:
        assert only(data)["status"] == "succeeded" and result.exit_code == 0
        assert len(patches) == 1 and hostile.assistants[aid]["state"] == "Active"
    else:
        assert only(data)["status"] == "failed" and result.exit_code == 1
        assert len(patches) == 2 and hostile.assistants[aid]["state"] == "Inactive"


async def test_a_resource_id_in_another_case_is_the_same_resource(
    hostile: Hostile, tmp_path: Path, journal: Journal
) -> None:
    """Ids are UUIDs: an answer naming the item's id in upper case is still its resource."""
    config = hostile.configs[ONE]
    body = {**config.body(), "id": ONE.upper()}
    hostile.next("GET", f"/configs/{ONE}", Answer(body=body, headers={"ETag": config.etag}))
    result, data = await execute(plan_for(tmp_path, hostile.url), journal)
    assert only(data)["status"] == "succeeded" and result.exit_code == 0
    assert hostile.applied(ONE) == 1
