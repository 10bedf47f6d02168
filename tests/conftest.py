"""Shared fixtures: every test that speaks HTTP speaks to a real sandbox on loopback."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import aiohttp
import pytest

from orchestrator.journal import Journal, opened
from orchestrator.sandbox import Faults, Sandbox, Seed, load_seed
from tests.postgres import PostgresServer
from tests.support import ACTOR, SEED_PATH, FakeClock, SandboxFactory


@pytest.fixture(autouse=True)
def actor(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test acts as one named operator (runs, approvals and gates record it)."""
    monkeypatch.setenv("ORCHESTRATOR_ACTOR", ACTOR)
    return ACTOR


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp and aiolimiter are asyncio-only: pin anyio's backend."""
    return "asyncio"


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock for Sandbox(clock=...): rate windows, expiry, lags move on demand."""
    return FakeClock()


@pytest.fixture(scope="session")
def sandbox_seed() -> Seed:
    """The shipped seed (orchestrator/sandbox/data/seed.yaml), loaded once."""
    return load_seed(SEED_PATH)


@pytest.fixture
async def sandbox(sandbox_seed: Seed) -> AsyncIterator[Sandbox]:
    """A running sandbox of the shipped seed on 127.0.0.1, fresh per test, no faults."""
    sb = Sandbox(sandbox_seed)
    async with sb.serve():
        yield sb


@pytest.fixture
def make_sandbox(sandbox_seed: Seed) -> SandboxFactory:
    """``async with make_sandbox(seed=..., faults=..., rng_seed=..., clock=...) as sb``.

    Every argument is optional: the shipped seed, no faults, rng_seed 0 and
    ``time.monotonic`` are the defaults. ``sb.url`` is set while it serves.
    """

    @contextlib.asynccontextmanager
    async def factory(
        *,
        seed: Seed | None = None,
        faults: Mapping[str, Faults] | None = None,
        rng_seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[Sandbox]:
        sb = Sandbox(seed or sandbox_seed, faults=faults, rng_seed=rng_seed, clock=clock)
        async with sb.serve():
            yield sb

    return factory


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session for talking to sandboxes."""
    async with aiohttp.ClientSession() as session:
        yield session


Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login(http: aiohttp.ClientSession) -> Login:
    """``await login(sb, "canary")`` -> headers with a fresh bearer token of that org."""

    async def get(sb: Sandbox, org: str = "canary") -> dict[str, str]:
        response = await http.post(
            f"{sb.url}/oauth/token",
            headers={"Authorization": aiohttp.encode_basic_auth(org, f"{org}-secret")},
            data={"grant_type": "client_credentials"},
        )
        assert response.status == 200, await response.text()
        token = (await response.json())["access_token"]
        return {"Authorization": f"Bearer {token}"}

    return get


BACKENDS = ("sqlite", "postgresql")
"""A test module that must pass on both: ``pytestmark = parametrize_backends()``."""


def parametrize_backends() -> pytest.MarkDecorator:
    """Run a module's journal tests once per backend (those using ``journal`` or ``journal_at``)."""
    return pytest.mark.backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``backends`` that reaches a journal runs on SQLite and on PostgreSQL."""
    if metafunc.definition.get_closest_marker("backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (started on first use)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The journal backend under test: SQLite unless a module parametrizes it."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def journal_at(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a fresh journal lives: a file path, or the URL of a fresh PostgreSQL database."""
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.new_database()
    return str(tmp_path / "journal.sqlite3")


@pytest.fixture
async def journal(journal_at: str) -> AsyncIterator[Journal]:
    """A fresh journal (SQLite in the test's folder, or a fresh PostgreSQL database)."""
    async with opened(journal_at) as j:
        yield j
