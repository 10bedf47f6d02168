"""Reports from the journal: JSON (the contract), text, Markdown and JUnit.

Every format is rendered from the same dictionary, built from the journal
alone, so ``run`` and a later ``report RUN_ID`` say exactly the same thing.
Every string in it is redacted before rendering, and for the formats a
person reads (text, Markdown, JUnit) its control characters are escaped:
messages and names come from servers, and a terminal or a ticket must show
them, not obey them. JSON escapes them itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from orchestrator.journal.rows import LIMITED, Event, ItemRow
from orchestrator.journal.store import Journal
from orchestrator.logs import printable, redact
from orchestrator.statuses import Status
from orchestrator.timestamps import zulu_of

REPORT_VERSION = 1
FORMATS = ("text", "json", "markdown", "junit")
PENDING = "pending"  # not final: an interrupted or gated run's unfinished items

# What an operator should do about each kind of failure.
NEXT_STEPS = {
    "missing.permissions": "grant the org's OAuth client the permission named, then run again",
    "drift": "someone else changed it since planning: review the change; to overwrite it, set"
    " on_drift: overwrite for this item and run again",
    "target.pruned": "the server no longer keeps that version: roll back to a local snapshot"
    " ({snapshot: T}) or pick a newer version",
    "snapshot.missing": "take a snapshot first (`orchestrator snapshot`) or choose another target",
    "target.missing": "check the item's `to:` against the config's history",
    "verify.timeout": "the write is in place but not yet live: check again later; raise"
    " limits.verify_timeout if propagation is slow",
    "write.unknown": "the write may have happened, but no answer or read could tell:"
    " `orchestrator resume RUN_ID` reads each such item and decides (it never writes"
    " a config twice)",
    "answer.malformed": "the server's answer broke the API contract (see the message): check"
    " the org's base URL and anything in between (proxy, gateway), then run again",
    "redirected": "the server redirected the request and it was not followed: check the"
    " org's base URL (a proxy or a moved endpoint?)",
    "too.many.requests.retry.after": "the org asked to wait longer than max_retry_after:"
    " run again later",
    "bake.regression": "something changed the config back during the bake: find the other"
    " writer before rolling out further",
    "run.halted": "`orchestrator resume RUN_ID` continues once the cause is understood",
    "window.closed": "outside the change window: schedule a new window and resume",
    "preflight.failed": "fix the failing org's credentials or org_id, then run again",
    "queue.taken": "the queue now serves another assistant: the orchestrator never moves it"
    " (not even with on_drift: overwrite); unbind it there deliberately, then run again",
    "field.unknown": "a field this orchestrator does not know differs from the target: restore"
    " it by hand or upgrade the orchestrator; nothing was written",
    "field.immutable": "the server forbids this change (copilot.defaultLanguage once set):"
    " choose a target that keeps it",
    "target.incomplete": "the snapshot lacks a part the live resource has: take a new snapshot",
    "ids.unmapped": "map each id named to this org's own with `ids: {<id there>: <id here>}`"
    " beside `to:` (or keep it: `ids: {keep: [<id>]}`), then run again; nothing was written",
    "source.missing": "the golden item of `to: {from: ...}` does not exist: check its org and id",
}


async def build(journal: Journal, run_id: str) -> dict[str, Any]:
    """The JSON report of ``run_id`` (keys pinned by tests/test_report_contract.py)."""
    run = await journal.run(run_id)
    items = await journal.items(run_id)
    waves = await journal.waves(run_id)
    events = await journal.events(run_id)
    writes = _write_correlation_ids(events)
    summary = summarize(Counter(i.status for i in items))
    http = {k: int(run.http.get(k, 0)) for k in _HTTP_KEYS}
    return {
        "report_version": REPORT_VERSION,
        "run_id": run.id,
        "plan": {"name": run.plan_name, "path": run.plan_path, "sha256": run.plan_sha256},
        "started_at": _seconds(run.started_at),
        "finished_at": _seconds(run.finished_at),
        "status": run.status.value,
        "reason": run.reason,
        "actor": run.actor,
        "summary": summary,
        "waves": [
            {
                "name": w.name,
                "status": w.status.value,
                "items": w.items,
                "failed": w.failed,
                "started_at": _seconds(w.started_at),
                "finished_at": _seconds(w.finished_at),
                "reason": w.reason,
                "approved_by": w.approved_by,
            }
            for w in waves
        ],
        "items": [_item(i, writes.get(i.seq, [])) for i in items],
        "http": http,
        "pacing": _pacing(events),
        "limit": _limit(events),
    }


def _limit(events: list[Event]) -> dict[str, list[str]] | None:
    """``--limit``: the patterns the run kept and the plan's orgs it left out."""
    for event in events:
        if event.event == LIMITED and isinstance(event.detail, dict):
            detail = event.detail
            return {"patterns": list(detail["limit"]), "left_out": list(detail["left_out"])}
    return None


