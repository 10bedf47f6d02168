"""A plan's problems for CI: GitHub workflow annotations, or a JSON list.

``orchestrator validate --format github`` prints one ``::error`` workflow
command per problem, so each shows on the offending line of the pull
request; ``--format json`` prints the problems for any other CI to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from orchestrator.errors import Problem


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(problems: Sequence[Problem]) -> str:
    """One ``::error file=...,line=...,title=...::message`` line per problem."""
    lines = []
    for problem in problems:
        props = [f"file={_escape_property(problem.file)}"]
        if problem.line is not None:
            props.append(f"line={problem.line}")
        title = f"orchestrator: {problem.path}" if problem.path else "orchestrator"
        props.append(f"title={_escape_property(title)}")
        message = problem.message + (f"; {problem.hint}" if problem.hint else "")
        lines.append(f"::error {','.join(props)}::{_escape_data(message)}\n")
    return "".join(lines)


def as_json(problems: Sequence[Problem]) -> str:
    """The problems as a JSON list of {file, line, path, message, hint}."""
    rows = [
        {"file": p.file, "line": p.line, "path": p.path, "message": p.message, "hint": p.hint}
        for p in problems
    ]
    return json.dumps(rows, indent=2) + "\n"
