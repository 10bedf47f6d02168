"""Who is acting: recorded on runs, approvals and gate decisions."""

from __future__ import annotations

import getpass
import os
import socket


def current_actor() -> str:
    """``$ORCHESTRATOR_ACTOR`` if set, else ``user@host``."""
    given = os.environ.get("ORCHESTRATOR_ACTOR", "").strip()
    if given:
        return given
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container with a random uid)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"
