"""``orchestrator plan``, ``run`` and ``resume``: the commands that talk to orgs.

Each takes the parsed arguments and returns the exit status; the parser only
parses and maps errors. Reports go to stdout, everything else to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from orchestrator import logs
from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Approver
from orchestrator.engine.run import Options, Result, preview, resumable, resume_run, run_plan
from orchestrator.journal import Journal, opened
from orchestrator.planfile.loader import load_plan
from orchestrator.statuses import ExitCode
from orchestrator.ui import report
from orchestrator.ui.preview import render_preview


def setup_logging(args: argparse.Namespace) -> None:
    """structlog for this command, as ``--log-format`` and ``--quiet`` say."""
    logs.configure(fmt=args.log_format, quiet=args.quiet)


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
    setup_logging(args)
    plan = load_plan(args.plan)

    async def look() -> int:
        async with opened(args.journal) as journal:  # only its snapshot store is read
            result = await preview(plan, journal=journal)
        print(render_preview(plan, result, args.format), end="")
        return result.exit_code

    return anyio.run(look)


def cmd_run(args: argparse.Namespace) -> int:
    """``orchestrator run PLAN``."""
    if args.dry_run:
        args.format = "json" if args.format == "json" else "text"
        return cmd_plan(args)
    setup_logging(args)
    plan = load_plan(args.plan)
    options = Options(no_wait=args.no_wait)

    async def start(journal: Journal, observer: Observer, approver: Approver) -> Result:
        return await run_plan(plan, journal, observer=observer, approver=approver, options=options)

    return _drive(args, start)


def cmd_resume(args: argparse.Namespace) -> int:
    """``orchestrator resume [RUN_ID] [--approve]``."""
    setup_logging(args)
    options = Options(approve_once=args.approve)

    async def start(journal: Journal, observer: Observer, approver: Approver) -> Result:
        row = await resumable(journal, args.run_id)
        plan = load_plan(row.plan_path)
        return await resume_run(
            plan, journal, row, observer=observer, approver=approver, options=options
        )

    return _drive(args, start)


Start = Callable[[Journal, Observer, Approver], Awaitable[Result]]


def _drive(args: argparse.Namespace, start: Start) -> int:
    """Run or resume with this terminal's display and gates; print the report."""
    from orchestrator.ui.observers import choose_observer

    observer = choose_observer(quiet=args.quiet, plain=getattr(args, "plain", False))
    approver = terminal_approver(yes=args.yes, observer=observer)
    metrics = None
    if args.metrics_file is not None:
        from orchestrator.ui.metrics import MetricsObserver, check_writable

        check_writable(args.metrics_file)  # before the first request
        observer = metrics = MetricsObserver(observer, args.metrics_file)

    async def drive() -> tuple[Result, dict[str, Any] | None]:
        async with opened(args.journal) as journal:
            result = await start(journal, observer, approver)
            observer.close()  # the display's last screen goes above the report
            if result.run_id is None:  # refused before the run existed
                return result, None
            return result, await report.build(journal, result.run_id)

    try:
        result, data = anyio.run(drive)
    finally:
        observer.close()
    if metrics is not None:
        metrics.finish(str(result.status))
    return _finish(args, result, data)


def _finish(args: argparse.Namespace, result: Result, data: dict[str, Any] | None) -> int:
    if data is None:
        print(f"halted: {result.reason}", file=sys.stderr)
        return result.exit_code
    print(report.render(data, args.format), end="")
    if args.report:
        Path(args.report).write_text(report.render(data, "json"))
    if result.reason and result.exit_code != ExitCode.OK:
        print(f"run {result.run_id} {result.status}: {result.reason}", file=sys.stderr)
    if result.exit_code in (ExitCode.HALTED, ExitCode.INTERRUPTED):
        print(f"continue with: orchestrator resume {result.run_id}", file=sys.stderr)
    return result.exit_code
