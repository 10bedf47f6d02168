"""The command line against a hostile server: exit codes, no traceback, nothing leaked or obeyed.

Every command runs as a subprocess, as an operator runs it; everything it
printed and every file it wrote is searched for the credentials in every
encoding, and for control characters that came from the server.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree as ET

import pytest

from tests.cli.test_running import orchestrator
from tests.hostile import CLIENT_ID, CONFIG_IDS, ORG_ID, Answer, Hostile, echo_authorization
from tests.support import write_plan

pytestmark = pytest.mark.anyio

ONE = CONFIG_IDS[0]
# Every character here is written differently in JSON, in a URL and in XML.
ODD_SECRET = 's3"cr/e+t &<y>\\'
SPOOF = "\x1b[2K\r\x1b[32mSUCCEEDED\x1b[0m\x9b1A\u202e"


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server = Hostile(secret=ODD_SECRET)
    async with server.serve():
        yield server


def plan_for(tmp_path: Path, url: str, *, secret: str = ODD_SECRET, **kw: object) -> Path:
    org = {"client_id": CLIENT_ID, "client_secret": secret, "org_id": ORG_ID}
    return write_plan(tmp_path, url, {"hostile": [ONE]}, orgs={"hostile": org}, **kw)  # type: ignore[arg-type]


def encodings(secret: str) -> list[str]:
    """Every form of ``secret`` a leak could take: raw, JSON, URL, XML, Basic."""
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    xml = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [
        secret,
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        xml,
        xml.replace('"', "&quot;"),
        basic,
        quote(basic, safe=""),
    ]


def files(tmp_path: Path) -> list[str]:
    """Every file the commands left (plans excluded), as text; the journal's rows too."""
    texts = [
        p.read_bytes().decode(errors="replace")
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file() and p.suffix != ".yaml"
    ]
    db = sqlite3.connect(tmp_path / "j.sqlite3")
    for table in ("runs", "items", "events", "snapshots"):
        texts += [json.dumps(list(row)) for row in db.execute(f"SELECT * FROM {table}")]
    db.close()
    return texts


async def every_output(tmp_path: Path, plan: Path) -> tuple[list[str], str]:
    """plan, run (with --report), report in every format, status: all they printed."""
    journal = tmp_path / "j.sqlite3"
    outputs: list[str] = []
    _, out, err = await orchestrator("plan", str(plan), "--log-format", "json", journal=journal)
    outputs += [out, err]
    _, out, err = await orchestrator(
        "run", str(plan), "--log-format", "console", "--report", str(tmp_path / "r.json"),
        journal=journal,
    )  # fmt: skip
    outputs += [out, err]
    run_id = json.loads((tmp_path / "r.json").read_text())["run_id"]
    for fmt in ("text", "json", "markdown", "junit"):
        _, out, err = await orchestrator("report", run_id, "--format", fmt, journal=journal)
        outputs += [out, err]
    _, out, err = await orchestrator("status", run_id, journal=journal)
    outputs += [out, err]
    return outputs, run_id


async def test_an_echoed_authorization_header_leaks_nowhere(
    hostile: Hostile, tmp_path: Path
) -> None:
    """The token endpoint quotes the Basic header back: no output, log, report or row holds it."""
    hostile.always("POST", "/oauth/token", echo_authorization())
    outputs, _ = await every_output(tmp_path, plan_for(tmp_path, hostile.url))
    assert any("preflight failed" in text for text in outputs)
    assert all("Traceback" not in text for text in outputs)
    for text in outputs + files(tmp_path):
        for form in encodings(ODD_SECRET):
            assert form not in text


async def test_an_echoed_bearer_token_leaks_nowhere(hostile: Hostile, tmp_path: Path) -> None:
    """An API error quoting the token it was sent: masked in every output, file and row."""
    echo = Answer(
        status=400,
        body=lambda request: {"message": request.headers["Authorization"], "code": "bad"},
        headers={"ININ-Correlation-Id": "corr"},
    )
    hostile.always("PUT", "/configs/", echo)
    outputs, _ = await every_output(tmp_path, plan_for(tmp_path, hostile.url))
    assert hostile.tokens and hostile.requests("PUT")
    for text in outputs + files(tmp_path):
        for token in hostile.tokens:
            assert token not in text


async def test_server_text_cannot_spoof_the_terminal(hostile: Hostile, tmp_path: Path) -> None:
    """ANSI escapes, CR and bidi marks in a server's message are shown escaped, in every format."""
    spoofing = Answer(status=400, body={"message": f"no{SPOOF}", "code": f"bad{SPOOF}"})
    hostile.always("PUT", "/configs/", spoofing)
    outputs, run_id = await every_output(tmp_path, plan_for(tmp_path, hostile.url))
    for text in outputs:
        assert not any(c in text for c in "\x1b\r\x9b\u202e"), text
    assert any("\\x1b[32mSUCCEEDED" in text for text in outputs)
    _, junit, _ = await orchestrator(
        "report", run_id, "--format", "junit", journal=tmp_path / "j.sqlite3"
    )
    failure = ET.fromstring(junit).find(".//failure")
    assert failure is not None and "\\x1b" in failure.get("message", "")


CRASHERS = {
    "no-etag": (("GET", f"/configs/{ONE}", Answer(body={"name": "x", "version": 3})), 1),
    "html-with-before": (
        ("GET", "/versions", Answer(body=b"<html/>", content_type="text/html")),
        1,
    ),
    "expires-in-abc": (
        ("POST", "/oauth/token", Answer(body={"access_token": "tok-1", "expires_in": "abc"})),
        0,
    ),
    "a-204-to-the-put": (("PUT", "/configs/", Answer(status=204, apply=True)), 0),
}


@pytest.mark.parametrize("case", CRASHERS, ids=str)
async def test_malformed_answers_are_item_errors_not_crashes(
    hostile: Hostile, tmp_path: Path, case: str
) -> None:
    """What used to end in a traceback (exit 1, run left running) is an item outcome."""
    (method, path, answer), expected = CRASHERS[case]
    if method == "POST":
        hostile.tokens.append("tok-1")
    hostile.always(method, path, answer)
    plan = plan_for(tmp_path, hostile.url, defaults={"to": {"before": "2026-11-03T00:00:00Z"}})
    code, out, err = await orchestrator(
        "run", str(plan), "--format", "json", journal=tmp_path / "j.sqlite3"
    )
    assert "Traceback" not in err
    assert code == expected, err
    report = json.loads(out)
    assert report["status"] in ("succeeded", "failed")
    (item,) = report["items"]
    assert item["status"] == ("succeeded" if expected == 0 else "failed")
    if expected:
        assert item["error"]["code"] == "answer.malformed"
        assert hostile.requests("PUT") == []
    else:
        assert hostile.applied(ONE) == 1
