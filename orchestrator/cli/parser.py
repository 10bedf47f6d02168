"""The ``orchestrator`` command line: parse, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from orchestrator.cli import argtypes, saved_args
from orchestrator.errors import OrchestratorError, PlanError
from orchestrator.logs import printable, redact

DEFAULT_JOURNAL = ".orchestrator/journal.sqlite3"
DISTRIBUTION = "genesys-rollback-orchestrator"  # on PyPI; the command is `orchestrator`

Handler = Callable[[argparse.Namespace], int]


def _cmd_validate(args: argparse.Namespace) -> int:
    from orchestrator.planfile.loader import load_plan
    from orchestrator.ui import annotations

    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        if args.format == "text":
            raise
        render = annotations.github if args.format == "github" else annotations.as_json
        print(render(exc.problems), end="")
        return exc.exit_code
    if args.format == "json":
        print("[]")
        return 0

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

    items = count(len(plan.items), "item")
    orgs = count(len({item.org for item in plan.items}), "org")
    waves = ", ".join(f"{w.name} ({count(len(w.orgs), 'org')})" for w in plan.waves)
    print(f"{args.plan}: valid: plan {plan.name!r}, {items} in {orgs}; waves: {waves}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from orchestrator.planfile.schema import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from orchestrator.sandbox.server import serve_forever
    from orchestrator.sandbox.shipped import SEED

    serve_forever(seed=args.seed or SEED, faults=args.faults, host=args.host, port=args.port)
    return 0


def _version() -> str:
    """The installed distribution's version (pyproject's, once installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0


def _add_common(p: argparse.ArgumentParser, *, journal: bool = False) -> None:
    p.add_argument("--log-format", choices=("console", "json"), help="log renderer for stderr")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors on stderr")
    if journal:
        p.add_argument(
            "--journal",
            default=os.environ.get("ORCHESTRATOR_JOURNAL", DEFAULT_JOURNAL),
            help=f"journal: a file (default {DEFAULT_JOURNAL}) or a postgresql:// URL;"
            " or $ORCHESTRATOR_JOURNAL",
        )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="report format on stdout (default text)",
    )
    p.add_argument("--report", type=Path, help="also write the JSON report to this file")
    p.add_argument(
        "--metrics-file",
        type=Path,
        help="write Prometheus text format here every 5 s and at the end"
        " (node-exporter textfile collector)",
    )
    p.add_argument("--yes", action="store_true", help="pass approval gates without asking")
    p.add_argument(
        "--plain",
        action="store_true",
        help="plain progress lines even on a terminal (no live display)",
    )


def _add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--limit",
        type=argtypes.patterns,
        default=(),
        metavar="PATTERN",
        help="only these orgs: names or globs, comma separated (the report lists the rest)",
    )


