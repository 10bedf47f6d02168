"""Valid plan and environment files: what the loader makes of them."""

from __future__ import annotations

import hashlib
import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.cli.parser import main
from orchestrator.errors import PlanError, UsageError
from orchestrator.models import (
    Kind,
    OnDrift,
    Secret,
    Threshold,
    ToBefore,
    ToPrevious,
    ToSnapshot,
    ToVersion,
)
from orchestrator.planfile.loader import load_environment, load_plan
from tests.support import ROOT, SANDBOX_DATA

SANDBOX_PLAN = ROOT / "orchestrator" / "sandbox" / "data" / "plan.yaml"
TEMPLATE_PLAN = ROOT / "environments" / "template" / "plan.yaml"
TEMPLATE_VARIABLES = {
    f"GC_PROD_{org}_{what}": f"{org.lower()}-{what.lower()}"
    for org in ("EU1", "EU2", "US1", "APAC1")
    for what in ("CLIENT_ID", "CLIENT_SECRET")
} | {"GC_PROD_US1_ORG_ID": "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9"}
EXAMPLES = sorted(
    [
        *(path for path in (ROOT / "environments").rglob("plan*.yaml") if "data" not in path.parts),
        *SANDBOX_DATA.glob("plan*.yaml"),
    ]
)

ORGS = """\
orgs:
  local-a:
    base_url: http://127.0.0.1:8787/
    client_id: local-a
    client_secret: local-a-secret
  local-b:
    base_url: http://localhost:9000
    client_id: local-b
    client_secret: local-b-secret
  eu:
    region: eu-west-1
    org_id: 8A5C2E44-0D1B-4F6E-9C1A-3B7D5E9F0A12
    client_id: ${EU_ID}
    client_secret: ${EU_SECRET}
    requests_per_minute: 120
    concurrency: 2
  us:
    domain: mypurecloud.com
    client_id: us-${EU_ID}
    client_secret: ${EU_SECRET}
"""
ENVIRON = {"EU_ID": "eu-client", "EU_SECRET": "eu-very-secret"}


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    """Write a dedented file into ``tmp_path``."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def inline_plan(tmp_path: Path, body: str) -> Path:
    """A plan with the ORGS above inline, then ``body``."""
    return write(tmp_path, "plan: 1\nname: p\n" + ORGS + textwrap.dedent(body))


def test_sandbox_plan_is_the_demo() -> None:
    """The shipped demo plan: 21 items, canary then the rest, the four special items."""
    plan = load_plan(SANDBOX_PLAN)
    assert plan.name == "revert-nov28"
    assert plan.path == SANDBOX_PLAN
    assert plan.sha256 == hashlib.sha256(SANDBOX_PLAN.read_bytes()).hexdigest()
    assert len(plan.items) == 21
    assert [(w.name, w.orgs) for w in plan.waves] == [
        ("canary", ("canary",)),
        ("rest", ("emea-prod", "amer-prod", "apac-prod", "latam-prod")),
    ]
    canary, rest = plan.waves
    assert (canary.max_failed, canary.bake, canary.approve) == (Threshold(count=0), 3.0, False)
    assert (rest.max_failed, rest.approve) == (Threshold(fraction=0.5), False)
    assert not any(w.approve for w in plan.waves)
    targets = {item.id: item.to for item in plan.items}
    assert targets["184aba11-9133-5f1b-8057-2291e379d5fa"] == ToVersion(1)
    before = datetime(2026, 11, 20, tzinfo=UTC)
    assert targets["a0b12203-10cf-5c5b-9a7e-ff2ea1f183e1"] == ToBefore(before)
    assert targets["6815224f-ed08-59c3-a64a-1d2cee084679"] == ToVersion(6)
    assert sum(isinstance(to, ToPrevious) for to in targets.values()) == 18
    assert [i.set for i in plan.items if i.set] == [{"deployed": True}]
    assert {i.on_drift for i in plan.items} == {OnDrift.STOP}
    assert (plan.limits.verify_timeout, plan.limits.request_timeout) == (20.0, 30.0)
    assert plan.limits.max_retry_after == 30.0
    assert (plan.limits.backoff.base, plan.limits.backoff.max) == (0.1, 2.0)
    assert plan.environment.org("canary").requests_per_minute == 120
    assert plan.environment.path == SANDBOX_PLAN.parent / "orgs.yaml"


def test_sandbox_url_rebases_the_shipped_orgs() -> None:
    """Every shipped sandbox org is on loopback, so all follow a sandbox on another port."""
    plan = load_plan(SANDBOX_PLAN, sandbox_url="http://127.0.0.1:54321/")
    assert {(o.api_base, o.login_base) for o in plan.environment.orgs} == {
        ("http://127.0.0.1:54321", "http://127.0.0.1:54321")
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_examples_validate(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orchestrator validate` accepts every shipped plan (templates with their variables)."""
    for name, value in TEMPLATE_VARIABLES.items():
        monkeypatch.setenv(name, value)
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: valid: plan ")
    assert err == ""


