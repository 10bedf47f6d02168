"""What the recorder writes down: every step, and never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.journal import Journal
from orchestrator.sandbox import Sandbox
from orchestrator.ui import report
from tests.support import CONFIGS, execute, make_plan

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


EMEA = CONFIGS["emea-prod"]


async def test_secrets_never_reach_the_journal_or_report(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """No client secret and no access token in any journal row or report format."""
    plan = make_plan(tmp_path, sandbox.url, {"canary": CANARY, "emea-prod": EMEA})
    result, data = await execute(plan, journal)
    assert result.run_id
    texts = [await report.render(data, fmt) for fmt in report.FORMATS]
    raw = (tmp_path / "journal.sqlite3").read_bytes()
    for secret in ("canary-secret", "emea-prod-secret"):
        assert all(secret not in t for t in texts)
        assert secret.encode() not in raw
