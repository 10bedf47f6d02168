"""The redacting log processor."""

from __future__ import annotations

import io
import json

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
