"""A sandbox serving a generated seed in a process of its own.

The throughput benchmark measures the client's CPU, so the server must not
share its process. The child speaks a line protocol on stdin/stdout:

- at start it prints ``{"url": ..., "cpu_s": ...}`` once it is serving;
- ``summary`` on stdin: one JSON line of :func:`requestlog.summarise` figures;
- end of stdin: it stops serving and exits.

Run as ``python -m orchestrator.bench.sandboxproc ORGS CONFIGS``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import anyio

from orchestrator.bench.measure import answer, cpu_seconds
from orchestrator.bench.requestlog import summarise
from orchestrator.sandbox import Sandbox, generate_seed

STOP_TIMEOUT = 10.0


class SandboxProcess:
    """Parent side: ``with SandboxProcess(orgs, configs, log) as sb: sb.url, sb.summary()``."""

    def __init__(self, orgs: int, configs: int, log: Path) -> None:
        self._args = [str(orgs), str(configs)]
        self._log_path = log
        self._log: IO[str] | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._ready_cpu = 0.0
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        self._log = self._log_path.open("w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        ready = self._read()
        self.url, self._ready_cpu = ready["url"], ready["cpu_s"]
        return self

    def summary(self) -> dict[str, Any]:
        """The request log's figures so far, and the CPU the child spent serving."""
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write("summary\n")
        self._proc.stdin.flush()
        figures = self._read()
        figures["serving_cpu_s"] = figures.pop("cpu_s") - self._ready_cpu
        return figures

    def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process died; see {self._log_path}")
        figures: dict[str, Any] = json.loads(line)
        return figures

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # the child's signal to stop
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()  # our own child, by its handle
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()


async def _serve(orgs: int, configs: int) -> None:
    seed = generate_seed(orgs=orgs, configs=configs)
    ids = {org.name: [c.id for c in org.configs] for org in seed.orgs}
    sandbox = Sandbox(seed)
    async with sandbox.serve() as url:
        answer({"url": url, "cpu_s": cpu_seconds()})
        while True:
            # A thread reads stdin so the event loop keeps serving meanwhile.
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                return
            if line.strip() == "summary":
                answer({**summarise(sandbox.requests, ids), "cpu_s": cpu_seconds()})


def main(argv: list[str]) -> None:
    """Serve ``generate_seed(orgs, configs)`` (no rate limits) until stdin closes."""
    orgs, configs = (int(a) for a in argv)
    anyio.run(_serve, orgs, configs, backend="asyncio")


if __name__ == "__main__":
    main(sys.argv[1:])
