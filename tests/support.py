"""What many tests share: the seed's ids, plan files on a sandbox, running them, a clock."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import PureCloudPlatformClientV2 as genesys
import yaml

from orchestrator.engine.events import Observer, WaveStarted
from orchestrator.engine.run import Options, Result, run_plan
from orchestrator.journal import Journal
from orchestrator.models import Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import RequestRecord, Sandbox
from orchestrator.ui import report

ROOT = Path(__file__).resolve().parent.parent
ACTOR = "tester@ci"  # every test acts as this operator (conftest sets it)
SANDBOX_DATA = ROOT / "orchestrator" / "sandbox" / "data"
SEED_PATH = SANDBOX_DATA / "seed.yaml"

ORG_IDS = {
    "canary": "37104616-be01-5864-95e3-a7a637fffc9d",
    "emea-prod": "6bf20828-23b1-5608-aeaf-43bd310cac84",
    "amer-prod": "5b0af383-96fa-5567-b24c-f888dabe50a9",
    "apac-prod": "86bc6917-7c01-50be-8c2c-246284fdcaee",
    "latam-prod": "a720ce23-ffc5-5178-bcc7-b72a2878f4da",
}
CONFIGS = {
    "canary": [
        "19cc7f17-becc-5e23-8534-27fd328a4d65",
        "d3e27a42-edd9-5fa3-9019-1b77e651243d",
        "77ab7ce6-c1a1-594e-996b-ec466abca695",
        "1743d0a7-d63d-5e81-93d0-ad08b31651e9",
        "22b501d2-0ea0-50ef-9e42-131f3e783c94",
    ],
    "emea-prod": [
        "6595ab42-008d-59b7-ae99-f71edc49f71f",
        "2834ebb4-80bf-5671-aa55-9b5a2a2d4d65",
        "78a21d85-e755-5e29-a448-c9619162622d",
        "184aba11-9133-5f1b-8057-2291e379d5fa",
        "d144ec01-034b-5b46-8c55-3dcfefdc9d9a",
    ],
    "amer-prod": [
        "bb4e537f-6c51-5351-a458-3070ea2df1ab",
        "6815224f-ed08-59c3-a64a-1d2cee084679",
        "a0b12203-10cf-5c5b-9a7e-ff2ea1f183e1",
        "4b2cef1f-5077-559b-a77f-7ae983237b68",
        "af7a941e-62f2-5d8c-9ce7-0ddb9d83f533",
    ],
    "apac-prod": [
        "f4b71654-b36b-55c2-a9ca-9eba63683b6a",
        "3a0db82a-ccef-5306-b9f8-3b76c639c410",
        "a562b995-6d18-5642-892c-0dc4a3c840c9",
        "fbf2dfff-87d9-5589-b454-db7c44f58d5f",
        "374348f7-6e48-583a-8b24-097c3bbf8153",
    ],
    "latam-prod": [
        "01b2b2d2-88b9-53a7-86b9-e74eadb62a18",
        "1ffcd9a2-23ca-5aa4-8aed-711fd65b1518",
        "d2b76eff-acb2-55db-ac95-c45ef255a386",
        "63dc001b-d758-5d7e-a477-a0b0f0c6fe91",
        "af97e347-beb5-5b6b-8f04-9e2c05bcab0d",
    ],
}
ASSISTANTS = {
    "canary": [
        "d5d30071-3a20-5442-b022-d4416f64cc99",
        "9bd9322c-c4dd-5650-b462-ec0b56c8a5dc",
        "a709ecee-1cd5-51fa-8cf9-6d7661e3cbc1",
    ],
    "emea-prod": [
        "0a31cd07-f23f-59d1-9349-275ab4a9f0b2",
        "c4ee894b-211b-5805-87ab-4f8122feb58d",
        "98fca21d-b43b-5e09-91d7-7ac1832ab93d",
    ],
}
CHECKLISTS = {
    "canary": [
        "c80cb074-429c-5cb0-af32-6c95685db7f2",  # Billing call checklist
        "67bd6284-996c-5267-944a-2caadf689c8d",  # Claims call checklist
    ],
}
# Fast limits for tests: the sandbox answers in microseconds.
FAST_LIMITS = {
    "backoff": {"base": "10ms", "max": "50ms"},
    "verify_timeout": "5s",
    "request_timeout": "5s",
}


def org_entry(url: str, name: str, **overrides: Any) -> dict[str, Any]:
    """An inline ``orgs:`` entry for a seeded org on the sandbox at ``url``."""
    entry: dict[str, Any] = {
        "base_url": url,
        "org_id": ORG_IDS.get(name),
        "client_id": name,
        "client_secret": f"{name}-secret",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def write_plan(
    directory: Path,
    url: str,
    targets: Mapping[str, Sequence[Any]],
    *,
    name: str = "test-plan",
    defaults: Mapping[str, Any] | None = None,
    waves: Sequence[Mapping[str, Any]] | None = None,
    limits: Mapping[str, Any] | None = None,
    schedule: Mapping[str, Any] | None = None,
    orgs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write a plan file with inline orgs for every org in ``targets``; returns its path."""
    document: dict[str, Any] = {
        "plan": 1,
        "name": name,
        "orgs": {org: org_entry(url, org, **dict((orgs or {}).get(org, {}))) for org in targets},
        "defaults": dict(defaults or {"to": "previous"}),
        "targets": [{"org": org, "configs": list(items)} for org, items in targets.items()],
        "limits": {**FAST_LIMITS, **dict(limits or {})},
    }
    if waves is not None:
        document["waves"] = [dict(w) for w in waves]
    if schedule is not None:
        document["schedule"] = dict(schedule)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def make_plan(directory: Path, url: str, targets: Mapping[str, Sequence[Any]], **kw: Any) -> Plan:
    """:func:`write_plan`, then load it."""
    return load_plan(write_plan(directory, url, targets, **kw))


