"""The report's four formats, each written a page of items at a time.

A format never sees the whole run. It is handed the report's head (the
dictionary without its items) and then pages of items by the report's
driver (:mod:`orchestrator.ui.report`), in this order: per wave, a
measuring pass over the wave's items (when :attr:`Format.measures`), the
wave's header, its rows, its footer; then the items that recorded an error
(when :attr:`Format.problems`); then the end. JSON, whose items are in plan
order rather than by wave, takes one pass over every item instead
(:attr:`Format.by_wave` false). Every string a format is given is already
redacted (and, for people, made printable).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from orchestrator.statuses import Status
from orchestrator.ui import shardview
from orchestrator.ui.nextsteps import NEXT_STEPS
from orchestrator.ui.reviewed import reviewed_line

PENDING = "pending"  # not final: an interrupted or gated run's unfinished items
Item = dict[str, Any]


class Format:
    """One format's text, piece by piece (see the module doc for the order)."""

    by_wave: ClassVar[bool] = True
    measures: ClassVar[bool] = False
    problems: ClassVar[bool] = False
    escape: ClassVar[bool] = True  # controls made printable (JSON escapes them itself)

    def __init__(self, head: dict[str, Any]) -> None:
        self.head = head

    def begin(self) -> str:
        return ""

    def measure(self, page: list[Item]) -> None:
        """A page of the coming wave's items, before its header."""

    def wave_start(self, wave: dict[str, Any]) -> str:
        return ""

    def rows(self, page: list[Item]) -> str:
        return ""

    def wave_end(self, wave: dict[str, Any]) -> str:
        return ""

    def problem_rows(self, page: list[Item]) -> str:
        return ""

    def end(self) -> str:
        return ""


class Json(Format):
    """``json.dumps(report, indent=2)``, written as it goes."""

    by_wave = False
    escape = False

    def __init__(self, head: dict[str, Any]) -> None:
        super().__init__(head)
        self._first = True
        keys = list(head)
        at = keys.index("items")
        self._before, self._after = keys[:at], keys[at + 1 :]

    def begin(self) -> str:
        return "{\n" + "".join(f"{self._pair(k)},\n" for k in self._before) + '  "items": ['

    def rows(self, page: list[Item]) -> str:
        out = []
        for item in page:
            body = json.dumps(item, indent=2).replace("\n", "\n    ")
            out.append(("\n    " if self._first else ",\n    ") + body)
            self._first = False
        return "".join(out)

    def end(self) -> str:
        close = "]" if self._first else "\n  ]"
        rest = "".join(f",\n{self._pair(k)}" for k in self._after)
        return close + rest + "\n}\n"

    def _pair(self, key: str) -> str:
        value = json.dumps(self.head[key], indent=2).replace("\n", "\n  ")
        return f"  {json.dumps(key)}: {value}"


