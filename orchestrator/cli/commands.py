"""The commands behind ``orchestrator plan|run|resume|status|report|snapshot``.

Each takes the parsed arguments and returns the exit status; ``cli.py`` only
parses and maps errors. Reports go to stdout, everything else to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from orchestrator import logs
from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Approver
from orchestrator.engine.run import Options, Result, preview, resumable, resume_run, run_plan
from orchestrator.errors import RequestError, UsageError
from orchestrator.genesys.client import Client, HttpStats, new_session
from orchestrator.genesys.kinds import KINDS, Live, list_assistants, live_from
from orchestrator.journal import Journal, open_journal
from orchestrator.journal.rows import Snapshot
from orchestrator.models import Environment, Kind, Limits, Org
from orchestrator.planfile.loader import load_environment, load_plan
from orchestrator.timestamps import stamp, utcnow, zulu_of
from orchestrator.ui import report
from orchestrator.ui.preview import render_preview


def _setup_logging(args: argparse.Namespace) -> None:
    logs.configure(fmt=args.log_format, quiet=args.quiet)


def _observer(args: argparse.Namespace) -> Observer:
    from orchestrator.ui.observers import choose_observer

    return choose_observer(quiet=args.quiet, plain=getattr(args, "plain", False))


def terminal_approver(*, yes: bool, observer: Observer) -> Approver:
    """Gates pass with ``--yes``; on a terminal the operator is asked; otherwise nobody can."""

    async def ask(question: str) -> bool | None:
        if yes:
            observer.note(f"approved by --yes: {question}")
            return True
        if not sys.stdin.isatty():
            return None
        observer.suspend()  # give the terminal back for the question
        # The question goes to stderr: stdout carries the report, maybe into a file.
        print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
        answer = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        return answer.strip().lower() in ("y", "yes")

    return ask


def cmd_plan(args: argparse.Namespace) -> int:
    """``orchestrator plan PLAN`` (and ``run --dry-run``)."""
    _setup_logging(args)
    plan = load_plan(args.plan)
    journal = open_journal(args.journal)  # only its snapshot store is read
    try:
        result = anyio.run(lambda: preview(plan, journal=journal))
    finally:
        journal.close()
    print(render_preview(plan, result, args.format), end="")
    return result.exit_code


def cmd_run(args: argparse.Namespace) -> int:
    """``orchestrator run PLAN``."""
    if args.dry_run:
        args.format = "json" if args.format == "json" else "text"
        return cmd_plan(args)
    _setup_logging(args)
    plan = load_plan(args.plan)
    journal = open_journal(args.journal)
    options = Options(no_wait=args.no_wait)
    return _drive(
        args,
        journal,
        lambda observer, approver: run_plan(
            plan, journal, observer=observer, approver=approver, options=options
        ),
    )


def cmd_resume(args: argparse.Namespace) -> int:
    """``orchestrator resume [RUN_ID] [--approve]``."""
    _setup_logging(args)
    journal = open_journal(args.journal)
    try:
        row = resumable(journal, args.run_id)
        plan = load_plan(row.plan_path)
    except BaseException:
        journal.close()
        raise
    options = Options(approve_once=args.approve)
    return _drive(
        args,
        journal,
        lambda observer, approver: resume_run(
            plan, journal, row, observer=observer, approver=approver, options=options
        ),
    )


def _drive(
    args: argparse.Namespace,
    journal: Journal,
    start: Callable[[Observer, Approver], Awaitable[Result]],
) -> int:
    """Run or resume with this terminal's display and gates; print the report."""
    observer = _observer(args)
    try:
        approver = terminal_approver(yes=args.yes, observer=observer)
        result = anyio.run(lambda: start(observer, approver))
        observer.close()  # the display's last screen goes above the report
        return _finish(args, journal, result)
    finally:
        observer.close()
        journal.close()


