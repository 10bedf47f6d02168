"""Logging: structlog configured once, and a redactor no secret gets past.

Client secrets and access tokens are registered here the moment the process
learns them; :func:`redact` removes every registered value (and any value
under a secret-sounding key) from log events, error messages and server text
that is about to be stored. Redaction is a processor, not a matter of care.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

MASK = "***"
_SECRET_KEYS = re.compile(r"(secret|password|authorization|access_token|^token$)", re.I)
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Never let ``value`` appear in any output from now on."""
    global _pattern
    value = str(value)
    if len(value) < 4 or value in _secrets:
        return
    _secrets.add(value)
    alternatives = sorted(_secrets, key=len, reverse=True)
    _pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask."""
    if _pattern is None or not text:
        return text
    return _pattern.sub(MASK, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: MASK if _SECRET_KEYS.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, BaseException):
        return redact(str(value))
    return value


def redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and registered secret values."""
    for key, value in list(event.items()):
        event[key] = MASK if _SECRET_KEYS.search(key) else _scrub(value)
    return event


class _StderrNow:
    """Resolve ``sys.stderr`` at write time, so a live display's redirect is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(*, fmt: str | None = None, quiet: bool = False, stream: TextIO | None = None) -> None:
    """Configure structlog once for the CLI: console on a terminal, JSON lines otherwise."""
    out: Any = stream or _StderrNow()
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(30 if quiet else 20),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(**bound: Any) -> Any:
    """A structlog logger with ``bound`` context (org, config_id, run_id...).

    Lazy: it takes the configuration in force when it first logs, so a
    module-level logger honours the CLI's later :func:`configure`.
    """
    return structlog.get_logger("orchestrator", **bound)