class Text(Format):
    """The terminal's report: a table per wave, then the problems."""

    measures = problems = True
    _HEAD = ("org", "config", "from", "target", "new", "status", "tries")

    def __init__(self, head: dict[str, Any]) -> None:
        super().__init__(head)
        self._widths = [len(h) for h in self._HEAD]
        self._any_problem = False

    def begin(self) -> str:
        r = self.head
        lines = [
            f"run {r['run_id']}: {r['status'].upper()}"
            + (f" ({r['reason']})" if r["reason"] else ""),
            f"plan {r['plan']['name']} ({r['plan']['path']}), "
            f"started {r['started_at']}, finished {r['finished_at'] or '-'}",
            summary_line(r),
            "",
        ]
        return "\n".join(lines) + "\n"

    def measure(self, page: list[Item]) -> None:
        for row in map(self._cells, page):
            self._widths = [max(w, len(c)) for w, c in zip(self._widths, row, strict=True)]

    def wave_start(self, wave: dict[str, Any]) -> str:
        line = f"wave {wave['name']}: {wave['status']}, {wave['failed']} failed of {wave['items']}"
        return (
            line
            + (f" ({wave['reason']})" if wave["reason"] else "")
            + "\n"
            + self._line(self._HEAD)
        )

    def rows(self, page: list[Item]) -> str:
        return "".join(self._line(self._cells(item)) for item in page)

    def wave_end(self, wave: dict[str, Any]) -> str:
        self._widths = [len(h) for h in self._HEAD]
        return "\n"

    def problem_rows(self, page: list[Item]) -> str:
        lines = [] if self._any_problem else ["problems:"]
        self._any_problem = True
        for item in page:
            err = item["error"]
            corr = f" [correlation id {err['correlation_id']}]" if err.get("correlation_id") else ""
            status = f"HTTP {err['http_status']} " if err.get("http_status") else ""
            lines.append(
                f"  {item['org']} {item['id']}: {item['status']}: {status}{err.get('code')}: "
                f"{err.get('message')}{corr}"
            )
        return "\n".join(lines) + "\n"

    def end(self) -> str:
        lines = [""] if self._any_problem else []
        if pacing := pacing_lines(self.head):
            lines += ["pacing:", *(f"  {line}" for line in pacing), ""]
        if shards := shardview.shard_lines(self.head):
            lines += ["shards:", *(f"  {line}" for line in shards), ""]
        if limit := limit_line(self.head):
            lines += [limit, ""]
        if saved := reviewed_line(self.head):
            lines += [saved, ""]
        h = self.head["http"]
        lines.append(
            f"http: {h['requests']} requests, {h['retries']} retries, {h['conflicts']} conflicts, "
            f"{h['rate_limited']} rate-limited, {h['server_errors']} server errors"
        )
        return "\n".join(lines) + "\n"

    @staticmethod
    def _cells(r: Item) -> tuple[str, ...]:
        return (
            r["org"],
            (r["name"] + " " if r["name"] else "") + f"({r['id'][:8]})" + _kind_tag(r["kind"]),
            version(r["from_version"]),
            r["target"] or version(r["target_version"]),
            version(r["new_version"]),
            r["status"],
            str(r["attempts"]),
        )

    def _line(self, cells: tuple[str, ...]) -> str:
        return (
            "  " + "  ".join(c.ljust(w) for c, w in zip(cells, self._widths, strict=True))
        ).rstrip() + "\n"


class Markdown(Format):
    """For an incident ticket: a table per wave, what needs attention, what to do next."""

    problems = True

    def __init__(self, head: dict[str, Any]) -> None:
        super().__init__(head)
        self._codes: set[str] = set()

    def begin(self) -> str:
        r = self.head
        lines = [
            f"### Rollback run `{r['run_id']}`: **{r['status']}**",
            "",
            f"Plan `{r['plan']['name']}` · started {r['started_at']} · finished "
            f"{r['finished_at'] or '-'} · {summary_line(r)}",
        ]
        if r["reason"]:
            lines += ["", f"> {r['reason']}"]
        return "\n".join(lines) + "\n"

    def wave_start(self, wave: dict[str, Any]) -> str:
        return (
            f"\n#### Wave `{wave['name']}`: {wave['status']} ({wave['failed']} failed of "
            f"{wave['items']})\n\n"
            "| org | config | from | target | new | status | attempts |\n"
            "|---|---|---|---|---|---|---|\n"
        )

    def rows(self, page: list[Item]) -> str:
        return "".join(
            f"| {r['org']} | {md(r['name'] or '')} `{r['id']}` | {version(r['from_version'])} | "
            f"{md(r['target'] or version(r['target_version']))} | "
            f"{version(r['new_version'])} | {r['status']} | {r['attempts']} |\n"
            for r in page
        )

    def problem_rows(self, page: list[Item]) -> str:
        lines = []
        if not self._codes:
            lines += [
                "",
                "#### Needs attention",
                "",
                "| org | config | status | error | correlation id |",
            ]
            lines.append("|---|---|---|---|---|")
        for item in page:
            err = item["error"]
            code = f"HTTP {err['http_status']} " if err.get("http_status") else ""
            lines.append(
                f"| {item['org']} | `{item['id']}` | {item['status']} | {code}`{err.get('code')}`:"
                f" {md(str(err.get('message')))} | {err.get('correlation_id') or '-'} |"
            )
            self._codes.add(str(err.get("code")))
        return "\n".join(lines) + "\n"

    def end(self) -> str:
        r, lines = self.head, []
        advice = [
            f"- `{c}`: {NEXT_STEPS[c].replace('RUN_ID', r['run_id'])}"
            for c in sorted(self._codes)
            if c in NEXT_STEPS
        ]
        if advice:
            lines += ["", "**What to do next**", "", *advice]
        if pacing := pacing_lines(r):
            lines += ["", "**Pacing**", "", *(f"- {md(line)}" for line in pacing)]
        if shards := shardview.shard_lines(r):
            lines += ["", "**Shards**", "", *(f"- {md(line)}" for line in shards)]
        if limit := limit_line(r):
            lines += ["", md(limit)]
        if saved := reviewed_line(r):
            lines += ["", md(saved)]
        if r["summary"].get(PENDING):
            lines += ["", f"Unfinished items: `orchestrator resume {r['run_id']}` finishes them."]
        return "".join(f"{line}\n" for line in lines)


