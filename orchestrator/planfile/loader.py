"""Plan and environment files: read, validated completely, normalised.

Nothing here touches the network. Every problem in a file (and in the
environment file a plan names) is collected and raised at once as a
:class:`~orchestrator.errors.PlanError`, each problem naming its file, key
path and line.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import PlanError, Problem, UsageError
from orchestrator.models import Environment, Limits, Plan, Schedule
from orchestrator.planfile.endpoints import parse_base_url
from orchestrator.planfile.environment import OrgsRead, read_environment, read_orgs
from orchestrator.planfile.items import Defaults, TargetsReader, read_defaults
from orchestrator.planfile.limits import read_limits, read_schedule
from orchestrator.planfile.problems import Problems, describe
from orchestrator.planfile.rollout import Rollouts
from orchestrator.planfile.waves import read_waves
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, read_yaml

__all__ = ["MAX_FILE_BYTES", "load_environment", "load_plan"]

MAX_FILE_BYTES = 16 * 1024 * 1024  # a 100,000-item plan is about 8 MiB
PLAN_FORMAT = 1
_CHUNK_BYTES = 1024 * 1024
_TOO_LARGE = f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
PLAN_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_PLAN_NAME_RULE = "a plan name is 1..100 letters, digits, '-', '_' and '.' (it names runs)"
_PLAN_KEYS = (
    "plan",
    "name",
    "description",
    "environments",
    "orgs",
    "defaults",
    "targets",
    "waves",
    "limits",
    "schedule",
)
_PLAN_HINTS = {
    "environment": "did you mean environments?",
    "env": "did you mean environments?",
    "items": "did you mean targets?",
    "version": "did you mean plan? (the format version)",
}


def load_plan(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
) -> Plan:
    """Read and validate a plan file and the environment it names.

    Args:
        path: the plan file.
        environ: where ``${NAME}`` is looked up (default: ``os.environ``).
        sandbox_url: if given, the base URL of every org whose ``base_url``
            is a loopback address (and only those) becomes this one.

    Returns:
        The plan, every value normalised.

    Raises:
        PlanError: every problem found, in both files.
        UsageError: ``sandbox_url`` is not a loopback URL.
    """
    sandbox = _sandbox_base(sandbox_url)
    sink: list[Problem] = []
    given = os.fspath(path)
    problems = Problems(given, sink)
    document = _read_document(Path(given), problems)
    if document is None:
        raise _error(sink, given)
    data, root = document
    reader = _PlanReader(Path(given), problems, os.environ if environ is None else environ)
    plan = reader.read(root, hashlib.sha256(data).hexdigest(), sandbox)
    if sink or plan is None:
        raise _error(sink, given)
    return plan


def load_environment(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
) -> Environment:
    """Read and validate an environment file (arguments as :func:`load_plan`).

    Raises:
        PlanError: every problem found.
        UsageError: ``sandbox_url`` is not a loopback URL.
    """
    sandbox = _sandbox_base(sandbox_url)
    sink: list[Problem] = []
    given = os.fspath(path)
    problems = Problems(given, sink)
    document = _read_document(Path(given), problems)
    if document is None:
        raise _error(sink, given)
    env = os.environ if environ is None else environ
    read = read_environment(document[1], problems, env, sandbox)
    if sink:
        raise _error(sink, given)
    return Environment(path=Path(given).resolve(), orgs=read.orgs)


def _error(problems: list[Problem], main: str) -> PlanError:
    """The problems of ``main`` then of other files, each file's in line order."""
    order = {main: 0}
    for problem in problems:
        order.setdefault(problem.file, len(order))
    return PlanError(sorted(problems, key=lambda p: (order[p.file], p.line or 0)))


def _sandbox_base(sandbox_url: str | None) -> str | None:
    if sandbox_url is None:
        return None
    try:
        base, loopback = parse_base_url(sandbox_url)
    except ValueError as exc:
        raise UsageError(f"sandbox URL {sandbox_url!r}: {exc}") from None
    if not loopback:
        raise UsageError(f"sandbox URL {sandbox_url!r} is not a loopback address")
    return base


