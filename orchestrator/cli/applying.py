"""``orchestrator apply FILE``: run a reviewed, saved plan exactly, or refuse it whole.

Every refusal of the file (altered, too old, its plan file changed or gone,
an org that points elsewhere now, a ``--limit`` that matches nothing) comes
before any request: exit 2, nothing sent.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from dataclasses import replace

import anyio

from orchestrator.cli.running import check_output, drive, setup_logging
from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Approver
from orchestrator.engine.run import Options, Result
from orchestrator.engine.saved import apply_saved, saved_preview
from orchestrator.errors import UsageError
from orchestrator.journal import Journal
from orchestrator.logs import printable, redact
from orchestrator.models import Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.planfile.saved import SavedPlan, check_environment, read_saved, reviewed_plan
from orchestrator.timestamps import utcnow
from orchestrator.ui.preview import render_preview


def cmd_apply(args: argparse.Namespace) -> int:
    """``orchestrator apply FILE [--max-age D] [--limit PATTERN]``."""
    setup_logging(args)
    check_output(args.report)
    saved = read_saved(args.file, max_age=args.max_age, now=utcnow())
    whole = load_plan(saved.plan_path)
    plan = to_apply(saved, whole, args.limit)
    shown = render_preview(plan, anyio.run(saved_preview, plan, saved), "text")
    # stdout carries exactly the report when it is JSON or Markdown.
    out = sys.stdout if args.format == "text" else sys.stderr
    print(_heading(saved, plan) + "\n" + shown, file=out, flush=True)
    options = Options(no_wait=args.no_wait)

    async def start(journal: Journal, observer: Observer, approver: Approver) -> Result:
        return await apply_saved(
            whole, plan, saved, journal, observer=observer, approver=approver, options=options
        )

    return drive(args, start)


def to_apply(saved: SavedPlan, whole: Plan, patterns: tuple[str, ...]) -> Plan:
    """``whole`` (the saved plan's plan file, loaded) cut down to what ``apply`` runs.

    Raises:
        UsageError: the plan file changed while it was read, an org points
            elsewhere now, or ``patterns`` match none of the file's orgs.
    """
    if whole.sha256 != saved.plan_sha256:  # changed between the check and the load
        raise UsageError(f"plan file {saved.plan_path} changed while it was read; try again")
    check_environment(saved, whole)
    plan = reviewed_plan(
        whole,
        [item.key for item in saved.items],
        saved.waves,
        limit=saved.limit,
        left_out=saved.left_out,
    )
    return narrowed(plan, saved, patterns)


def narrowed(plan: Plan, saved: SavedPlan, patterns: tuple[str, ...]) -> Plan:
    """``apply --limit``: a subset of the saved plan's orgs; what it leaves out is reported.

    Raises:
        UsageError: a pattern matches none of the saved plan's orgs.
    """
    if not patterns:
        return plan
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(org, pattern) for org in plan.orgs):
            raise UsageError(
                f"--limit {printable(pattern)!r} matches no org of saved plan {saved.path}"
                f" (its orgs: {', '.join(plan.orgs)})"
            )
    kept = plan.limited(patterns)
    return replace(kept, left_out=(*saved.left_out, *kept.left_out))


def _heading(saved: SavedPlan, plan: Plan) -> str:
    line = (
        f"saved plan {saved.path} ({saved.digest[:19]}…), made {saved.made_at} by"
        f" {saved.made_by}: applying exactly its {len(plan.items)} item(s); anything changed"
        " since is refused (plan.stale)"
    )
    return printable(redact(line))
