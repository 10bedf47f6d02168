"""``orchestrator demo``: the whole product in one command, no credentials.

It starts the sandbox in-process with faults switched on, shows what the
shipped plan would change, runs it in waves (a canary with a bake, then the
rest), and prints the report. Every item status appears, each for a reason
a platform engineer meets in real life.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import anyio

from orchestrator import logs
from orchestrator.cli.demo_reviewed import show_reviewed
from orchestrator.cli.running import terminal_approver
from orchestrator.cli.snapshot import take_snapshots
from orchestrator.engine.events import ItemDone, Observer, RunStarted, WaveFinished, WaveStarted
from orchestrator.engine.run import Options, Result, preview, run_plan
from orchestrator.genesys.content import render
from orchestrator.journal import Journal, opened
from orchestrator.models import Limits, Plan, ToSnapshot
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox, load_seed
from orchestrator.sandbox.shipped import ASSIST_PLAN, HALT_PLAN, PLAN, SEED
from orchestrator.timestamps import parse_stamp, stamp, utcnow, zulu_of
from orchestrator.ui import report
from orchestrator.ui.observers import choose_observer
from orchestrator.ui.preview import action

BILLING_ASSISTANT = "d5d30071-3a20-5442-b022-d4416f64cc99"
BILLING_CHECKLIST = "c80cb074-429c-5cb0-af32-6c95685db7f2"
JOURNAL = Path(".orchestrator") / "demo.sqlite3"
DRIFTER = ("emea-prod", "d144ec01-034b-5b46-8c55-3dcfefdc9d9a")  # Retention

FAULTS = {
    "canary": Faults(propagation_delay=0.5),
    "emea-prod": Faults(
        concurrent_writer_rate=0.4, concurrent_writer_mode="bump", version_retention=5
    ),
    "amer-prod": Faults(
        throttle_rate=0.15, throttle_burst=2, throttle_retry_after=1, drop_after_write_rate=0.4
    ),
    "latam-prod": Faults(throttle_at=16, throttle_retry_after=120),
}
STORY = """\
orchestrator demo: a local Genesys Cloud with 5 orgs, and trouble switched on:
  canary     clean; new versions take 0.5 s to go live (the verifier waits for them)
  emea-prod  another admin keeps saving configs (stale ETags: 409, re-read, retry);
             only the 5 newest versions are kept, so one rollback target is gone;
             a colleague edits its Retention config during the canary's bake
  amer-prod  429 bursts, and connections that drop after a write has landed
  apac-prod  the OAuth client lacks agentassist:config:write
  latam-prod the server allows 12 requests a minute while the environment file says 300
             (the tool learns it from the answers' headers and paces to it); then,
             right after its first write, a 429 asks for a two-minute pause, longer
             than the plan's max_retry_after
"""


class _Colleague(Observer):
    """Forwards to the real display; edits a config while the canary bakes."""

    def __init__(self, inner: Observer, sandbox: Sandbox) -> None:
        self._inner = inner
        self._sandbox = sandbox

    def run_started(self, event: RunStarted) -> None:
        self._inner.run_started(event)

    def phase(self, text: str) -> None:
        self._inner.phase(text)

    def wave_started(self, event: WaveStarted) -> None:
        self._inner.wave_started(event)

    def item_done(self, event: ItemDone) -> None:
        self._inner.item_done(event)

    def wave_finished(self, event: WaveFinished) -> None:
        self._inner.wave_finished(event)

    def waiting(self, what: str, seconds: float) -> None:
        self._inner.waiting(what, seconds)
        if "canary" in what:
            org, config_id = DRIFTER
            self._sandbox.edit_config(org, config_id, description="hotfix by a colleague")
            self._inner.note(f"(meanwhile a colleague edits {org} config {config_id[:8]})")

    def note(self, text: str) -> None:
        self._inner.note(text)

    def suspend(self) -> None:
        self._inner.suspend()

    def close(self) -> None:
        self._inner.close()


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when the story ran to its end."""
    logs.configure(fmt=args.log_format, errors_only=True)
    _fresh_journal()
    observer = choose_observer(plain=args.plain)
    try:
        result = anyio.run(lambda: _demo(args.format, observer))
    finally:
        observer.close()
    print(
        f"\nThis run's own exit status would be {result.exit_code} ({result.status}); "
        f"the demo exits 0. Explore it:\n"
        f"  orchestrator report {result.run_id} --journal {JOURNAL} --format markdown\n"
        f"  orchestrator status {result.run_id} --journal {JOURNAL}",
        file=sys.stderr,
    )
    return 0


def _fresh_journal() -> None:
    """Each demo talks to a new sandbox: an older demo's journal (its 429 pauses) does not apply."""
    for leftover in JOURNAL.parent.glob(JOURNAL.name + "*"):
        if leftover.is_file():
            leftover.unlink()


async def _demo(fmt: str, observer: Observer) -> Result:
    sandbox = Sandbox(load_seed(SEED), faults=FAULTS, rng_seed=2026)
    sandbox.set_permissions("apac-prod", ["agentassist:config:read", "assistants:assistant:view"])
    sandbox.set_rate_limit("latam-prod", 12)
    print(STORY, file=sys.stderr)
    async with sandbox.serve() as url:
        plan = load_plan(PLAN, sandbox_url=url)
        async with opened(JOURNAL) as journal:
            await _show_plan(plan, journal)
            result = await run_plan(
                plan,
                journal,
                observer=_Colleague(observer, sandbox),
                approver=terminal_approver(yes=True, observer=observer),
                options=Options(),
            )
            observer.close()
            assert result.run_id is not None
            await report.stream(journal, result.run_id, fmt, sys.stdout.write)
            await _show_halt(journal, url)
            await _show_agent_assist(journal, url, sandbox)
            await show_reviewed(journal, url, sandbox, JOURNAL.parent)
    return result


async def _show_halt(journal: Journal, url: str) -> None:
    """Step 3: the canary gate doing its job."""
    rel = HALT_PLAN
    print(f"\nstep 3: orchestrator run {rel}   (apac-prod is the canary now)", file=sys.stderr)
    plan = load_plan(HALT_PLAN, sandbox_url=url)
    result = await run_plan(
        plan,
        journal,
        observer=Observer(),
        approver=terminal_approver(yes=True, observer=Observer()),
        options=Options(handle_signals=False),
    )
    assert result.run_id is not None
    data = await report.build(journal, result.run_id)
    waves = ", ".join(f"{w['name']} {w['status']}" for w in data["waves"])
    print(
        f"  run {result.run_id}: {data['status']} (exit {result.exit_code}): {waves}",
        file=sys.stderr,
    )
    print(f"  {data['reason']}", file=sys.stderr)
    later = [i for i in data["items"] if (i["error"] or {}).get("code") == "run.halted"]
    orgs = sorted({i["org"] for i in later})
    print(
        f"  {len(later)} items of the next wave ({', '.join(orgs)}) were never written to",
        file=sys.stderr,
    )


async def _show_plan(plan: Plan, journal: Journal) -> None:
    """Step 1, as `orchestrator plan` would show it (condensed)."""
    print(f"step 1: orchestrator plan {PLAN}", file=sys.stderr)
    shown = await preview(plan, journal=journal)
    for job in shown.jobs:
        what = action(job)
        target = job.target.label if job.target else str(job.item.to)
        current = job.baseline.version if job.baseline else "?"
        line = f"  {job.org:<10} {job.name or job.rid:<26} v{current} -> {target}: {what}"
        if what == "write":
            line += f" ({len(job.changes)} field(s))"
        elif job.error:
            line += f": {job.error.message}"
        print(line, file=sys.stderr)
    print(f"\nstep 2: orchestrator run {PLAN}", file=sys.stderr)


async def _show_agent_assist(journal: Journal, url: str, sandbox: Sandbox) -> None:
    """Step 4: kinds without server history, put back from a snapshot."""
    rel = ASSIST_PLAN
    say = _stderr
    say("\nstep 4: Agent Assist keeps no history: snapshot, a day of changes, one plan")
    say("  orchestrator snapshot --env orgs.yaml --org canary --all")
    plan = load_plan(ASSIST_PLAN, sandbox_url=url)
    taken_at = stamp(utcnow().replace(microsecond=0))
    stored, _ = await take_snapshots(
        journal, [], plan.environment.org("canary"), Limits(), taken_at
    )
    when = zulu_of(taken_at)
    say(f"    stored {stored} snapshot(s) at {when}")
    _colleague_deploys(sandbox)
    say("  (meanwhile a colleague turns on copilot summaries for the Billing assistant,")
    say("   moves it onto two more queues and edits its checklist)")
    to = ToSnapshot(parse_stamp(taken_at))
    plan = dataclasses.replace(plan, items=tuple(dataclasses.replace(i, to=to) for i in plan.items))
    say(f"  orchestrator plan {rel}   (with to: {{snapshot: {when}}})")
    jobs = (await preview(plan, journal=journal)).jobs
    names = {job.rid: job.name for job in jobs if job.name}  # queue bindings have no name
    for job in jobs:
        say(f"    {job.kind.kind:<17} {names.get(job.rid, job.rid)}: {action(job)}")
        for change in job.changes:
            say(f"        {render(change)}")
    queues = sandbox.queues("canary")
    moved = (c.path for j in jobs for c in j.changes if c.path in queues)
    say("    (" + ", ".join(f"{q[:8]}… is queue {queues[q]}" for q in moved) + ")")
    result = await run_plan(
        plan,
        journal,
        observer=Observer(),
        approver=terminal_approver(yes=True, observer=Observer()),
        options=Options(handle_signals=False),
    )
    assert result.run_id is not None
    data = await report.build(journal, result.run_id)
    say(f"  orchestrator run {rel}: {data['status']}")
    for item in data["items"]:
        say(f"    {item['kind']:<17} {names.get(item['id'], item['id'])}: {item['status']}")
    say(f"  orchestrator report {result.run_id} --journal {JOURNAL}")


def _colleague_deploys(sandbox: Sandbox) -> None:
    """A day of Agent Assist changes, made as another admin would."""
    copilot = sandbox.copilot("canary", BILLING_ASSISTANT)
    summaries = {**copilot["summaryGenerationConfig"], "enabled": True}
    sandbox.edit_copilot("canary", BILLING_ASSISTANT, summaryGenerationConfig=summaries)
    queues = {name: queue for queue, name in sandbox.queues("canary").items()}
    wanted = {queues["Billing VIP"]: ["call"], queues["Retention"]: ["call", "message"]}
    sandbox.bind_queues("canary", BILLING_ASSISTANT, wanted)
    checklist = sandbox.checklist("canary", BILLING_CHECKLIST)
    items = [dict(i) for i in checklist["checklistItems"]]
    items[2]["important"] = True
    sandbox.edit_checklist(
        "canary", BILLING_CHECKLIST, name="Billing call checklist (v2)", checklistItems=items
    )


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
