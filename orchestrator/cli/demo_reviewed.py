"""The demo's last step: a reviewed plan, saved, changed behind the reviewer's back, applied.

What ``orchestrator plan PLAN --out FILE`` and ``orchestrator apply FILE`` do,
in-process against the demo's sandbox: the item a colleague edits after the
review is read, refused as ``plan.stale`` and never written; the rest is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.cli.applying import to_apply
from orchestrator.cli.running import terminal_approver
from orchestrator.cli.saving import save
from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, preview
from orchestrator.engine.saved import apply_saved
from orchestrator.journal import Journal
from orchestrator.planfile.loader import load_plan
from orchestrator.planfile.saved import read_saved
from orchestrator.sandbox import Sandbox
from orchestrator.sandbox.shipped import REVIEWED_PLAN
from orchestrator.timestamps import utcnow
from orchestrator.ui import report

EDITED = "22b501d2-0ea0-50ef-9e42-131f3e783c94"  # canary's Retention config
DAY = 24 * 3600.0


async def show_reviewed(journal: Journal, url: str, sandbox: Sandbox, folder: Path) -> None:
    """Step 5: plan --out, a colleague's edit after the review, apply."""
    say = _stderr
    out = folder / "reviewed.json"
    say("\nstep 5: a reviewed plan, applied exactly: nothing nobody reviewed is overwritten")
    say(f"  orchestrator plan {REVIEWED_PLAN} --out {out}")
    plan = load_plan(REVIEWED_PLAN, sandbox_url=url)
    shown = await preview(plan, journal=journal)
    save(out, plan, shown)  # says "saved to ..." itself
    sandbox.edit_config("canary", EDITED, description="edited after the review")
    say(f"  (meanwhile a colleague edits canary config {EDITED[:8]}, after the review)")
    say(f"  orchestrator apply {out}")
    saved = read_saved(out, max_age=DAY, now=utcnow())
    before = _puts(sandbox)
    result = await apply_saved(
        plan,
        to_apply(saved, plan, ()),
        saved,
        journal,
        observer=Observer(),
        approver=terminal_approver(yes=True, observer=Observer()),
        options=Options(handle_signals=False),
    )
    assert result.run_id is not None
    data = await report.build(journal, result.run_id)
    for item in data["items"]:
        code = (item["error"] or {}).get("code")
        say(
            f"    {item['name'] or item['id']:<24} {item['status']}"
            + (f" ({code})" if code else "")
        )
    sent = _puts(sandbox) - before
    say(f"  run {result.run_id}: {data['status']}; the sandbox's log shows {sent} PUT(s) to")
    say(f"  {EDITED[:8]} during the apply: it was read, found changed, and left alone")


def _puts(sandbox: Sandbox) -> int:
    """PUTs the sandbox has seen for the edited config."""
    return sum(1 for r in sandbox.requests if r.method == "PUT" and r.resource_id == EDITED)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
