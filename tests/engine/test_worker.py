"""The write algorithm against the sandbox: guards, conflicts, drift, 403, 429, lost answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.canonical import canonical_text
from orchestrator.engine.worker import recalled
from orchestrator.genesys.content import content_hash
from orchestrator.journal import Journal
from orchestrator.sandbox import Faults, Sandbox
from tests.support import CONFIGS, SandboxFactory, execute, make_plan, puts, statuses

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


EMEA = CONFIGS["emea-prod"]


async def test_rolls_every_config_back_to_the_previous_content(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Each config gets exactly one write, whose content is the previous version's."""
    before = {c: sandbox.config("canary", c) for c in CANARY}
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    result, data = await execute(plan, journal)
    assert result.exit_code == 0
    assert set(statuses(data).values()) == {"succeeded"}
    for config_id, old in before.items():
        now = sandbox.config("canary", config_id)
        assert now.version == old.version + 1
        writes = sandbox.writes("canary", config_id)
        assert len(writes) == 1
        previous = next(
            r for r in sandbox.requests if r.path.endswith(f"/versions/{old.version - 1}")
        )
        assert previous.status == 200
        assert writes[0].body["version"] == old.version + 1
    assert data["summary"]["succeeded"] == len(CANARY)


async def test_every_put_is_guarded_and_carries_only_writable_fields(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """If-Match is an ETag the server issued for that config; version = current + 1."""
    issued = {c: sandbox.config("canary", c).etag for c in CANARY}
    versions = {c: sandbox.config("canary", c).version for c in CANARY}
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY})
    await execute(plan, journal)
    writable = {"name", "description", "version", "deployed", "trafficPercent", "content"}
    for record in puts(sandbox):
        assert record.if_match == issued[record.resource_id]
        assert record.body["version"] == versions[record.resource_id] + 1
        assert set(record.body) <= writable


