"""The redacting log processor."""

from __future__ import annotations

import io
import json
import random
import sys

import pytest

from orchestrator import logs


def test_the_log_processor_masks_registered_secrets_and_secret_keys() -> None:
    """Secrets vanish from every log field, nested ones included."""
    logs.register_secret("s3cr3t-value")
    event = logs.redact_processor(
        None,
        "info",
        {"event": "token s3cr3t-value used", "client_secret": "x", "nested": {"a": "s3cr3t-value"}},
    )
    assert json.dumps(event).count("s3cr3t-value") == 0
    assert event["client_secret"] == logs.MASK
    stream = io.StringIO()
    logs.configure(fmt="json", stream=stream)
    logs.get_logger(org="canary").info("sent", authorization="Bearer s3cr3t-value")
    assert "s3cr3t-value" not in stream.getvalue() and "canary" in stream.getvalue()


def test_no_color_turns_colour_off_in_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR wins over a terminal; FORCE_COLOR colours even a pipe."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    logs.configure(fmt="console")
    logs.get_logger().warning("org paused by a 429", org="amer-prod")
    assert "amer-prod" in sys.stderr.getvalue()
    assert "\x1b[" not in sys.stderr.getvalue()

    monkeypatch.delenv("NO_COLOR")
    logs.configure(fmt="console")
    logs.get_logger().warning("org paused by a 429", org="amer-prod")
    assert "\x1b[" in sys.stderr.getvalue()  # a terminal, and nothing said otherwise

    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    monkeypatch.setenv("FORCE_COLOR", "1")
    logs.configure(fmt="console")
    logs.get_logger().warning("org paused by a 429", org="amer-prod")
    assert "\x1b[" in pipe.getvalue()


def test_every_encoding_of_a_registered_secret_is_masked() -> None:
    """JSON-escaped and URL-encoded forms of a secret are as secret as the secret."""
    secret = 'pa"ss/w+rd &<x>'
    logs.register_secret(secret)
    for form in (
        secret,
        json.dumps(secret)[1:-1],
        "pa%22ss%2Fw%2Brd%20%26%3Cx%3E",
        "pa%22ss%2Fw%2Brd+%26%3Cx%3E",
    ):
        assert logs.redact(f"before {form} after") == f"before {logs.MASK} after"


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    """ESC, CR, LF, C1 controls, DEL and bidi overrides come out as visible escapes."""
    hostile = "ok\x1b[2K\r\x1b[32msucceeded\x1b[0m\nnext\x9b2J\x7f\u202eevil"
    shown = logs.printable(hostile)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in shown)
    assert shown == ("ok\\x1b[2K\\r\\x1b[32msucceeded\\x1b[0m\\nnext\\x9b2J\\x7f\\u202eevil")
    assert logs.printable("plain text, ünïcode ✓") == "plain text, ünïcode ✓"


def test_log_lines_escape_control_characters_in_any_renderer() -> None:
    """A server message with ANSI escapes is escaped in console and JSON log lines alike."""
    for fmt in ("console", "json"):
        stream = io.StringIO()
        logs.configure(fmt=fmt, stream=stream)
        logs.get_logger().info("item finished", message="\x1b[2K\rsucceeded")
        assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def _reference_redact(text: str, secrets: set[str]) -> str:
    """The plain definition: left to right, at each position the longest secret found there."""
    out, i = [], 0
    while i < len(text):
        here = [s for s in secrets if text.startswith(s, i)]
        if here:
            out.append(logs.MASK)
            i += max(map(len, here))
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@pytest.fixture
def own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry of this test's own: the secrets it registers do not outlive it."""
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.setattr(logs, "_grams", {})
    monkeypatch.setattr(logs, "_shortest", 1 << 30)


@pytest.mark.usefixtures("own_secrets")
def test_redact_finds_every_secret_while_looking_at_one_window_in_k() -> None:
    """Overlapping, adjacent and nested secrets over a two-letter alphabet (the worst case
    for a strided scan), and a shorter secret arriving later (the stride shrinks): the
    result is always the plain left-to-right, longest-first definition."""
    rng = random.Random(16)
    secrets: set[str] = set()
    for n in range(120):
        secret = "".join(rng.choice("ab") for _ in range(rng.randint(max(4, 12 - n // 12), 14)))
        logs._register(secret)
        secrets.add(secret)
        for _ in range(20):
            text = "".join(rng.choice("abc") for _ in range(rng.randint(0, 60)))
            assert logs.redact(text) == _reference_redact(text, secrets), (text, secrets)