def _limit_line(report: dict[str, Any]) -> str | None:
    limit = report.get("limit")
    if not limit:
        return None
    left = ", ".join(limit["left_out"]) or "nothing"
    return f"--limit {','.join(limit['patterns'])}: left out {left}"


def _pacing(events: list[Event]) -> list[dict[str, Any]]:
    """Each org whose server allows less than its environment file says, as it said last."""
    said: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.event == "pacing.learned" and isinstance(event.detail, dict):
            said[str(event.detail.get("org"))] = event.detail
    return [
        {"org": org, "allowed": d.get("allowed"), "configured": d.get("configured")}
        for org, d in sorted(said.items())
        if isinstance(d.get("allowed"), int) and d["allowed"] < (d.get("configured") or 0)
    ]


def _pacing_lines(report: dict[str, Any]) -> list[str]:
    return [
        f"{p['org']}: server allows {p['allowed']}/min; the environment file says {p['configured']}"
        for p in report.get("pacing") or []
    ]


_HTTP_KEYS = ("requests", "retries", "conflicts", "rate_limited", "server_errors")


def summarize(counts: Mapping[Status | None, int]) -> dict[str, int]:
    """The report's ``summary`` from item counts per status (None: not final yet)."""
    summary = {"total": sum(counts.values())} | {s.value: counts.get(s, 0) for s in Status}
    summary[PENDING] = counts.get(None, 0)
    return summary


def _status(item: ItemRow) -> str:
    return item.status.value if item.status is not None else PENDING


# Events of a write that may have changed the resource: confirmed, or answered
# with an error or not at all (its correlation id, when the server sent one).
_WRITE_EVENTS = ("write.confirmed", "write.unknown")


def _write_correlation_ids(events: list[Event]) -> dict[int, list[str]]:
    """Per item, the ININ-Correlation-Id of every write that may have changed it."""
    found: dict[int, list[str]] = {}
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        correlation = detail.get("correlation_id")
        if event.seq is not None and event.event in _WRITE_EVENTS and correlation:
            found.setdefault(event.seq, []).append(str(correlation))
    return found


def _item(item: ItemRow, write_correlation_ids: list[str]) -> dict[str, Any]:
    return {
        "org": item.org,
        "kind": item.kind,
        "id": item.resource_id,
        "name": item.name,
        "wave": item.wave,
        "status": _status(item),
        "state": item.state.value,
        "from_version": item.from_version,
        "target_version": item.target_version,
        "target": item.target_label,
        "new_version": item.new_version,
        "attempts": item.attempts,
        "conflicts": item.conflicts,
        "requests": item.requests,
        "duration_s": item.duration_s,
        "error": item.error.as_dict() if item.error else None,
        "write_correlation_ids": write_correlation_ids,
    }


