"""jsontext writes and reads exactly what json does: same text, same value, same error."""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import math
import struct
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orchestrator import canonical, jsontext

# Every character, lone surrogates included; integers far past 64 bits; every float.
TEXT = st.text(st.characters(codec=None, categories=None))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
FAST = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def typed(value: Any) -> Any:
    """``value`` with every scalar's type beside it: 1, 1.0 and True differ; NaN equals NaN."""
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    return (type(value).__name__, value)


def outcome(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return ("value", typed(call(*args, **kwargs)))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def stdlib_dumps(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


@FAST
@given(VALUES, st.booleans())
@example({"a": 1e-05, "b": 1e16, "c": 1.5e-07, "d": 0.0001, "e": 1e-10}, True)  # 0.00001, 1.5e-7
@example([9.999999999999999e-05, -3.2e-09, 1e-09, 5e-324, 1.7976931348623157e308], False)
@example([1.5e-05], False)  # each alone: orjson writes 0.000015
@example([-3.2e-09], False)
@example([math.nan, 1], False)
@example([1, -math.inf], False)
@example(math.inf, False)
@example({"a": math.nan, "b": [math.inf, -math.inf]}, False)  # orjson writes null
@example({"b": 2**64, "a": -(2**63) - 1}, True)  # past what orjson writes
@example({"\ud800": 1}, True)  # a lone surrogate
@example({"\u00e9": '\x00\x1f\x7f\u2028\n\t\b\f\r"\\', "Z": "", "z": "\U0001f600"}, True)
def test_dumps_writes_the_standard_librarys_text(value: Any, sort_keys: bool) -> None:
    assert outcome(jsontext.dumps, value, sort_keys=sort_keys) == (
        ("value", ("str", stdlib_dumps(value, sort_keys=sort_keys)))
        if outcome(stdlib_dumps, value, sort_keys=sort_keys)[0] == "value"
        else outcome(stdlib_dumps, value, sort_keys=sort_keys)
    )


def test_dumps_refuses_what_json_refuses() -> None:
    """orjson would write a date: json refuses, so must we. Keys json turns to text, so do we."""
    for bad in ({"k": object()}, {"when": datetime.date(2026, 1, 1)}):
        with pytest.raises(TypeError):
            json.dumps(bad)
        with pytest.raises(TypeError):
            jsontext.dumps(bad)
    assert jsontext.dumps({1: "x"}) == stdlib_dumps({1: "x"}) == '{"1":"x"}'


def assert_read_alike(source: str | bytes) -> None:
    """jsontext and json read ``source`` alike, and its other form (str or UTF-8 bytes) too."""
    other: str | bytes | None
    try:
        other = source.decode() if isinstance(source, bytes) else source.encode()
    except UnicodeError:  # not UTF-8, or a lone surrogate
        other = None
    for form in (source, other):
        if form is not None:
            assert outcome(jsontext.loads, form) == outcome(json.loads, form), form


@FAST
@given(VALUES, st.sampled_from([None, 0, 2]), st.booleans())
def test_loads_reads_the_standard_librarys_value(
    value: Any, indent: int | None, ascii_only: bool
) -> None:
    try:
        text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    except (ValueError, TypeError):
        return
    assert_read_alike(text)


@FAST
@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
@example(b'{"id": 12345678901234567890123}')  # orjson would read a float
@example(b"[-9223372036854775809, 18446744073709551616]")
@example(b"[1e400, NaN, -Infinity]")
@example(b'\xef\xbb\xbf{"a": 1}')  # a byte order mark: json reads it from bytes
@example(b'"\\ud800"')
@example(b'{"a": 1, "a": 2}')
@example(b"[0.1, 2.2250738585072011e-308, 2.4703282292062328e-324, 1e-400, -0.0]")
@example(b"[9007199254740993, 9223372036854775807, 18446744073709551615, -0]")
@example(b'{"a": "\x01"}')  # a raw control character
@example(b" [1 , 2 ]\n")
def test_loads_reads_any_bytes_as_json_does(raw: bytes) -> None:
    assert_read_alike(raw)


@FAST
@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(-330, 310), st.booleans())
def test_loads_reads_every_float_as_float_does(bits: int, exponent: int, negative: bool) -> None:
    """Floats are read by orjson: its digits must be float()'s, halfway cases included."""
    as_float = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    texts = [f"{bits}e{exponent}", f"{'-' if negative else ''}0.{bits}e{exponent}"]
    if math.isfinite(as_float):
        texts.append(repr(as_float))
        after = math.nextafter(as_float, math.inf)
        if math.isfinite(after):  # the exact midpoint of two neighbours, and a hair either side
            with decimal.localcontext(prec=800):  # exact: no double has more digits
                middle = (decimal.Decimal(as_float) + decimal.Decimal(after)) / 2
            texts += [f"{middle:e}", f"{middle.next_plus():e}", f"{middle.next_minus():e}"]
    for text in texts:
        assert_read_alike(f"[{text}]")


def test_configurations_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Agent Assist config (floats, nested rules) never reaches json: orjson answers."""
    config = {
        "name": "Billing",
        "deployed": True,
        "content": {"rules": [{"id": "rule-0", "minConfidence": 0.56}], "sentiment": -0.4},
        "version": 7,
    }
    text = stdlib_dumps(config, sort_keys=True)

    class Refuse:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"json.{name} called: orjson's answer was not taken")

    monkeypatch.setattr(jsontext, "json", Refuse())
    assert jsontext.dumps(config, sort_keys=True) == text
    assert jsontext.loads(text) == config
    assert jsontext.loads(text.encode()) == config


def test_an_orjson_that_writes_otherwise_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson 3.11 wrote 1e16 where json writes 1e+16: such a release leaves everything to json."""
    assert jsontext.FAST  # the locked release passes its own probes
    real = orjson.dumps

    def like_3_11(value: Any, option: int = 0) -> bytes:
        return real(value, option=option).replace(b"e+", b"e")

    monkeypatch.setattr(jsontext.orjson, "dumps", like_3_11)
    assert not jsontext._faithful()
    monkeypatch.setattr(jsontext.orjson, "dumps", real)

    def reads_wide(text: bytes | str) -> Any:  # as it reads integers past 64 bits
        value = json.loads(text)
        return float(value) if isinstance(value, int) and abs(value) >= 2**63 else value

    monkeypatch.setattr(jsontext.orjson, "loads", reads_wide)
    assert not jsontext._faithful()


@pytest.mark.parametrize(
    ("value", "by_orjson"),
    [
        ({"name": "Billing", "threshold": 0.69, "ids": [2**64 - 1, -7], "é": "\x00\u2028"}, True),
        # a float orjson writes otherwise, an integer past 64 bits, a null
        ({"name": "Billing", "threshold": 1e-05, "ids": [2**64, 7], "note": None}, False),
    ],
)
def test_the_content_hash_does_not_depend_on_the_encoder(
    value: dict[str, Any], by_orjson: bool
) -> None:
    """Hashes in journals and snapshots written before orjson still match, either way."""
    try:
        written = jsontext._as_json_writes(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        written = False
    assert written is by_orjson
    before = hashlib.sha256(stdlib_dumps(value, sort_keys=True).encode()).hexdigest()
    assert canonical.text_hash(canonical.canonical_text(value)) == before