async def test_a_config_already_at_target_is_not_written(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Live content equal to the target: already_at_target, and no PUT at all."""
    config_id = CANARY[0]
    current = sandbox.config("canary", config_id).version
    plan = make_plan(tmp_path, sandbox.url, {"canary": [{"id": config_id, "to": current}]})
    result, data = await execute(plan, journal)
    assert statuses(data) == {config_id: "already_at_target"}
    assert puts(sandbox) == []
    assert result.exit_code == 0


async def test_a_stale_etag_is_re_read_and_retried(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A version bump by another writer: conflict, re-read, one effective write."""
    faults = {"canary": Faults(concurrent_writer_rate=0.5, concurrent_writer_mode="bump")}
    async with make_sandbox(faults=faults, rng_seed=7) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        result, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        assert data["http"]["conflicts"] > 0
        assert sum(i["conflicts"] for i in data["items"]) == data["http"]["conflicts"]
        conflicted = [r for r in puts(sb) if r.status == 409]
        assert conflicted
        for config_id in CANARY:
            assert len(sb.writes("canary", config_id)) == 1
        assert result.exit_code == 0


async def test_a_412_is_a_conflict_too(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A server answering a stale If-Match with 412: re-read and retry, one write each.

    (The 400 "does not match the current version" answer needs a right ETag with
    a wrong version, which this client never sends; tests/test_client.py proves
    it is read as a conflict, and the worker treats every conflict alike.)
    """
    faults = {"canary": Faults(concurrent_writer_rate=0.6, conflict_status=412)}
    async with make_sandbox(faults=faults, rng_seed=3) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        assert {r.status for r in puts(sb) if not r.applied} == {412}
        assert data["http"]["conflicts"] == len([r for r in puts(sb) if r.status == 412])
        for config_id in CANARY:
            assert len(sb.writes("canary", config_id)) == 1


async def test_drift_stops_without_writing(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Another writer changed the content since planning: drifted, not written."""
    config_id = CANARY[0]
    plan = make_plan(tmp_path, sandbox.url, {"canary": [config_id]})

    def other_writer() -> None:
        sandbox.edit_config("canary", config_id, description="changed by someone else")

    result, data = await execute(plan, journal, at_wave=other_writer)
    assert statuses(data) == {config_id: "drifted"}
    assert data["items"][0]["error"]["code"] == "drift"
    assert data["items"][0]["conflicts"] == 1
    assert sandbox.writes("canary") == []
    assert sandbox.config("canary", config_id).body["description"] == "changed by someone else"
    assert result.exit_code == 1


async def test_a_pure_version_bump_is_not_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A conflict whose re-read shows the planned content is retried, not drift."""
    config_id = CANARY[0]
    plan = make_plan(tmp_path, sandbox.url, {"canary": [config_id]})
    _result, data = await execute(
        plan, journal, at_wave=lambda: sandbox.edit_config("canary", config_id)
    )
    assert statuses(data) == {config_id: "succeeded"}
    assert data["items"][0]["conflicts"] == 1
    assert len(sandbox.writes("canary", config_id)) == 1


async def test_overwrite_writes_through_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """on_drift: overwrite writes the target although the content moved."""
    config_id = CANARY[0]
    target = sandbox.config("canary", config_id).version - 1
    plan = make_plan(
        tmp_path,
        sandbox.url,
        {"canary": [{"id": config_id, "on_drift": "overwrite", "to": target}]},
    )

    def other_writer() -> None:
        sandbox.edit_config("canary", config_id, description="changed by someone else")

    _, data = await execute(plan, journal, at_wave=other_writer)
    assert statuses(data) == {config_id: "succeeded"}
    assert len(sandbox.writes("canary", config_id)) == 1
    assert sandbox.config("canary", config_id).body["description"] != "changed by someone else"


async def test_a_403_stops_every_write_to_that_org(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """One failed, the rest skipped, and no PUT leaves after the 403 came back."""
    sandbox.set_permissions("emea-prod", ["agentassist:config:read"])
    plan = make_plan(
        tmp_path, sandbox.url, {"emea-prod": EMEA}, orgs={"emea-prod": {"concurrency": 1}}
    )
    result, data = await execute(plan, journal)
    counts = data["summary"]
    assert counts["failed"] == 1 and counts["skipped"] == len(EMEA) - 1
    failed = next(i for i in data["items"] if i["status"] == "failed")
    assert failed["error"]["http_status"] == 403
    assert failed["error"]["code"] == "missing.permissions"
    assert failed["error"]["correlation_id"]
    first_403 = next(r for r in sandbox.requests if r.status == 403)
    assert [r for r in puts(sandbox) if r.time > first_403.time] == []
    skipped = [i for i in data["items"] if i["status"] == "skipped"]
    assert all(
        "403" in i["error"]["message"] or "missing" in i["error"]["message"] for i in skipped
    )
    assert result.exit_code == 1


async def test_a_retry_after_beyond_max_retry_after_ends_rate_limited(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A 429 asking for 300 s with max_retry_after 180 s: rate_limited, wait stated."""
    plan = make_plan(
        tmp_path, sandbox.url, {"canary": CANARY[:2]}, orgs={"canary": {"concurrency": 1}}
    )
    throttle = Faults(throttle_rate=1.0, throttle_burst=1, throttle_retry_after=300)
    result, data = await execute(
        plan, journal, at_wave=lambda: sandbox.set_faults("canary", throttle)
    )
    assert set(statuses(data).values()) == {"rate_limited"}
    errors = [i["error"] for i in data["items"]]
    assert all(e["http_status"] == 429 and e["correlation_id"] for e in errors)
    assert sandbox.writes() == []
    # The first 429 paused the org: the second item never sent its write.
    assert len([r for r in sandbox.requests if r.status == 429]) == 1
    assert result.exit_code == 1


async def test_a_429_pauses_every_request_to_the_org(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """After a 429 no request reaches that org before Retry-After has passed."""
    faults = {"canary": Faults(throttle_rate=0.2, throttle_burst=1, throttle_retry_after=1)}
    async with make_sandbox(faults=faults, rng_seed=11) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        _result, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        throttled = [r for r in sb.requests if r.status == 429 and r.org == "canary"]
        assert throttled and data["http"]["rate_limited"] == len(throttled)
        api = [r for r in sb.requests if r.org == "canary" and r.path.startswith("/api/")]
        for hit in throttled:
            # Requests already in flight may land just after; none may be *sent* later.
            inside = [r for r in api if hit.time + 0.05 < r.time < hit.time + 0.95]
            assert inside == [], f"requests during the pause after {hit.correlation_id}"


async def test_http_date_retry_after_is_understood(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Retry-After as an HTTP date pauses and retries like seconds do."""
    faults = {
        "canary": Faults(
            throttle_rate=0.3, throttle_burst=1, throttle_retry_after=1, throttle_http_date=True
        )
    }
    async with make_sandbox(faults=faults, rng_seed=5) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY[:3]})
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        assert any(r.status == 429 for r in sb.requests)


async def test_a_dropped_connection_after_an_applied_write_is_not_written_twice(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """The answer is lost, the write happened: re-read, never re-send; one effective write."""
    async with make_sandbox(faults={"canary": Faults(drop_after_write_rate=1.0)}) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY})
        result, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        for config_id in CANARY:
            writes = sb.writes("canary", config_id)
            assert len(writes) == 1 and writes[0].dropped
            assert len([r for r in puts(sb) if r.resource_id == config_id]) == 1
        assert result.exit_code == 0


async def test_server_errors_are_retried_and_each_config_written_once(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """5xx on reads and writes: retried with backoff; exactly one effective write each."""
    async with make_sandbox(faults={"*": Faults(server_error_rate=0.25)}, rng_seed=2) as sb:
        plan = make_plan(
            tmp_path,
            sb.url,
            {"canary": CANARY, "emea-prod": EMEA},
            limits={"attempts": 12},
        )
        _, data = await execute(plan, journal)
        assert set(statuses(data).values()) == {"succeeded"}
        assert data["http"]["server_errors"] == len(
            [r for r in sb.requests if r.status and r.status >= 500]
        )
        assert data["http"]["server_errors"] > 0
        for org, ids in (("canary", CANARY), ("emea-prod", EMEA)):
            for config_id in ids:
                assert len(sb.writes(org, config_id)) == 1


async def test_attempts_exhausted_is_failed_with_the_last_error(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """A conflict on every write: failed after `attempts`, naming the last error."""
    faults = {"canary": Faults(concurrent_writer_rate=1.0, concurrent_writer_mode="bump")}
    async with make_sandbox(faults=faults) as sb:
        plan = make_plan(tmp_path, sb.url, {"canary": CANARY[:1]}, limits={"attempts": 3})
        _, data = await execute(plan, journal)
        item = data["items"][0]
        assert item["status"] == "failed"
        assert item["attempts"] == 3
        assert "gave up after 3 attempts" in item["error"]["message"]
        assert item["error"]["http_status"] == 409
        assert len(puts(sb)) == 3


async def test_set_forces_fields_on_top_of_the_target(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`set` overrides the restored content's fields in the write."""
    config_id = CANARY[0]
    plan = make_plan(
        tmp_path, sandbox.url, {"canary": [{"id": config_id, "set": {"trafficPercent": 7}}]}
    )
    _, data = await execute(plan, journal)
    assert statuses(data) == {config_id: "succeeded"}
    assert sandbox.config("canary", config_id).body["trafficPercent"] == 7


TRICKY = {
    "name": 'Büro \u2013 請求 \u2028 "quoted" \\ tab\t',
    "z": [1, 1.5, 0.1, -0.0, 1e-07, 12345678901234567890, True, None],
    "a": {"b": {"d": [], "c": {}}, "é": "ü"},
}


def test_a_recalled_target_is_the_content_planning_hashed() -> None:
    """Canonical text is taken as it is; older text is encoded again; anything else is refused."""
    want = content_hash(TRICKY)
    assert recalled(canonical_text(TRICKY), want) == TRICKY
    older = json.dumps(dict(reversed(list(TRICKY.items()))), separators=(",", ":"))
    assert "\\u" in older  # ASCII escapes, other key order: not the canonical bytes
    assert recalled(older, want) == TRICKY
    changed = canonical_text({**TRICKY, "name": "other"})
    assert recalled(changed, want) is None
    assert recalled('{"name": ', want) is None  # a damaged row
    assert recalled("[1]", content_hash({})) is None
    assert recalled(None, want) is None