class Junit(Format):
    """One testsuite per wave, one testcase per item: what a CI server shows."""

    measures = True

    def __init__(self, head: dict[str, Any]) -> None:
        super().__init__(head)
        self._counts = [0, 0, 0]  # tests, failures, skipped of the wave being measured

    def begin(self) -> str:
        name = quoteattr(f"orchestrator {self.head['run_id']}")
        return f"<?xml version='1.0' encoding='utf-8'?>\n<testsuites name={name}>\n"

    def measure(self, page: list[Item]) -> None:
        for r in page:
            self._counts[0] += 1
            self._counts[1] += is_failure(r["status"])
            self._counts[2] += r["status"] in (Status.SKIPPED, PENDING)

    def wave_start(self, wave: dict[str, Any]) -> str:
        tests, failed, skipped = self._counts
        self._counts = [0, 0, 0]
        return (
            f'  <testsuite name={quoteattr(wave["name"])} tests="{tests}"'
            f' failures="{failed}" skipped="{skipped}">\n'
        )

    def rows(self, page: list[Item]) -> str:
        return "".join(map(self._case, page))

    def wave_end(self, wave: dict[str, Any]) -> str:
        return "  </testsuite>\n"

    def end(self) -> str:
        return "</testsuites>\n"

    @staticmethod
    def _case(r: Item) -> str:
        case = (
            f"    <testcase classname={quoteattr(r['org'] + '.' + r['kind'])}"
            f' name={quoteattr(r["id"])} time="{r["duration_s"] or 0:.3f}"'
        )
        err = r["error"] or {}
        message = quoteattr(f"{r['status']}: {err.get('code')}: {err.get('message')}")
        if r["status"] in (PENDING, Status.SKIPPED):
            return f"{case}>\n      <skipped message={message} />\n    </testcase>\n"
        if is_failure(r["status"]):
            body = xml_escape(json.dumps(err, indent=2))
            kind = quoteattr(str(err.get("code")))
            failure = f"<failure message={message} type={kind}>{body}</failure>"
            return f"{case}>\n      {failure}\n    </testcase>\n"
        return f"{case} />\n"


FORMATS: dict[str, type[Format]] = {
    "text": Text,
    "json": Json,
    "markdown": Markdown,
    "junit": Junit,
}


def summary_line(report: dict[str, Any]) -> str:
    """``12 items: 10 succeeded, 2 failed``."""
    s = report["summary"]
    parts = [f"{s[k]} {k.replace('_', ' ')}" for k in list(s)[1:] if s[k]]
    return f"{s['total']} items: " + (", ".join(parts) or "none")


def version(value: Any) -> str:
    return "-" if value is None else f"v{value}"


def is_failure(status: str) -> bool:
    return status != PENDING and Status(status).is_failure


def md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def limit_line(report: dict[str, Any]) -> str | None:
    limit = report.get("limit")
    if not limit:
        return None
    left = ", ".join(limit["left_out"]) or "nothing"
    return f"--limit {','.join(limit['patterns'])}: left out {left}"


def pacing_lines(report: dict[str, Any]) -> list[str]:
    return [
        f"{p['org']}: server allows {p['allowed']}/min; the environment file says {p['configured']}"
        for p in report.get("pacing") or []
    ]


def _kind_tag(kind: str) -> str:
    # One assistant id can be two items (the assistant, its queues): say which.
    return "" if kind == "agentassist-config" else f" [{kind}]"
