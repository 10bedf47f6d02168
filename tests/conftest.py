"""Shared fixtures: every test that speaks HTTP speaks to a real sandbox on loopback."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp and aiolimiter are asyncio-only: pin anyio's backend."""
    return "asyncio"