def test_template_needs_its_variables() -> None:
    """Without its variables the template fails, naming each one where it is used."""
    with pytest.raises(PlanError) as info:
        load_plan(TEMPLATE_PLAN, environ={})
    unset = {p.message.split()[2] for p in info.value.problems}
    assert unset == set(TEMPLATE_VARIABLES)
    assert {p.path for p in info.value.problems} >= {"orgs.prod-eu-1.client_secret"}


def test_template_resolves_regions_domains_and_variables() -> None:
    """Region and domain give https://api. and https://login.; ${VAR}s are substituted."""
    plan = load_plan(TEMPLATE_PLAN, environ=TEMPLATE_VARIABLES)
    eu = plan.environment.org("prod-eu-1")
    assert (eu.api_base, eu.login_base) == (
        "https://api.mypurecloud.ie",
        "https://login.mypurecloud.ie",
    )
    us = plan.environment.org("prod-us-1")
    assert us.api_base == "https://api.mypurecloud.com"
    assert us.org_id == "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    assert us.client_secret == "us1-client_secret"
    assert [w.approve for w in plan.waves] == [False, True, True]
    assert [w.orgs for w in plan.waves] == [
        ("prod-eu-1",),
        ("prod-eu-2",),
        ("prod-us-1", "prod-apac-1"),
    ]
    assert plan.schedule.not_before == datetime(2026, 11, 29, 22, tzinfo=UTC)


def test_environment_values(tmp_path: Path) -> None:
    """Secrets become Secret (hidden in repr), variables resolve, defaults fill in."""
    env = load_environment(write(tmp_path, ORGS, "orgs.yaml"), environ=ENVIRON)
    assert env.path == tmp_path / "orgs.yaml"
    eu = env.org("eu")
    assert isinstance(eu.client_secret, Secret)
    assert eu.client_secret == "eu-very-secret"
    assert "eu-very-secret" not in repr(eu) + repr(env)
    assert (eu.client_id, eu.org_id) == ("eu-client", "8a5c2e44-0d1b-4f6e-9c1a-3b7d5e9f0a12")
    assert (eu.requests_per_minute, eu.concurrency) == (120, 2)
    us = env.org("us")
    assert (us.client_id, us.requests_per_minute, us.concurrency) == ("us-eu-client", 300, 4)
    assert env.org("local-a").api_base == "http://127.0.0.1:8787"


def test_environ_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``environ=``, ${VAR} comes from os.environ."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    env = load_environment(write(tmp_path, ORGS, "orgs.yaml"))
    assert env.org("eu").client_id == "eu-client"


def test_sandbox_url_rebases_only_loopback_orgs(tmp_path: Path) -> None:
    """sandbox_url replaces loopback base URLs and never touches a real org."""
    path = write(tmp_path, ORGS, "orgs.yaml")
    env = load_environment(path, environ=ENVIRON, sandbox_url="http://127.0.0.1:40123")
    bases = {org.name: (org.api_base, org.login_base) for org in env.orgs}
    assert bases == {
        "local-a": ("http://127.0.0.1:40123", "http://127.0.0.1:40123"),
        "local-b": ("http://127.0.0.1:40123", "http://127.0.0.1:40123"),
        "eu": ("https://api.mypurecloud.ie", "https://login.mypurecloud.ie"),
        "us": ("https://api.mypurecloud.com", "https://login.mypurecloud.com"),
    }


@pytest.mark.parametrize("url", ["https://api.example.com", "http://10.0.0.1:8787", "nonsense"])
def test_sandbox_url_must_be_loopback(tmp_path: Path, url: str) -> None:
    """A sandbox URL that is not loopback is a usage error (exit 2)."""
    with pytest.raises(UsageError):
        load_environment(write(tmp_path, ORGS, "orgs.yaml"), environ=ENVIRON, sandbox_url=url)


