"""``orchestrator plan``, ``run`` and ``resume``: the commands that talk to orgs.

Each takes the parsed arguments and returns the exit status; the parser only
parses and maps errors. Reports go to stdout, everything else to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio

from orchestrator import logs
from orchestrator.cli.saving import check_out, save
from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Approver
from orchestrator.engine.resume import ended, named_run
from orchestrator.engine.run import Options, Result, preview, resumable, resume_run, run_plan
from orchestrator.engine.signals import catch_early
from orchestrator.errors import UsageError
from orchestrator.journal import Journal, is_url, opened
from orchestrator.logs import printable, redact
from orchestrator.models import Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.statuses import EXIT_CODES, ExitCode
from orchestrator.ui import report, shardview
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
        print(f"{_shown(question)} [y/N] ", end="", file=sys.stderr, flush=True)
        answer = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        return answer.strip().lower() in ("y", "yes")

    return ask


def nobody_asked(*, yes: bool, observer: Observer) -> Approver:
    """A shard never asks at a gate (N terminals would be asked the same thing): ``--yes``
    passes it, otherwise it waits for ``orchestrator approve``."""

    async def ask(question: str) -> bool | None:
        if yes:
            observer.note(f"approved by --yes: {question}")
        return True if yes else None

    return ask


def cmd_plan(args: argparse.Namespace) -> int:
    """``orchestrator plan PLAN`` (and ``run --dry-run``)."""
    setup_logging(args)
    out = getattr(args, "out", None)  # `run --dry-run` has no --out
    check_out(out)
    plan = limited(load_plan(args.plan), args.limit)
    store = args.journal if is_url(args.journal) or Path(args.journal).exists() else None

    async def look() -> int:
        async with _snapshot_store(store) as journal:
            result = await preview(plan, journal=journal)
        shown = render_preview(plan, result, args.format)
        if getattr(args, "shards", None):
            shown = with_shards(shown, plan, args.shards, args.format)
        print(shown, end="")
        return result.exit_code if out is None else save(out, plan, result)

    return anyio.run(look)


@contextlib.asynccontextmanager
async def _snapshot_store(path: str | Path | None) -> AsyncIterator[Journal | None]:
    """``plan`` only reads snapshots: the journal opened read-only, or none if there is none."""
    if path is None:
        yield None
        return
    async with opened(path, read_only=True) as journal:
        yield journal


def cmd_run(args: argparse.Namespace) -> int:
    """``orchestrator run PLAN``."""
    if args.dry_run:
        args.format = "json" if args.format == "json" else "text"
        return cmd_plan(args)
    setup_logging(args)
    check_output(args.report)
    whole = load_plan(args.plan)
    plan = limited(whole, args.limit)
    if args.shard is not None and args.run_id is None:
        raise UsageError("--shard needs --run-id: every shard of a run names it the same way")
    options = Options(no_wait=args.no_wait, run_id=args.run_id, shard=args.shard)

    async def start(journal: Journal, observer: Observer, approver: Approver) -> Result:
        row = await named_run(journal, args.run_id, plan)
        if row is None:
            return await run_plan(
                plan, journal, observer=observer, approver=approver, options=options
            )
        if not await ended(journal, row):
            again = Options(no_wait=args.no_wait, shard=args.shard)
            return await resume_run(  # with the run's own --limit, from its journal
                whole, journal, row, observer=observer, approver=approver, options=again
            )
        why = f"run {row.id} had already ended {row.status}"
        return Result(
            run_id=row.id, status=row.status, reason=why, exit_code=EXIT_CODES[row.status]
        )

    return drive(args, start)


def cmd_resume(args: argparse.Namespace) -> int:
    """``orchestrator resume [RUN_ID] [--approve]``."""
    setup_logging(args)
    check_output(args.report)
    options = Options(approve_once=args.approve)

    async def start(journal: Journal, observer: Observer, approver: Approver) -> Result:
        row = await resumable(journal, args.run_id)
        plan = load_plan(row.plan_path)
        return await resume_run(
            plan, journal, row, observer=observer, approver=approver, options=options
        )

    return drive(args, start)


Start = Callable[[Journal, Observer, Approver], Awaitable[Result]]


def drive(args: argparse.Namespace, start: Start) -> int:
    """Run or resume with this terminal's display and gates; print the report."""
    from orchestrator.ui.observers import choose_observer

    catch_early()  # a signal from here on reaches the run (never a KeyboardInterrupt)
    observer = choose_observer(quiet=args.quiet, plain=getattr(args, "plain", False))
    approver = terminal_approver(yes=args.yes, observer=observer)
    if getattr(args, "shard", None) is not None:  # decided once for all: `orchestrator approve`
        approver = nobody_asked(yes=args.yes, observer=observer)
    metrics = None
    if args.metrics_file is not None:
        from orchestrator.ui.metrics import MetricsObserver, check_writable

        check_writable(args.metrics_file)  # before the first request
        observer = metrics = MetricsObserver(observer, args.metrics_file)

    async def go() -> tuple[Result, Written | None]:
        async with opened(args.journal) as journal:
            result = await start(journal, observer, approver)
            observer.close()  # the display's last screen goes above the report
            if result.run_id is None:  # refused before the run existed
                return result, None
            return result, await _reports(args, journal, result.run_id)

    try:
        result, written = anyio.run(go)
    finally:
        observer.close()
    if metrics is not None:
        metrics.finish(str(result.status))
    return _finish(args, result, written)


