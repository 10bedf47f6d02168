"""Hostile and huge inputs end quickly in a PlanError, within time and memory bounds."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.errors import PlanError
from orchestrator.models import Plan
from orchestrator.planfile.loader import MAX_FILE_BYTES, load_plan

SECONDS = 5.0
PEAK_BYTES = 100 * 1024 * 1024


def billion_laughs() -> bytes:
    """Nine levels of nine aliases: 10**9 nodes once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def many_aliases() -> bytes:
    """A million small alias uses in a few MB."""
    return b"a: &a [x]\nb: [" + b"*a, " * 1_000_000 + b"*a]\n"


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "billion-laughs": (billion_laughs, "aliases expanded"),
    "many-aliases": (many_aliases, "aliases expanded"),
    "million-scalars": (lambda: b"a: [" + b"1, " * 1_000_000 + b"1]\n", "more than 500,000 nodes"),
    "flow-nesting-100k": (lambda: b"[" * 100_000 + b"]" * 100_000, "nesting"),
    "block-nesting-100k": (lambda: b"- " * 100_000 + b"x\n", "nesting deeper than 64"),
    "mapping-nesting-100k": (lambda: b"{a: " * 100_000 + b"1" + b"}" * 100_000, "nesting"),
    "scalar-4mb": (lambda: b"name: " + b"x" * (4 * 1024 * 1024) + b"\n", "characters"),
    "file-over-cap": (lambda: b"name: " + b"x" * (50 * 1024 * 1024) + b"\n", "larger than"),
    "invalid-utf8": (lambda: b"plan: 1\nname: caf\xe9\n", "not UTF-8: byte 0xe9 at line 2"),
    "utf16": (lambda: "plan: 1\n".encode("utf-16"), "not UTF-8"),
    "nul-byte": (lambda: b"plan: 1\nname: a\x00b\n", "not valid YAML"),
    "python-object-apply": (
        lambda: b'plan: !!python/object/apply:os.system ["touch pwned"]\n',
        "YAML tags are not allowed (found `!!python/object/apply:os.system`)",
    ),
    "python-name": (lambda: b"plan: !!python/name:os.system\n", "YAML tags are not allowed"),
    "binary-tag": (lambda: b"plan: !!binary aGVsbG8=\n", "YAML tags are not allowed"),
    "local-tag": (lambda: b"plan: !mine {a: 1}\n", "YAML tags are not allowed (found `!mine`)"),
    "recursive-anchor": (lambda: b"a: &a [*a]\n", "refers to no complete anchor"),
    "undefined-alias": (lambda: b"a: *nothing\n", "refers to no complete anchor"),
    "many-documents": (lambda: b"---\na: 1\n" * 100_000, "more than one YAML document"),
    "binary-garbage": (lambda: bytes(range(256)) * 1000, "not UTF-8"),
}


def outcome(path: Path) -> PlanError | Plan:
    """What load_plan makes of ``path``: a Plan or the PlanError."""
    try:
        return load_plan(path, environ={})
    except PlanError as exc:
        return exc


def measure(path: Path) -> tuple[PlanError | Plan, float, int]:
    """load_plan's outcome, elapsed seconds and peak traced memory.

    Time and memory come from two runs: tracemalloc slows allocation-heavy
    code several times over, which would make the time bound meaningless.
    """
    started = time.perf_counter()
    result = outcome(path)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        outcome(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_ends_quickly_in_a_plan_error(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hostile file gives a clear PlanError in < 5 s and < 100 MB, and runs nothing."""
    make, fragment = HOSTILE[name]
    path = tmp_path / "plan.yaml"
    path.write_bytes(make())
    monkeypatch.chdir(tmp_path)
    result, elapsed, peak = measure(path)
    assert isinstance(result, PlanError), result
    assert any(fragment in str(p) for p in result.problems), str(result)[:2000]
    assert elapsed < SECONDS
    assert peak < PEAK_BYTES
    assert not (tmp_path / "pwned").exists()


def test_size_cap_is_sane() -> None:
    """The cap leaves room for very large plans (100,000 items is about 8 MiB)."""
    assert 8 * 1024 * 1024 <= MAX_FILE_BYTES <= 32 * 1024 * 1024


def big_plan(orgs: int, per_org: int) -> str:
    """A valid plan of orgs * per_org items in all three item forms."""
    lines = ["plan: 1", "name: big", "orgs:"]
    for o in range(orgs):
        lines += [
            f"  org-{o}:",
            "    base_url: http://127.0.0.1:8787",
            f"    client_id: org-{o}",
            f"    client_secret: org-{o}-secret",
        ]
    lines += ["defaults: {to: previous}", "targets:"]
    for o in range(orgs):
        lines += [f"  - org: org-{o}", "    configs:"]
        for i in range(per_org):
            config = uuid.uuid5(uuid.NAMESPACE_URL, f"{o}/{i}")
            if i % 3 == 0:
                lines += [f"      - id: {config}", f"        to: {i % 7 + 1}"]
            elif i % 3 == 1:
                lines.append(
                    f"      - {{id: {config}, to: {{before: 2026-11-20T00:00:00Z}},"
                    " set: {deployed: true}}"
                )
            else:
                lines.append(f"      - {config}")
    lines += [
        "waves:",
        "  - {name: canary, orgs: [org-0], max_failed: 0}",
        "  - {name: rest, orgs: ['*'], max_failed: 5%}",
    ]
    return "\n".join(lines) + "\n"


def test_twenty_thousand_items_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 20,000-item plan over 200 orgs validates (well) within seconds."""
    path = tmp_path / "big.yaml"
    path.write_text(big_plan(200, 100), encoding="utf-8")
    started = time.perf_counter()
    plan = load_plan(path)
    elapsed = time.perf_counter() - started
    assert len(plan.items) == 20_000
    assert [len(w.orgs) for w in plan.waves] == [1, 199]
    with capsys.disabled():
        print(f"\n20,000-item plan ({path.stat().st_size:,} bytes) validated in {elapsed:.2f} s")
    assert elapsed < 30.0