def _finish(args: argparse.Namespace, journal: Journal, result: Result) -> int:
    if result.run_id is None:  # refused before the run existed
        print(f"halted: {result.reason}", file=sys.stderr)
        return result.exit_code
    data = report.build(journal, result.run_id)
    print(report.render(data, args.format), end="")
    if args.report:
        Path(args.report).write_text(report.render(data, "json"))
    if result.reason and result.exit_code != 0:
        print(f"run {result.run_id} {result.status}: {result.reason}", file=sys.stderr)
    if result.exit_code in (3, 130):
        print(f"continue with: orchestrator resume {result.run_id}", file=sys.stderr)
    return result.exit_code


def cmd_status(args: argparse.Namespace) -> int:
    """``orchestrator status [RUN_ID]``: the journal's runs, or one run's items."""
    journal = open_journal(args.journal)
    try:
        if args.run_id:
            data: Any = report.build(journal, args.run_id)
            if args.format == "json":
                print(json.dumps(data, indent=2))
            else:
                print(report.render(data, "text"), end="")
            return 0
        rows: list[dict[str, Any]] = [
            {
                "run_id": run.id,
                "plan": run.plan_name,
                "status": run.status.value,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "summary": report.summarize(journal.status_counts(run.id)),
            }
            for run in journal.runs()
        ]
        if args.format == "json":
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print(f"no runs in {journal.location}")
        for row in rows:
            summary: dict[str, int] = row["summary"]
            counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "total" and v)
            print(
                f"{row['run_id']}  {row['status']:<11} {row['started_at']}  "
                f"{summary['total']} items: {counts}"
            )
        return 0
    finally:
        journal.close()


def cmd_report(args: argparse.Namespace) -> int:
    """``orchestrator report RUN_ID --format ...``."""
    journal = open_journal(args.journal)
    try:
        print(report.render(report.build(journal, args.run_id), args.format), end="")
        return 0
    finally:
        journal.close()


def cmd_snapshot(args: argparse.Namespace) -> int:
    """``orchestrator snapshot PLAN`` or ``--env FILE --org NAME --all``."""
    _setup_logging(args)
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
    journal = open_journal(args.journal)
    # Whole seconds: the time printed is exactly the one `to: {snapshot: T}` matches.
    taken_at = stamp(utcnow().replace(microsecond=0))
    try:
        taken, failures = anyio.run(lambda: _snapshot(journal, targets, every, limits, taken_at))
    finally:
        journal.close()
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    when = zulu_of(taken_at)
    print(f"stored {taken} snapshot(s) at {when} in {args.journal}")
    print(f"roll back to them with: to: {{snapshot: {when}}}")
    return 1 if failures else 0


def _org(env: Environment, name: str) -> Org:
    try:
        return env.org(name)
    except KeyError:
        known = ", ".join(o.name for o in env.orgs)
        raise UsageError(f"no org {name!r} in {env.path} (it has: {known})") from None


async def _snapshot(
    journal: Journal,
    targets: list[tuple[Org, Kind, str]],
    every: Org | None,
    limits: Limits,
    taken_at: str,
) -> tuple[int, list[str]]:
    failures: list[str] = []
    found: list[tuple[Org, Kind, str, Live]] = []
    async with new_session(limits) as session:
        client = Client(session, limits)
        if every is not None:
            # The listing's entities are whole assistants: no GET per assistant.
            for body in await list_assistants(client.org(every), HttpStats()):
                if isinstance(body.get("id"), str):
                    live = live_from(Kind.ASSISTANT, body)
                    found.append((every, Kind.ASSISTANT, body["id"], live))
        for org, kind, rid in targets:
            try:
                found.append(
                    (org, kind, rid, await KINDS[kind].read(client.org(org), rid, HttpStats()))
                )
            except RequestError as exc:
                failures.append(str(exc))
    for org, kind, rid, live in found:
        journal.add_snapshot(
            Snapshot(
                org=org.name,
                kind=kind.value,
                resource_id=rid,
                taken_at=taken_at,
                source="snapshot",
                run_id=None,
                version=live.version,
                modified=live.modified,
                content_hash=live.hash,
                fields=dict(live.fields),
            )
        )
    return len(found), failures
