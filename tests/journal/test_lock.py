"""One process per run: the run lock, and its release when the holder dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.engine.run import resumable
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, open_journal
from orchestrator.journal.lock import ResourceLocks
from orchestrator.sandbox import Faults
from tests.conftest import parametrize_backends
from tests.support import (
    ACTOR,
    CONFIGS,
    SandboxFactory,
    planned_run,
)

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY = CONFIGS["canary"]


async def test_two_processes_on_one_run_exactly_one_proceeds(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Two `resume RUN_ID` at once: one drives the run, the other is refused (exit 2)."""
    async with make_sandbox(faults={"canary": Faults(latency=0.3)}) as sb:
        await planned_run(sb, tmp_path, journal, CANARY)
        run_id = (await resumable(journal, None)).id
        command = [
            sys.executable,
            "-m",
            "orchestrator",
            "resume",
            run_id,
            "--approve",
            "--journal",
            journal.location,
            "--plain",
            "--format",
            "json",
        ]
        results: list[tuple[int, bytes]] = []

        async def one() -> None:
            done = await anyio.run_process(command, check=False, env={**os.environ})
            results.append((done.returncode, done.stderr))

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2]
        refused = next(err for code, err in results if code == 2).decode()
        assert f"run {run_id} is being driven by pid" in refused
        for config_id in CANARY:
            assert len(sb.writes("canary", config_id)) == 1


async def test_the_lock_is_released_when_its_holder_dies(journal_at: str) -> None:
    """A SIGKILLed holder's lock is gone (the kernel drops the flock; PostgreSQL the session)."""
    first = await open_journal(journal_at)
    await first.create_run(
        run_id="r1",
        plan_name="p",
        plan_path="p.yaml",
        plan_sha256="0",
        started_at="2026-11-29T00:00:00.000Z",
        actor=ACTOR,
        waves=[],
        items=[],
    )
    await _killed_while(journal_at, "await j.lock('r1')")
    await first.lock("r1")  # would raise JournalError if the dead process still held it
    await first.aclose()


async def test_a_resource_is_held_against_every_other_handle(journal_at: str) -> None:
    """One writer per resource: another handle waits for it (and says so), not for others."""
    first, second = await open_journal(journal_at), await open_journal(journal_at)
    seen: list[str] = []
    release = anyio.Event()

    async def holder() -> None:
        async with first.resource_lock("org/kind/a") as waited:
            seen.append(f"first a waited={waited}")
            await release.wait()
            seen.append("first lets a go")

    async def other(key: str) -> None:
        async with second.resource_lock(key) as waited:
            seen.append(f"second {key} waited={waited}")

    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(holder)
                await anyio.sleep(0.05)
                tg.start_soon(other, "org/kind/a")
                tg.start_soon(other, "org/kind/b")
                await anyio.sleep(0.3)  # six polls: the held resource must not get through
                release.set()
        assert seen == [
            "first a waited=False",
            "second org/kind/b waited=False",
            "first lets a go",
            "second org/kind/a waited=True",
        ]
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_resource_held_by_a_killed_process_is_free_at_once(journal_at: str) -> None:
    """The kernel (or PostgreSQL, with the session) drops a SIGKILLed writer's resource lock."""
    await _killed_while(journal_at, "async with j.resource_lock('org/kind/a'):")
    journal = await open_journal(journal_at)
    try:
        with anyio.fail_after(5):
            async with journal.resource_lock("org/kind/a") as waited:
                assert not waited
    finally:
        await journal.aclose()


async def _killed_while(journal_at: str, holding: str) -> None:
    """A process opens the journal, runs ``holding`` (a line taking a lock), and SIGKILLs itself."""
    block = holding.endswith(":")
    code = (
        "import os, signal, anyio\n"
        "from orchestrator.journal import open_journal\n"
        "async def main():\n"
        f"    j = await open_journal({journal_at!r})\n"
        f"    {holding}\n"
        f"    {'    ' if block else ''}print('holding', flush=True)\n"
        f"    {'    ' if block else ''}os.kill(os.getpid(), signal.SIGKILL)\n"
        "anyio.run(main)\n"
    )
    done = await anyio.run_process([sys.executable, "-c", code], check=False)
    assert done.stdout.decode().strip() == "holding" and done.returncode == -9


async def test_a_resource_lock_file_that_cannot_be_made_is_a_journal_error(
    tmp_path: Path,
) -> None:
    """Not an OSError's traceback: the journal's error, naming the file (exit 2, resumable)."""
    (tmp_path / "resources.lock").mkdir()  # where the lock file must go, a folder
    locks = ResourceLocks(tmp_path)
    with pytest.raises(JournalError, match="cannot make the resource lock file"):
        async with locks.hold("org/kind/a"):
            pytest.fail("held a resource without a lock file")


async def test_a_failing_lock_call_is_a_journal_error(tmp_path: Path) -> None:
    """Only 'held by another' means wait; any other refusal of the lock call stops the run."""
    locks = ResourceLocks(tmp_path)
    path = tmp_path / "resources.lock"
    path.touch()
    locks._fd = os.open(path, os.O_RDONLY)  # a write lock on a read-only descriptor: EBADF
    try:
        with anyio.fail_after(5), pytest.raises(JournalError, match="cannot take a resource lock"):
            async with locks.hold("org/kind/a"):
                pytest.fail("held a resource its lock call refused")
    finally:
        locks.close()