def _lazy(module: str, name: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        command: Handler = getattr(importlib.import_module(module), name)
        return command(args)

    return handler


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per command of cli.md."""
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Roll back Genesys Cloud configurations across many orgs, safely.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Start with `orchestrator demo`, then `orchestrator plan PLAN`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str, example: str, handler: Handler) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        return p

    p = command(
        "validate",
        "check a plan and its environment file completely, offline",
        "orchestrator validate plan.yaml",
        _cmd_validate,
    )
    p.add_argument("plan", type=Path)
    p.add_argument(
        "--format",
        choices=("text", "github", "json"),
        default="text",
        help="problems as text, GitHub workflow annotations, or a JSON list (stdout)",
    )
    _add_common(p)

    p = command(
        "plan",
        "preflight every org, read every item, show what a run would change (writes nothing)",
        "orchestrator plan plan.yaml --format json",
        _lazy("orchestrator.cli.running", "cmd_plan"),
    )
    p.add_argument("plan", type=Path)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--shards",
        type=argtypes.count,
        metavar="N",
        help="also show which orgs each of N shard processes (`run --shard I/N`) would drive",
    )
    saved_args.add_out(p)
    _add_limit(p)
    _add_common(p, journal=True)

    p = command(
        "run",
        "plan, then roll back wave by wave; progress on stderr, the report on stdout",
        "orchestrator run plan.yaml --report report.json",
        _lazy("orchestrator.cli.running", "cmd_run"),
    )
    p.add_argument("plan", type=Path)
    p.add_argument("--dry-run", action="store_true", help="the same as `orchestrator plan`")
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="refuse (exit 3) instead of waiting for schedule.not_before",
    )
    p.add_argument(
        "--run-id",
        type=argtypes.run_id,
        help="name the run (letters, digits, - _ .); the same id and plan again joins or"
        " resumes it, with another plan it is refused",
    )
    p.add_argument(
        "--shard",
        type=argtypes.shard,
        metavar="I/N",
        help="drive only shard I of N (0 <= I < N) of the run named by --run-id; every"
        " shard uses the same --run-id and the same shared journal",
    )
    _add_limit(p)
    _add_run_options(p)
    _add_common(p, journal=True)

    p = command(
        "apply",
        saved_args.APPLY_HELP,
        saved_args.APPLY_EXAMPLE,
        _lazy("orchestrator.cli.applying", "cmd_apply"),
    )
    saved_args.add_apply(p)
    _add_limit(p)
    _add_run_options(p)
    _add_common(p, journal=True)

    p = command(
        "resume",
        "continue an interrupted or halted run from the journal",
        "orchestrator resume 20261129T220000Z-revert-nov28-3f9a --approve",
        _lazy("orchestrator.cli.running", "cmd_resume"),
    )
    p.add_argument("run_id", nargs="?", help="default: the most recent unfinished run")
    p.add_argument("--approve", action="store_true", help="pass the pending approval gate")
    _add_run_options(p)
    _add_common(p, journal=True)

    p = command(
        "approve",
        "pass a run's pending approval gate from any machine (drives nothing)",
        "orchestrator approve 20261129T220000Z-revert-nov28-3f9a --wave emea",
        _lazy("orchestrator.cli.approval", "cmd_approve"),
    )
    p.add_argument("run_id")
    p.add_argument("--wave", help="the wave to approve (default: the first one pending)")
    _add_common(p, journal=True)

    p = command(
        "status",
        "list the journal's runs, or one run's items and their states",
        "orchestrator status 20261129T220000Z-revert-nov28-3f9a",
        _lazy("orchestrator.cli.history", "cmd_status"),
    )
    p.add_argument("run_id", nargs="?")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_common(p, journal=True)

    p = command(
        "report",
        "render a run's report from the journal",
        "orchestrator report 20261129T220000Z-revert-nov28-3f9a --format markdown",
        _lazy("orchestrator.cli.history", "cmd_report"),
    )
    p.add_argument("run_id")
    p.add_argument("--format", choices=("text", "json", "markdown", "junit"), default="text")
    _add_common(p, journal=True)

    p = command(
        "events",
        "a run's audit trail from the journal, one JSON object per line (for a SIEM)",
        "orchestrator events 20261129T220000Z-revert-nov28-3f9a --format jsonl",
        _lazy("orchestrator.cli.history", "cmd_events"),
    )
    p.add_argument("run_id")
    p.add_argument("--format", choices=("jsonl",), default="jsonl")
    _add_common(p, journal=True)

    p = command(
        "snapshot",
        "store the current content of a plan's items (or of every assistant of an org with "
        "its copilot and queue bindings, and every agent checklist)",
        "orchestrator snapshot --env orgs.yaml --org canary --all",
        _lazy("orchestrator.cli.snapshot", "cmd_snapshot"),
    )
    p.add_argument("plan", type=Path, nargs="?")
    p.add_argument("--env", type=Path, help="environment file (with --org and --all)")
    p.add_argument("--org", help="org name in the environment file")
    p.add_argument(
        "--all",
        action="store_true",
        help="every assistant (copilot, queue bindings) and agent checklist of the org",
    )
    _add_common(p, journal=True)

    p = command(
        "sandbox",
        "run the local Genesys Cloud emulator until interrupted",
        "orchestrator sandbox --port 8787",
        _cmd_sandbox,
    )
    p.add_argument("--seed", type=Path, help="seed file (default: the one shipped in the package)")
    p.add_argument("--faults", type=Path, help="YAML file of per-org fault settings")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any free)")
    _add_common(p)

    p = command(
        "demo",
        "the whole product in one command: a faulty sandbox, a canary, a report",
        "orchestrator demo --format markdown",
        _lazy("orchestrator.cli.demo", "cmd_demo"),
    )
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--plain", action="store_true", help="plain progress lines")
    _add_common(p)

    p = command(
        "completion",
        "print a shell completion script (bash, zsh or fish)",
        'eval "$(orchestrator completion bash)"   # or: orchestrator completion fish | source',
        _cmd_completion,
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"))

    p = command(
        "schema",
        "print the JSON Schema of plan and environment files",
        "orchestrator schema > orchestrator.planfile.schema.json",
        _cmd_schema,
    )
    _add_common(p)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PlanError as exc:
        for problem in exc.problems:
            _error(str(problem))
        print(f"{len(exc.problems)} problem(s); nothing was sent", file=sys.stderr)
        return exc.exit_code
    except OrchestratorError as exc:
        _error(str(exc))
        return exc.exit_code
    except BaseExceptionGroup as group:
        # Expected failures from concurrent work (task groups) arrive together;
        # anything else in the group is a bug and keeps its traceback.
        expected, rest = group.split(OrchestratorError)
        if expected is None or rest is not None:
            raise
        leaves = _leaves(expected)
        for message in dict.fromkeys(str(leaf) for leaf in leaves):
            _error(message)
        return leaves[0].exit_code
    except KeyboardInterrupt:
        print("interrupted before any run began: nothing was written", file=sys.stderr)
        return 130


def _error(message: str) -> None:
    """One error line on stderr; it may hold server text, so it is escaped."""
    print(f"error: {printable(redact(message))}", file=sys.stderr)


def _leaves(group: BaseExceptionGroup[OrchestratorError]) -> list[OrchestratorError]:
    found: list[OrchestratorError] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found += _leaves(exc)
        else:
            found.append(exc)
    return found


if __name__ == "__main__":
    sys.exit(main())