@dataclass(frozen=True, slots=True)
class Written:
    """What writing the reports saw: an item in doubt, the ``--report`` file's error."""

    in_doubt: bool
    report_error: str | None


async def _reports(args: argparse.Namespace, journal: Journal, run_id: str) -> Written:
    """The report on stdout, and the JSON one in ``--report``, each streamed from the journal."""
    tally = await report.stream(journal, run_id, args.format, sys.stdout.write)
    sys.stdout.flush()
    error = None
    if args.report:
        # Written beside it and renamed once whole: a full disk or a journal that fails
        # midway leaves no truncated file that could pass for the report.
        path = Path(args.report)
        partial = path.with_name(path.name + ".partial")
        try:
            try:
                with open_private(partial) as out:
                    await report.stream(journal, run_id, "json", out.write)
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        except OSError as exc:
            error = exc.strerror or str(exc)
    return Written(in_doubt=tally.in_doubt, report_error=error)


def _finish(args: argparse.Namespace, result: Result, written: Written | None) -> int:
    if written is None:
        print(f"halted: {_shown(result.reason or '')}", file=sys.stderr)
        return result.exit_code
    code = result.exit_code
    if written.report_error is not None:
        print(
            f"error: cannot write --report {args.report}: {written.report_error}", file=sys.stderr
        )
        code = code or ExitCode.USAGE  # the run's own failure says more, if it had one
    if result.reason and result.exit_code != ExitCode.OK:
        print(f"run {result.run_id} {result.status}: {_shown(result.reason)}", file=sys.stderr)
    if getattr(args, "shard", None) is not None and result.exit_code is ExitCode.HALTED:
        print(
            f"continue with: orchestrator approve {result.run_id} (from anywhere), then"
            " start every shard again with the same command",
            file=sys.stderr,
        )
    elif getattr(args, "shard", None) is not None and result.exit_code == ExitCode.INTERRUPTED:
        print("continue with: the same command (this shard resumes its part)", file=sys.stderr)
    elif result.exit_code in (ExitCode.HALTED, ExitCode.INTERRUPTED) or written.in_doubt:
        print(f"continue with: orchestrator resume {result.run_id}", file=sys.stderr)
    return code


def _shown(text: str) -> str:
    return printable(redact(text))


def with_shards(shown: str, plan: Plan, count: int, fmt: str) -> str:
    """``plan --shards N``: the preview, and which orgs each of N shards would drive."""
    table = shardview.assignment(plan, count)
    if fmt == "json":
        data = json.loads(shown)
        data["shards"] = table
        return json.dumps(data, indent=2) + "\n"
    lines = shardview.assignment_lines(table)
    return (
        shown
        + f"\nshards ({count}; run each with --shard I/{count}):\n"
        + "".join(f"  {printable(line)}\n" for line in lines)
    )


def limited(plan: Plan, patterns: tuple[str, ...]) -> Plan:
    """``plan`` restricted by ``--limit`` (unchanged without one).

    Raises:
        UsageError: a pattern matches none of the plan's orgs.
    """
    if not patterns:
        return plan
    try:
        return plan.limited(patterns)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_output(path: Path | None) -> None:
    """Refuse, before any request, an output file that could not be written at the end.

    Raises:
        UsageError: ``path`` is a folder, its folder is missing, or it is not writable.
    """
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--report {path} is a folder: give a file path")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"--report {path} is not writable")
        return
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--report {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--report {path}: folder {folder} is not writable")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, a new file created ``0600``: a report holds every config."""
    with open_private(path) as out:
        out.write(text)


def open_private(path: Path) -> TextIO:
    """``path`` opened for writing, created ``0600`` if new."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")