def _read_document(path: Path, problems: Problems) -> tuple[bytes, Node] | None:
    """The file's bytes and root node, or None (problems recorded)."""
    try:
        data = _read_bytes(path)
    except OSError as exc:
        problems.add(None, "", f"cannot read the file: {exc.strerror or exc}")
        return None
    except ValueError as exc:
        problems.add(None, "", str(exc))
        return None
    text = _decode(data, problems)
    if text is None:
        return None
    root = read_yaml(text, problems.yaml_report)
    return None if root is None else (data, root)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; ValueError if it is not a regular file or larger than any sane plan.

    Opened without blocking and checked before a byte is read: a FIFO would
    wait for a writer forever, a device never ends. Read in chunks:
    ``read(limit)`` would allocate the whole limit up front.
    """
    chunks: list[bytes] = []
    total = 0
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"not a regular file ({_file_type(info.st_mode)})")
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(_TOO_LARGE)
        while chunk := stream.read(_CHUNK_BYTES):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise ValueError(_TOO_LARGE)
            chunks.append(chunk)
    return b"".join(chunks)


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _decode(data: bytes, problems: Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        problems.add(
            line,
            "",
            f"not UTF-8: byte 0x{byte:02x} at line {line}, column {column} (offset {exc.start})",
            "save the file as UTF-8",
        )
        return None


@dataclass(slots=True)
class _PlanReader:
    """Reads a plan's top-level mapping; the parts have their own modules."""

    path: Path
    problems: Problems
    environ: Mapping[str, str]

    def read(self, root: Node, sha256: str, sandbox: str | None) -> Plan | None:
        top = self.problems.mapping(root, "")
        if top is None:
            return None
        self.problems.check_keys(
            top, "", _PLAN_KEYS, required=("plan", "name", "targets"), hints=_PLAN_HINTS
        )
        entries = top.entries
        self._format(entries)
        name = self._text(entries, "name")
        description = self._text(entries, "description") or ""
        environment, org_names = self._environment(top, sandbox)
        rollouts = Rollouts(self.path.parent, self.problems, org_names)
        defaults = Defaults()
        if "defaults" in entries:
            defaults = read_defaults(entries["defaults"][1], self.problems, rollouts)
        targets = TargetsReader(self.problems, defaults, org_names, rollouts)
        items = targets.read(entries["targets"][1]) if "targets" in entries else ()
        waves_node = entries["waves"][1] if "waves" in entries else None
        waves = read_waves(waves_node, self.problems, tuple(targets.orgs), org_names)
        limits = read_limits(entries["limits"][1], self.problems) if "limits" in entries else None
        schedule = None
        if "schedule" in entries:
            schedule = read_schedule(entries["schedule"][1], self.problems)
        if name is None or environment is None:
            return None
        return Plan(
            path=self.path.resolve(),
            sha256=sha256,
            name=name,
            description=description,
            environment=environment,
            items=items,
            waves=waves,
            limits=limits or Limits(),
            schedule=schedule or Schedule(),
        )

    def _format(self, entries: dict[str, tuple[int, Node]]) -> None:
        if "plan" not in entries:
            return
        node = entries["plan"][1]
        value = node.value if isinstance(node, Scalar) else None
        if value != PLAN_FORMAT or isinstance(value, bool):
            got = describe(node)
            message = f"unsupported plan format {got}: this orchestrator reads plan: {PLAN_FORMAT}"
            self.problems.add(node, "plan", message)

    def _text(self, entries: dict[str, tuple[int, Node]], key: str) -> str | None:
        if key not in entries:
            return None
        node = entries[key][1]
        if key == "name":
            return self.problems.string(node, key, pattern=PLAN_NAME, rule=_PLAN_NAME_RULE)
        return self.problems.string(node, key)

    def _environment(
        self, top: Map, sandbox: str | None
    ) -> tuple[Environment | None, tuple[str, ...] | None]:
        """The environment and every org name it has (None: could not be read)."""
        entries = top.entries
        if ("environments" in entries) == ("orgs" in entries):
            both = "both are given" if "orgs" in entries else "neither is given"
            message = f"expected either `environments:` (a file) or an inline `orgs:`: {both}"
            self.problems.add(top.line, "", message)
            return None, None
        if "orgs" in entries:
            read = read_orgs(entries["orgs"][1], "orgs", self.problems, self.environ, sandbox)
            return Environment(path=None, orgs=read.orgs), read.names
        node = entries["environments"][1]
        relative = self.problems.string(node, "environments")
        if relative is None:
            return None, None
        return self._environment_file(node, relative, sandbox)

    def _environment_file(
        self, node: Node, relative: str, sandbox: str | None
    ) -> tuple[Environment | None, tuple[str, ...] | None]:
        path = self.path.parent / relative
        shown = os.path.normpath(path)
        env_problems = Problems(shown, self.problems.sink)
        try:
            data = _read_bytes(path)
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problems.add(node, "environments", f"cannot read {shown}: {why}")
            return None, None
        text = _decode(data, env_problems)
        root = None if text is None else read_yaml(text, env_problems.yaml_report)
        if root is None:
            return None, None
        read: OrgsRead = read_environment(root, env_problems, self.environ, sandbox)
        return Environment(path=path.resolve(), orgs=read.orgs), read.names
