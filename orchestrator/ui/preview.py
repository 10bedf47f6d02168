"""``orchestrator plan``'s output: what each item would become, field by field."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from orchestrator.engine.job import Job
from orchestrator.engine.run import Preview
from orchestrator.genesys.content import render as render_change
from orchestrator.logs import printable, redact
from orchestrator.models import Kind, Plan
from orchestrator.statuses import Status

MAX_CHANGES_SHOWN = 12


def action(job: Job) -> str:
    """What ``run`` would do with the item: write, nothing, or fail."""
    if job.status is Status.ALREADY_AT_TARGET:
        return "already_at_target"
    if job.status is not None:
        return str(job.status)
    if job.target is None:
        return "skipped"
    return "write"


def as_dict(plan: Plan, preview: Preview) -> dict[str, Any]:
    """The machine-readable plan (``--format json``)."""
    items = []
    for job in preview.jobs:
        items.append(
            {
                "org": job.org,
                "kind": job.kind.kind.value,
                "id": job.rid,
                "name": job.name,
                "wave": job.wave,
                "from_version": job.baseline.version if job.baseline else None,
                "target_version": job.target.version if job.target else None,
                "target": job.target.label if job.target else str(job.item.to),
                "action": action(job),
                "changes": [c.as_dict() for c in job.changes],
                "ids": [
                    {"path": m.path, "there": m.there, "here": m.here}
                    for m in (job.target.mapped if job.target else ())
                ],
                "error": job.error.as_dict() if job.error else None,
            }
        )
    counts = Counter(i["action"] for i in items)
    return {
        "plan": {"name": plan.name, "path": str(plan.path), "sha256": plan.sha256},
        "preflight": [
            {
                "org": c.org,
                "ok": c.ok,
                "org_id": c.org_id,
                "org_name": c.org_name,
                "problem": c.problem,
                "configured_limit": c.configured_limit,
                "learned_limit": c.learned_limit,
            }
            for c in preview.checks
        ],
        "summary": {"total": len(items), **dict(sorted(counts.items()))},
        "items": items,
        "limit": {"patterns": list(plan.limit), "left_out": list(plan.left_out)}
        if plan.limit
        else None,
    }


def render_preview(plan: Plan, preview: Preview, fmt: str) -> str:
    """The plan as text (a table per wave with diffs) or JSON."""
    data = as_dict(plan, preview)
    if fmt == "json":
        return redact(json.dumps(data, indent=2)) + "\n"
    lines = [
        f"plan {plan.name} ({plan.path}): {len(preview.jobs)} items in "
        f"{len({j.org for j in preview.jobs})} orgs, {len(plan.waves)} wave(s)",
    ]
    if plan.limit:
        left = ", ".join(plan.left_out) or "nothing"
        lines.append(f"--limit {','.join(plan.limit)}: left out {printable(left)}")
    lines += ["", "preflight:"]
    for check in preview.checks:
        verdict = (
            f"ok, token is for org {check.org_id} ({check.org_name})"
            if check.ok
            else f"FAILED: {check.problem}"
        )
        learned, configured = check.learned_limit, check.configured_limit
        if learned is not None and configured is not None and learned < configured:
            verdict += f"; server allows {learned}/min, the environment file says {configured}"
        lines.append(f"  {check.org:<16} {verdict}")
    for wave in plan.waves:
        jobs = [j for j in preview.jobs if j.wave == wave.name]
        lines += ["", f"wave {wave.name} ({', '.join(wave.orgs)}):"]
        for job in jobs:
            lines.extend(_item_lines(job))
    summary = data["summary"]
    parts = [f"{n} {k.replace('_', ' ')}" for k, n in summary.items() if k != "total"]
    lines += ["", f"{summary['total']} items: " + ", ".join(parts)]
    if preview.refused:
        lines.append("preflight failed: `orchestrator run` would write nothing (exit 4)")
    # Names, values and errors came from servers: each line stays one harmless line.
    return "\n".join(printable(redact(line)) for line in lines) + "\n"


def _item_lines(job: Job) -> list[str]:
    current = f"v{job.baseline.version}" if job.baseline and job.baseline.version else "-"
    target = job.target.label if job.target else str(job.item.to)
    what = action(job)
    name = f"{job.name} " if job.name else ""
    kind = "" if job.kind.kind is Kind.AGENTASSIST_CONFIG else f"[{job.kind.kind}] "
    head = f"  {job.org:<12} {kind}{name}({job.rid}) {current} -> {target}: "
    if what == "write":
        head += f"write, {len(job.changes)} field(s) change"
    elif what == "already_at_target":
        head += "already at target, nothing to write"
    else:
        head += f"{what}: {job.error.message if job.error else ''}"
    lines = [head]
    if job.changes:  # a refused item shows what it would have changed, too
        shown = job.changes[:MAX_CHANGES_SHOWN]
        lines += [f"      {render_change(c)}" for c in shown]
        if len(job.changes) > len(shown):
            lines.append(f"      … {len(job.changes) - len(shown)} more")
    if job.target is not None:  # a rollout's references, as `ids:` mapped them
        lines += [f"      ids: {mapped}" for mapped in job.target.mapped]
    return lines