def test_secret_values_never_appear_in_problems(tmp_path: Path) -> None:
    """A refused literal secret is named by its key, never shown."""
    text = ORGS.replace("${EU_SECRET}", "hunter2-real-secret")
    with pytest.raises(PlanError) as info:
        load_environment(write(tmp_path, text, "orgs.yaml"), environ=ENVIRON)
    assert "hunter2" not in str(info.value)
    assert [p.path for p in info.value.problems] == [
        "orgs.eu.client_secret",
        "orgs.us.client_secret",
    ]


@pytest.mark.parametrize(
    ("secret", "hidden"),
    [
        ("pa$sw0rd-xyz", "sw0rd"),
        ("0777", "0777"),
        ("on", "`on`"),
        ("1:30:00", "1:30"),
        ('"pre${NOPE}fix-zz"', "fix-zz"),
    ],
)
def test_a_literal_secret_is_never_quoted_by_a_problem(
    tmp_path: Path, secret: str, hidden: str
) -> None:
    """`$NAME` in a secret, or YAML-1.1-looking text: the problem names the key, not the value."""
    text = (
        "orgs:\n  o:\n    base_url: http://127.0.0.1:9\n    client_id: c\n"
        f"    client_secret: {secret}\n"
    )
    with pytest.raises(PlanError) as info:
        load_environment(write(tmp_path, text, "orgs.yaml"), environ={})
    (problem,) = info.value.problems
    assert problem.path == "orgs.o.client_secret"
    assert hidden not in str(info.value)


def test_a_fifo_or_a_folder_is_refused_at_once(tmp_path: Path) -> None:
    """A FIFO would block the read forever: refused without reading, like a folder."""
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO"), (tmp_path, "a folder")):
        with pytest.raises(PlanError, match=f"not a regular file \\({kind}\\)"):
            load_plan(path)
    env = tmp_path / "env"
    os.mkfifo(env)
    plan = write(tmp_path, "plan: 1\nname: p\nenvironments: env\ntargets: []\n", "p.yaml")
    with pytest.raises(PlanError, match=r"cannot read .*env: not a regular file"):
        load_plan(plan)


def test_items_defaults_and_overrides(tmp_path: Path) -> None:
    """Defaults fill every item; items override kind, to, on_drift; ids keep their text."""
    path = inline_plan(
        tmp_path,
        """\
        defaults:
          to: 3
          on_drift: overwrite
        targets:
          - org: eu
            configs:
              - short-id
              - 12345
              - {id: own, to: previous, on_drift: stop, set: {trafficPercent: 50}}
              - {id: asst, kind: assistant, to: {snapshot: "2026-11-27T23:00:00+01:00"}}
        """,
    )
    plan = load_plan(path, environ=ENVIRON)
    short, number, own, assistant = plan.items
    assert (short.id, short.kind, short.to, short.on_drift, short.set) == (
        "short-id",
        Kind.AGENTASSIST_CONFIG,
        ToVersion(3),
        OnDrift.OVERWRITE,
        {},
    )
    assert number.id == "12345"
    assert (own.to, own.on_drift, own.set) == (ToPrevious(), OnDrift.STOP, {"trafficPercent": 50})
    assert assistant.kind is Kind.ASSISTANT
    assert assistant.to == ToSnapshot(datetime(2026, 11, 27, 22, tzinfo=UTC))
    assert plan.environment.path is None


def test_defaults_set_must_suit_every_item_it_reaches(tmp_path: Path) -> None:
    """Without a kind in defaults, its set is checked per item, against the item's kind."""
    path = inline_plan(
        tmp_path,
        """\
        defaults:
          to: {before: 2026-11-28T00:00:00Z}
          set: {name: Restored, deployed: true}
        targets:
          - org: eu
            configs: [cfg, {id: asst, kind: assistant}]
        """,
    )
    with pytest.raises(PlanError) as info:
        load_plan(path, environ=ENVIRON)
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("targets[0].configs[1]", 28)
    assert "`set.deployed` from defaults (line 25) cannot apply to assistant" in problem.message


def test_set_merges_over_defaults(tmp_path: Path) -> None:
    """Item ``set`` keys win; the defaults' other keys stay."""
    path = inline_plan(
        tmp_path,
        """\
        defaults:
          to: previous
          set: {deployed: true, trafficPercent: 10}
        targets:
          - org: eu
            configs: [a, {id: b, set: {trafficPercent: 50, content: {rules: []}}}]
        """,
    )
    a, b = load_plan(path, environ=ENVIRON).items
    assert a.set == {"deployed": True, "trafficPercent": 10}
    assert b.set == {"deployed": True, "trafficPercent": 50, "content": {"rules": []}}


