"""``orchestrator plan PLAN --out FILE``: save what ``plan`` showed, for review and ``apply``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from orchestrator.engine.run import Preview
from orchestrator.engine.saved import document, unsaveable
from orchestrator.errors import UsageError
from orchestrator.logs import printable, redact
from orchestrator.models import Plan
from orchestrator.planfile.saved import sealed
from orchestrator.statuses import ExitCode
from orchestrator.timestamps import stamp

MAX_REASONS = 10


def check_out(path: Path | None) -> None:
    """Refuse, before any request, an ``--out`` path that could not be written.

    Raises:
        UsageError: a folder, a missing or read-only folder, a read-only file.
    """
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder: give a file path")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--out {path}: folder {folder} does not exist")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise UsageError(f"--out {path} is not writable")


def save(path: Path, plan: Plan, preview: Preview) -> int:
    """Write the saved plan (``0600``) and say how to apply it; the exit status of ``plan``.

    A plan that is not ready to apply as a whole (an org failed preflight, an
    item could not be planned) is not saved: a reviewed file holds every item.
    """
    why = unsaveable(preview)
    if why:
        print(f"not saved to {path}: every item must be ready to apply:", file=sys.stderr)
        for reason in why[:MAX_REASONS]:
            print(f"  {printable(redact(reason))}", file=sys.stderr)
        if len(why) > MAX_REASONS:
            print(f"  … {len(why) - MAX_REASONS} more", file=sys.stderr)
        return preview.exit_code or ExitCode.FAILURES
    text = sealed(document(plan, preview, made_at=stamp()))
    if redact(text) != text:  # a credential in a server's content: never write it down
        raise UsageError(f"not saved to {path}: the content holds a credential")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    print(
        f"saved to {path}: {len(preview.jobs)} items; review it, then"
        f" `orchestrator apply {path}` runs exactly that",
        file=sys.stderr,
    )
    return preview.exit_code