def _seconds(text: str | None) -> str | None:
    return None if text is None else zulu_of(text)


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`), secrets masked, controls escaped."""
    renderers = {"json": _json, "text": _text, "markdown": _markdown, "junit": _junit}
    return redact(renderers[fmt](_clean(report, escape=fmt != "json")))


def _clean(value: Any, *, escape: bool) -> Any:
    """``value`` with every string redacted (and, for people, made printable)."""
    if isinstance(value, str):
        text = redact(value)
        return printable(text) if escape else text
    if isinstance(value, dict):
        return {k: _clean(v, escape=escape) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, escape=escape) for v in value]
    return value


def _json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


def _summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    parts = [f"{s[k]} {k.replace('_', ' ')}" for k in list(s)[1:] if s[k]]
    return f"{s['total']} items: " + (", ".join(parts) or "none")


def _version(value: Any) -> str:
    return "-" if value is None else f"v{value}"


def _text(report: dict[str, Any]) -> str:
    lines = [
        f"run {report['run_id']}: {report['status'].upper()}"
        + (f" ({report['reason']})" if report["reason"] else ""),
        f"plan {report['plan']['name']} ({report['plan']['path']}), "
        f"started {report['started_at']}, finished {report['finished_at'] or '-'}",
        _summary_line(report),
        "",
    ]
    for wave in report["waves"]:
        rows = [i for i in report["items"] if i["wave"] == wave["name"]]
        lines.append(
            f"wave {wave['name']}: {wave['status']}, {wave['failed']} failed of {wave['items']}"
            + (f" ({wave['reason']})" if wave["reason"] else "")
        )
        lines.extend(_table(rows))
        lines.append("")
    failures = [i for i in report["items"] if i["error"]]
    if failures:
        lines.append("problems:")
        for item in failures:
            err = item["error"]
            corr = f" [correlation id {err['correlation_id']}]" if err.get("correlation_id") else ""
            status = f"HTTP {err['http_status']} " if err.get("http_status") else ""
            lines.append(
                f"  {item['org']} {item['id']}: {item['status']}: {status}{err.get('code')}: "
                f"{err.get('message')}{corr}"
            )
        lines.append("")
    pacing = _pacing_lines(report)
    if pacing:
        lines += ["pacing:", *(f"  {line}" for line in pacing), ""]
    if limit := _limit_line(report):
        lines += [limit, ""]
    h = report["http"]
    lines.append(
        f"http: {h['requests']} requests, {h['retries']} retries, {h['conflicts']} conflicts, "
        f"{h['rate_limited']} rate-limited, {h['server_errors']} server errors"
    )
    return "\n".join(lines) + "\n"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("org", "config", "from", "target", "new", "status", "tries")
    body = [
        (
            r["org"],
            (r["name"] + " " if r["name"] else "") + f"({r['id'][:8]})" + _kind_tag(r["kind"]),
            _version(r["from_version"]),
            r["target"] or _version(r["target_version"]),
            _version(r["new_version"]),
            r["status"],
            str(r["attempts"]),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head).rstrip()] + [fmt.format(*row).rstrip() for row in body]


def _kind_tag(kind: str) -> str:
    # One assistant id can be two items (the assistant, its queues): say which.
    return "" if kind == "agentassist-config" else f" [{kind}]"


def _markdown(report: dict[str, Any]) -> str:
    status = report["status"]
    lines = [
        f"### Rollback run `{report['run_id']}`: **{status}**",
        "",
        f"Plan `{report['plan']['name']}` · started {report['started_at']} · finished "
        f"{report['finished_at'] or '-'} · {_summary_line(report)}",
    ]
    if report["reason"]:
        lines += ["", f"> {report['reason']}"]
    for wave in report["waves"]:
        rows = [i for i in report["items"] if i["wave"] == wave["name"]]
        lines += [
            "",
            f"#### Wave `{wave['name']}`: {wave['status']} ({wave['failed']} failed of "
            f"{wave['items']})",
            "",
            "| org | config | from | target | new | status | attempts |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            name = _md(r["name"] or "")
            lines.append(
                f"| {r['org']} | {name} `{r['id']}` | {_version(r['from_version'])} | "
                f"{_md(r['target'] or _version(r['target_version']))} | "
                f"{_version(r['new_version'])} | {r['status']} | {r['attempts']} |"
            )
    failures = [i for i in report["items"] if i["error"]]
    if failures:
        lines += [
            "",
            "#### Needs attention",
            "",
            "| org | config | status | error | correlation id |",
        ]
        lines.append("|---|---|---|---|---|")
        for item in failures:
            err = item["error"]
            code = f"HTTP {err['http_status']} " if err.get("http_status") else ""
            lines.append(
                f"| {item['org']} | `{item['id']}` | {item['status']} | {code}`{err.get('code')}`:"
                f" {_md(str(err.get('message')))} | {err.get('correlation_id') or '-'} |"
            )
        steps = sorted({err_code for i in failures if (err_code := i["error"].get("code"))})
        advice = [
            f"- `{c}`: {NEXT_STEPS[c].replace('RUN_ID', report['run_id'])}"
            for c in steps
            if c in NEXT_STEPS
        ]
        if advice:
            lines += ["", "**What to do next**", "", *advice]
    pacing = _pacing_lines(report)
    if pacing:
        lines += ["", "**Pacing**", "", *(f"- {_md(line)}" for line in pacing)]
    if limit := _limit_line(report):
        lines += ["", _md(limit)]
    if report["summary"].get(PENDING):
        lines += ["", f"Unfinished items: `orchestrator resume {report['run_id']}` finishes them."]
    return "\n".join(lines) + "\n"


def _is_failure(status: str) -> bool:
    return status != PENDING and Status(status).is_failure


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _junit(report: dict[str, Any]) -> str:
    suites = ET.Element("testsuites", name=f"orchestrator {report['run_id']}")
    for wave in report["waves"]:
        rows = [i for i in report["items"] if i["wave"] == wave["name"]]
        failed = sum(1 for r in rows if _is_failure(r["status"]))
        skipped = sum(1 for r in rows if r["status"] in (Status.SKIPPED, PENDING))
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=wave["name"],
            tests=str(len(rows)),
            failures=str(failed),
            skipped=str(skipped),
        )
        for r in rows:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{r['org']}.{r['kind']}",
                name=r["id"],
                time=f"{r['duration_s'] or 0:.3f}",
            )
            err = r["error"] or {}
            message = f"{r['status']}: {err.get('code')}: {err.get('message')}"
            if r["status"] == PENDING or r["status"] == Status.SKIPPED:
                ET.SubElement(case, "skipped", message=message)
            elif _is_failure(r["status"]):
                node = ET.SubElement(case, "failure", message=message, type=str(err.get("code")))
                node.text = json.dumps(err, indent=2)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