def test_assistant_before_and_snapshot(tmp_path: Path) -> None:
    """Assistants take {before: T} and {snapshot: T}; both become aware UTC instants."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {kind: assistant, to: {before: 2026-11-28T14:00:00+02:00}}
        targets:
          - org: eu
            configs: [a, {id: b, to: {snapshot: "2026-11-27T22:00:00Z"}}]
        """,
    )
    a, b = load_plan(path, environ=ENVIRON).items
    assert a.to == ToBefore(datetime(2026, 11, 28, 12, tzinfo=UTC))
    assert b.to == ToSnapshot(datetime(2026, 11, 27, 22, tzinfo=UTC))
    assert a.to.instant.tzinfo is UTC


def test_queue_bindings_and_checklists_are_items_of_their_own_kinds(tmp_path: Path) -> None:
    """One assistant id may be listed as assistant and as assistant-queues; set is per kind."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: {snapshot: "2026-11-27T22:00:00Z"}}
        targets:
          - org: eu
            configs:
              - {id: a, kind: assistant, set: {copilot: {enabled: false}}}
              - {id: a, kind: assistant-queues, to: {before: "2026-11-28T00:00:00Z"}}
              - {id: c, kind: agent-checklist, set: {language: en-GB}}
        """,
    )
    assistant, queues, checklist = load_plan(path, environ=ENVIRON).items
    assert [i.kind for i in (assistant, queues, checklist)] == [
        Kind.ASSISTANT,
        Kind.ASSISTANT_QUEUES,
        Kind.AGENT_CHECKLIST,
    ]
    assert assistant.set == {"copilot": {"enabled": False}}
    assert queues.to == ToBefore(datetime(2026, 11, 28, tzinfo=UTC))
    assert checklist.set == {"language": "en-GB"}
    assert len({i.key for i in (assistant, queues, checklist)}) == 3


def test_default_wave_holds_every_target_org_in_order(tmp_path: Path) -> None:
    """Without waves: one wave `all`, orgs in order of first appearance, no gates."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets:
          - {org: us, configs: [a]}
          - {org: eu, configs: [a]}
          - {org: us, configs: [b]}
        """,
    )
    (wave,) = load_plan(path, environ=ENVIRON).waves
    assert (wave.name, wave.orgs, wave.max_failed, wave.bake, wave.approve) == (
        "all",
        ("us", "eu"),
        Threshold(),
        0.0,
        False,
    )
    assert wave.max_failed.allowed(10) == 10


def test_waves_globs_and_star(tmp_path: Path) -> None:
    """ "*" takes what no other wave names, even a later one; globs match target orgs."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets:
          - {org: local-a, configs: [a]}
          - {org: eu, configs: [a]}
          - {org: local-b, configs: [a]}
          - {org: us, configs: [a]}
        waves:
          - {name: first, orgs: ["*"], max_failed: 2}
          - {name: locals, orgs: ["local-*", local-a], max_failed: "12.5%", bake: 500ms}
          - {name: last, orgs: [us], bake: 2m, approve: true}
        """,
    )
    plan = load_plan(path, environ=ENVIRON)
    assert [(w.name, w.orgs) for w in plan.waves] == [
        ("first", ("eu",)),
        ("locals", ("local-a", "local-b")),
        ("last", ("us",)),
    ]
    first, locals_, last = plan.waves
    assert first.max_failed == Threshold(count=2)
    assert locals_.max_failed == Threshold(fraction=0.125)
    assert (locals_.bake, last.bake, last.approve) == (0.5, 120.0, True)
    assert plan.wave_of("local-b") is locals_


def test_waves_by_count_take_the_next_unplaced_orgs_in_plan_order(tmp_path: Path) -> None:
    """`orgs: 1` then `"50%"` (rounded up) of what is left, skipping named orgs, then "*"."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets:
          - {org: local-a, configs: [a]}
          - {org: eu, configs: [a]}
          - {org: local-b, configs: [a]}
          - {org: us, configs: [a]}
        waves:
          - {name: canary, orgs: 1}
          - {name: half, orgs: "50%"}
          - {name: rest, orgs: ["*"]}
          - {name: named, orgs: [eu]}
        """,
    )
    plan = load_plan(path, environ=ENVIRON)
    assert [(w.name, w.orgs) for w in plan.waves] == [
        ("canary", ("local-a",)),
        ("half", ("local-b",)),  # 50% of the 2 left unnamed (local-b, us)
        ("rest", ("us",)),
        ("named", ("eu",)),
    ]