QUIET = Options(handle_signals=False)  # signals belong to pytest here


async def approve_all(question: str) -> bool | None:
    """An approver that passes every gate (as --yes does)."""
    return True


async def nobody_to_ask(question: str) -> bool | None:
    """An approver with no terminal and no --yes: gates stay pending."""
    return None


class AtWave(Observer):
    """Calls ``action`` when a wave starts: after planning, before any write."""

    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action

    def wave_started(self, event: WaveStarted) -> None:
        self._action()


class OnWait(Observer):
    """Calls ``action`` with what the run starts waiting for (a bake, a window)."""

    def __init__(self, action: Callable[[str], None]) -> None:
        self._action = action

    def waiting(self, what: str, seconds: float) -> None:
        self._action(what)


async def execute(
    plan: Plan | Path,
    journal: Journal,
    *,
    observer: Observer | None = None,
    at_wave: Callable[[], None] | None = None,
    options: Options = QUIET,
) -> tuple[Result, dict[str, Any]]:
    """Run a plan unattended (every gate approved); its result and JSON report."""
    if isinstance(plan, Path):
        plan = load_plan(plan)
    observer = observer or (AtWave(at_wave) if at_wave else Observer())
    result = await run_plan(plan, journal, observer=observer, approver=approve_all, options=options)
    assert result.run_id is not None
    return result, await report.build(journal, result.run_id)


class FakeClock:
    """A monotonic clock that moves only when told (pass it as ``clock=``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def puts(sb: Sandbox, org: str | None = None) -> list[RequestRecord]:
    """Every PUT the sandbox served (of one org, if given)."""
    return [r for r in sb.requests if r.method == "PUT" and (org is None or r.org == org)]


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """Item id -> status, from a JSON report."""
    return {i["id"]: i["status"] for i in report["items"]}


SandboxFactory = Callable[..., contextlib.AbstractAsyncContextManager[Sandbox]]
"""The ``make_sandbox`` fixture: ``async with make_sandbox(faults=...) as sb``."""


async def planned_run(sb: Sandbox, tmp_path: Path, journal: Journal, ids: list[str]) -> Plan:
    """A run stopped at an approval gate right after planning: every item is PLANNED."""
    path = write_plan(
        tmp_path,
        sb.url,
        {"canary": ids},
        waves=[{"name": "w", "orgs": ["*"], "approve": True}],
    )
    plan = load_plan(path)
    result = await run_plan(
        plan, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
    )
    assert result.exit_code == 3
    assert "resume" in (result.reason or "")
    return plan


async def snapshot(*args: str, journal: Path | str) -> str:
    """Run `orchestrator snapshot ...` as an operator does; returns what it printed."""
    done = await anyio.run_process(
        [sys.executable, "-m", "orchestrator", "snapshot", *args, "--journal", str(journal)]
    )
    return done.stdout.decode()


def env_file(tmp_path: Path, url: str, org: str = "canary") -> Path:
    """An environment file with one seeded org on the sandbox at ``url``."""
    path = tmp_path / "orgs.yaml"
    path.write_text(yaml.safe_dump({"orgs": {org: org_entry(url, org)}}))
    return path


async def snapshot_org(sb: Sandbox, tmp_path: Path, journal: Journal, org: str = "canary") -> str:
    """`snapshot --env --org ORG --all`; the instant it printed for `to: {snapshot: T}`."""
    out = await snapshot(
        "--env",
        str(env_file(tmp_path, sb.url, org)),
        "--org",
        org,
        "--all",
        journal=journal.location,
    )
    return out.split("to: {snapshot: ", 1)[1].split("}", 1)[0]


def sdk_client(url: str, org: str = "canary") -> Any:
    """The official SDK's ApiClient on the sandbox, logged in as ``org``'s OAuth client."""
    client = genesys.ApiClient(host=url)
    client.get_client_credentials_token(org, f"{org}-secret")
    return client


def sdk_json(client: Any, model: Any) -> Any:
    """An SDK model as the JSON it stands for (API field names; None left out)."""
    return client.sanitize_for_serialization(model)


def queue_ids(sb: Sandbox, org: str = "canary") -> dict[str, str]:
    """The org's routing queues by name."""
    return {name: queue for queue, name in sb.queues(org).items()}
