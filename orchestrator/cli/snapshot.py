"""``orchestrator snapshot``: keep what is live now, as a rollback target for later."""

from __future__ import annotations

import argparse
import sys

import anyio

from orchestrator.cli.running import setup_logging
from orchestrator.engine.recorder import snapshot_of
from orchestrator.errors import RequestError, UsageError
from orchestrator.genesys.client import Client, HttpStats, OrgClient, new_session
from orchestrator.genesys.kinds import KINDS, Live, list_assistants, list_checklists, live_from
from orchestrator.journal import Journal, opened
from orchestrator.logs import printable, redact
from orchestrator.models import Environment, Kind, Limits, Org
from orchestrator.planfile.loader import load_environment, load_plan
from orchestrator.timestamps import stamp, utcnow, zulu_of


def cmd_snapshot(args: argparse.Namespace) -> int:
    """``orchestrator snapshot PLAN`` or ``--env FILE --org NAME --all``."""
    setup_logging(args)
    if args.plan is not None:
        plan = load_plan(args.plan)
        targets = [(plan.environment.org(i.org), i.kind, i.id) for i in plan.items]
        limits, every = plan.limits, None
    else:
        if not (args.env and args.org and args.all):
            raise UsageError("give a PLAN, or --env FILE --org NAME --all")
        env = load_environment(args.env)
        org = _org(env, args.org)
        targets, limits, every = [], Limits(), org
    # Whole seconds: the time printed is exactly the one `to: {snapshot: T}` matches.
    taken_at = stamp(utcnow().replace(microsecond=0))

    async def take() -> tuple[int, list[str], str]:
        async with opened(args.journal) as journal:
            taken, failures = await take_snapshots(journal, targets, every, limits, taken_at)
            return taken, failures, journal.location

    taken, failures, where = anyio.run(take)
    for line in failures:
        print(f"error: {printable(redact(line))}", file=sys.stderr)
    when = zulu_of(taken_at)
    print(f"stored {taken} snapshot(s) at {when} in {where}")
    print(f"roll back to them with: to: {{snapshot: {when}}}")
    return 1 if failures else 0


def _org(env: Environment, name: str) -> Org:
    try:
        return env.org(name)
    except KeyError:
        known = ", ".join(o.name for o in env.orgs)
        raise UsageError(f"no org {name!r} in {env.path} (it has: {known})") from None


async def take_snapshots(
    journal: Journal,
    targets: list[tuple[Org, Kind, str]],
    every: Org | None,
    limits: Limits,
    taken_at: str,
) -> tuple[int, list[str]]:
    """Store the content of ``targets`` (and of everything of org ``every``) dated ``taken_at``.

    Returns how many snapshots were stored and a message per read that failed.
    """
    failures: list[str] = []
    found: list[tuple[Org, Kind, str, Live]] = []
    async with new_session(limits) as session:
        client = Client(session, limits)
        if every is not None:
            org_client = client.org(every)
            for kind, rid, live in await _everything(org_client, failures):
                found.append((every, kind, rid, live))
        for org, kind, rid in targets:
            try:
                found.append(
                    (org, kind, rid, await KINDS[kind].read(client.org(org), rid, HttpStats()))
                )
            except RequestError as exc:
                failures.append(str(exc))
    for org, kind, rid, live in found:
        journal.add_snapshot(snapshot_of(org.name, kind.value, rid, live, taken_at))
    return len(found), failures


async def _everything(client: OrgClient, failures: list[str]) -> list[tuple[Kind, str, Live]]:
    """Every assistant (with its copilot), its queue bindings, every agent checklist."""
    found: list[tuple[Kind, str, Live]] = []
    stats = HttpStats()
    try:
        # The listing's entities are whole assistants, copilot included: no GET per assistant.
        assistants = await list_assistants(client, stats)
    except RequestError as exc:
        failures.append(str(exc))
        assistants = []
    for body in assistants:
        if isinstance(body.get("id"), str):
            found.append((Kind.ASSISTANT, body["id"], live_from(Kind.ASSISTANT, body)))
    for body in assistants:
        if isinstance(body.get("id"), str):
            try:
                live = await KINDS[Kind.ASSISTANT_QUEUES].read(client, body["id"], stats)
            except RequestError as exc:
                failures.append(str(exc))
                continue
            found.append((Kind.ASSISTANT_QUEUES, body["id"], live))
    try:
        checklists = await list_checklists(client, stats)
    except RequestError as exc:
        failures.append(str(exc))
        checklists = []
    for body in checklists:
        if isinstance(body.get("id"), str):
            found.append((Kind.AGENT_CHECKLIST, body["id"], live_from(Kind.AGENT_CHECKLIST, body)))
    return found