@pytest.mark.parametrize(
    ("orgs", "message"),
    [
        ("0", "expected a list of orgs, a count >= 1"),
        ('"0%"', "expected a list of orgs, a count >= 1"),
        ("true", "expected a list of orgs, a count >= 1"),
        ("5", "wave 'more' finds no org left to place"),
    ],
)
def test_a_wave_by_count_must_find_orgs(tmp_path: Path, orgs: str, message: str) -> None:
    """A count of nothing, or a count with no org left, is a problem with its line."""
    path = inline_plan(
        tmp_path,
        f"""\
        defaults: {{to: previous}}
        targets: [{{org: eu, configs: [a]}}]
        waves:
          - {{name: first, orgs: [eu]}}
          - {{name: more, orgs: {orgs}}}
        """,
    )
    with pytest.raises(PlanError) as caught:
        load_plan(path, environ=ENVIRON)
    assert message in str(caught.value)
    assert "waves[1].orgs" in str(caught.value)


def test_a_wave_may_name_an_org_without_targets(tmp_path: Path) -> None:
    """An environment org without targets in a wave is fine: it has nothing to run."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets: [{org: eu, configs: [a]}]
        waves: [{name: w, orgs: [eu, us]}]
        """,
    )
    assert load_plan(path, environ=ENVIRON).waves[0].orgs == ("eu",)


def test_limits_and_schedule(tmp_path: Path) -> None:
    """Durations become seconds, instants aware UTC datetimes; unset limits keep defaults."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets: [{org: eu, configs: [a]}]
        limits:
          concurrency: 8
          backoff: {max: 1h}
          verify_timeout: 1.5
          request_timeout: 10s
        schedule:
          not_before: "2026-11-29T23:00:00+01:00"
          not_after: 2026-11-30T04:00:00Z
        """,
    )
    plan = load_plan(path, environ=ENVIRON)
    limits = plan.limits
    assert (limits.concurrency, limits.attempts) == (8, 8)
    assert (limits.backoff.base, limits.backoff.max) == (0.2, 3600.0)
    assert (limits.verify_timeout, limits.max_retry_after, limits.request_timeout) == (
        1.5,
        180.0,
        10.0,
    )
    assert plan.schedule.not_before == datetime(2026, 11, 29, 22, tzinfo=UTC)
    assert plan.schedule.not_after == datetime(2026, 11, 30, 4, tzinfo=UTC)


def test_aliases_are_shared_not_copied(tmp_path: Path) -> None:
    """An anchored set or id list can be reused; each use becomes its own item."""
    path = inline_plan(
        tmp_path,
        """\
        defaults: {to: previous}
        targets:
          - {org: eu, configs: &ids [a, b]}
          - {org: us, configs: *ids}
        """,
    )
    plan = load_plan(path, environ=ENVIRON)
    assert [item.key for item in plan.items] == [
        ("eu", "agentassist-config", "a"),
        ("eu", "agentassist-config", "b"),
        ("us", "agentassist-config", "a"),
        ("us", "agentassist-config", "b"),
    ]


def test_problems_come_plan_first_then_environment_by_line(tmp_path: Path) -> None:
    """Every problem of both files, the plan's first, each file's in line order."""
    write(tmp_path, ORGS.replace("${EU_ID}", "${MISSING}"), "orgs.yaml")
    path = write(
        tmp_path,
        """\
        plan: 1
        name: p
        environments: orgs.yaml
        targets: [{org: eu, configs: [a]}]
        limits: {attempts: 0}
        """,
    )
    with pytest.raises(PlanError) as info:
        load_plan(path, environ=ENVIRON)
    where = [(Path(p.file).name, p.line) for p in info.value.problems]
    assert where == [
        ("plan.yaml", 4),
        ("plan.yaml", 5),
        ("orgs.yaml", 13),
        ("orgs.yaml", 19),
    ]


def test_path_may_be_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative plan path is resolved to an absolute Plan.path."""
    write(
        tmp_path,
        "plan: 1\nname: p\n" + ORGS + "defaults: {to: 1}\ntargets: [{org: eu, configs: [a]}]\n",
    )
    monkeypatch.chdir(tmp_path)
    plan = load_plan("plan.yaml", environ=ENVIRON)
    assert plan.path == tmp_path / "plan.yaml"
    assert plan.path.is_absolute()
