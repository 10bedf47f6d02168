"""The redacting log processor."""

from __future__ import annotations

import io
import json
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
