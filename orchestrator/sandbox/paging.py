"""Cursor paging as the assistants' listings do it: ``pageSize``, ``after``, ``nextUri``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from orchestrator.sandbox.api_errors import invalid_values
from orchestrator.sandbox.exchange import page_size
from orchestrator.sandbox.resources import OrgState


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _after(keys: list[str], cursor: str | None) -> int:
    """Index of the first key after ``cursor``."""
    if cursor is None:
        return 0
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if key not in keys:
        raise invalid_values([("after", "is not a cursor this listing gave out")])
    return keys.index(key) + 1


def page(
    request: web.Request, org: OrgState, keys: list[str], path: str, query: str = ""
) -> tuple[list[str], dict[str, Any]]:
    """The keys of the page asked for, and the listing's ``selfUri``/``nextUri``.

    ``query`` (``&expand=copilot``) is carried into ``nextUri`` so that every
    page is asked the same way.
    """
    size = page_size(request, org)
    start = _after(keys, request.query.get("after"))
    chosen = keys[start : start + size]
    body: dict[str, Any] = {"selfUri": request.path_qs}
    if start + size < len(keys):
        body["nextUri"] = f"{path}?pageSize={size}{query}&after={_cursor(chosen[-1])}"
    return chosen, body
