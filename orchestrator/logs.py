"""Logging: structlog configured once, a redactor no secret gets past, and safe text.

Client secrets and access tokens are registered here the moment the process
learns them; :func:`redact` removes every registered value (and any value
under a secret-sounding key) from log events, error messages and server text
that is about to be stored. Redaction is a processor, not a matter of care.

:func:`printable` escapes control characters: text that came from a server
(an error message, a name) could otherwise move the cursor, erase a line or
colour a fake "succeeded" on an operator's terminal. Every place that prints
or renders such text passes it through here.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

import structlog

MASK = "***"
_SECRET_KEYS = re.compile(r"(secret|password|authorization|access_token|^token$)", re.I)
_GRAM = 4  # secrets are found by four of their characters, then compared whole
_secrets: set[str] = set()
_shortest = 1 << 30  # a text shorter than every secret holds none
# Every 4-gram at offsets 0..shortest-4 of every secret -> (secret, offset). Any
# occurrence of a secret covers one of the positions 0, k, 2k... (k = shortest - 3)
# with one of those grams, so redact() looks up one position in k, not each one.
_grams: dict[str, list[tuple[str, int]]] = {}


def register_secret(value: str) -> None:
    """Never let ``value`` appear in any output from now on, in any encoding it may take.

    Besides the value itself: its JSON string escapes (a report or log line
    holds it that way) and its URL encodings (a form body, a query string).
    """
    value = str(value)
    for form in {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }:
        _register(form)


def _register(value: str) -> None:
    global _shortest
    if len(value) < _GRAM or value in _secrets:
        return
    _secrets.add(value)
    if len(value) < _shortest:  # the stride shrinks: every secret needs more grams
        _shortest = len(value)
        _grams.clear()
        for secret in _secrets:
            _index(secret)
    else:
        _index(value)


def _index(secret: str) -> None:
    for offset in range(_shortest - _GRAM + 1):
        _grams.setdefault(secret[offset : offset + _GRAM], []).append((secret, offset))


def is_secret_key(key: str) -> bool:
    """Whether a value under ``key`` (``client_secret``, ``password``...) is a secret."""
    return _secret_key(key)


# C0 and C1 controls and DEL, plus the invisible characters that reorder or
# break lines (bidirectional overrides and isolates, line/paragraph separators).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\r``, ``\\n``, ``\\u202e``).

    One line in, one line out: whatever a server put in a message, it cannot
    move the cursor, erase or recolour what the terminal already shows, or
    start a line of its own in a report.
    """
    if text.isascii() and text.isprintable():  # no control character: the common case
        return text
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask.

    Looks one 4-character window in every ``shortest - 3`` up in a dict: a
    regex alternation of hundreds of secrets costs a hundred times more, and
    this runs on every field of every log line and every correlation id.
    Overlapping finds are settled left to right, the longest first.
    """
    if len(text) < _shortest:
        return text
    found: set[tuple[int, str]] = set()
    for i in range(0, len(text) - _GRAM + 1, _shortest - _GRAM + 1):
        for secret, offset in _grams.get(text[i : i + _GRAM], ()):
            at = i - offset
            if at >= 0 and text.startswith(secret, at):
                found.add((at, secret))
    if not found:
        return text
    parts: list[str] = []
    start = 0
    for at, secret in sorted(found, key=lambda f: (f[0], -len(f[1]))):
        if at >= start:
            parts += (text[start:at], MASK)
            start = at + len(secret)
    parts.append(text[start:])
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def _secret_key(key: str) -> bool:
    return _SECRET_KEYS.search(key) is not None


_PLAIN = frozenset({type(None), bool, int, float})  # nothing to mask or escape in these


def _scrub(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, str):
        return printable(redact(value))
    if isinstance(value, Mapping):
        return {k: MASK if _secret_key(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, BaseException):
        return printable(redact(str(value)))
    return value


def redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and registered secret values, escape controls."""
    for key, value in list(event.items()):
        event[key] = MASK if _secret_key(key) else _scrub(value)
    return event


class _StderrNow:
    """Resolve ``sys.stderr`` at write time, so a live display's redirect is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(
    *,
    fmt: str | None = None,
    quiet: bool = False,
    stream: TextIO | None = None,
    errors_only: bool = False,
) -> None:
    """Configure structlog once for the CLI: console on a terminal, JSON lines otherwise.

    ``quiet``: warnings and errors only; ``errors_only``: errors only (the demo,
    whose display tells the story the warnings would repeat).
    """
    out: Any = stream or _StderrNow()
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=colors_wanted(sys.stderr))
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
        wrapper_class=structlog.make_filtering_bound_logger(
            40 if errors_only else 30 if quiet else 20
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def bind(**context: Any) -> None:
    """Add ``context`` (``run_id``...) to every log line of this task and those it starts."""
    structlog.contextvars.bind_contextvars(**context)


def colors_wanted(stream: TextIO) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set; ``FORCE_COLOR`` forces it.

    The conventions of https://no-color.org and https://force-color.org, which
    rich (the live display) honours too.
    """
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def get_logger(**bound: Any) -> Any:
    """A structlog logger with ``bound`` context (org, config_id, run_id...).

    Lazy: it takes the configuration in force when it first logs, so a
    module-level logger honours the CLI's later :func:`configure`.
    """
    return structlog.get_logger("orchestrator", **bound)
