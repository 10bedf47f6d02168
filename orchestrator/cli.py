"""The ``orchestrator`` command line: parse, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from orchestrator.errors import OrchestratorError, PlanError

DEFAULT_JOURNAL = ".orchestrator/journal.sqlite3"

Handler = Callable[[argparse.Namespace], int]


def _cmd_validate(args: argparse.Namespace) -> int:
    from orchestrator.loader import load_plan

    plan = load_plan(args.plan)

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

    items = count(len(plan.items), "item")
    orgs = count(len({item.org for item in plan.items}), "org")
    waves = ", ".join(f"{w.name} ({count(len(w.orgs), 'org')})" for w in plan.waves)
    print(f"{args.plan}: valid: plan {plan.name!r}, {items} in {orgs}; waves: {waves}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from orchestrator.schema import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from orchestrator.sandbox.server import serve_forever

    serve_forever(seed=args.seed, faults=args.faults, host=args.host, port=args.port)
    return 0


def _not_yet(args: argparse.Namespace) -> int:
    raise OrchestratorError(f"`orchestrator {args.command}` is not implemented yet")


def _add_common(p: argparse.ArgumentParser, *, journal: bool = False) -> None:
    p.add_argument("--log-format", choices=("console", "json"), help="log renderer for stderr")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors on stderr")
    if journal:
        p.add_argument(
            "--journal",
            type=Path,
            default=Path(os.environ.get("ORCHESTRATOR_JOURNAL", DEFAULT_JOURNAL)),
            help=f"journal file (default {DEFAULT_JOURNAL}, or $ORCHESTRATOR_JOURNAL)",
        )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per command of cli.md."""
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Roll back Genesys Cloud configurations across many orgs, safely.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Start with `orchestrator demo`, then `orchestrator plan PLAN`.",
    )
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
        "orchestrator validate environments/sandbox/plan.yaml",
        _cmd_validate,
    )
    p.add_argument("plan", type=Path)
    _add_common(p)

    p = command(
        "schema",
        "print the JSON Schema of plan and environment files",
        "orchestrator schema > orchestrator.schema.json",
        _cmd_schema,
    )
    _add_common(p)

    p = command(
        "sandbox",
        "run the local Genesys Cloud emulator until interrupted",
        "orchestrator sandbox --seed environments/sandbox/seed.yaml --port 8787",
        _cmd_sandbox,
    )
    p.add_argument("--seed", type=Path, default=Path("environments/sandbox/seed.yaml"))
    p.add_argument("--faults", type=Path, help="YAML file of per-org fault settings")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any free)")
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
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was sent", file=sys.stderr)
        return exc.exit_code
    except OrchestratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
