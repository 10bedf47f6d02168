"""JSON text in and out, exactly as the standard library writes and reads it, only faster.

Every request body, every answer, every content hash and every journal row
goes through JSON, which made the standard library's encoder and decoder a
sixth of a rollback's CPU. orjson does the same work in C several times
faster, but not always to the same letter:

- it writes floats from 1e-9 to 1e-4 its own way (``0.00001`` and
  ``1.5e-7`` where :mod:`json` writes ``1e-05`` and ``1.5e-07``; every other
  float it writes as ``repr`` does, digit for digit), and NaN and the
  infinities as ``null``;
- it reads an integer of more than 64 bits as a float, losing digits (every
  float it reads as ``float()`` does, halfway cases included).

A content hash must not change with the encoder that computed it, and a value
read from Genesys must not lose a digit. So orjson's answer is taken only
where it is provably :mod:`json`'s: text written with no ``null`` and no
float of those magnitudes, text read with no integer of 19 digits or more.
Everything else, and everything orjson refuses (lone surrogates, keys that
are not strings, nesting deeper than it goes, NaN, a byte order mark), goes
to :mod:`json` itself, so the results, errors included, are always
:mod:`json`'s. ``tests/test_jsontext.py`` holds orjson to each of these
claims. Genesys Cloud's answers mostly leave empty fields out rather than
send ``null`` (the sandbox's always do), so the fast path is the common one;
text with a ``null`` costs what it did before.

Those claims are orjson 3.12's and 3.13's (3.11 wrote ``1e16`` where json
writes ``1e+16``). A release that writes or reads differently must not change
a hash: on import, a set of probes is written and read by both, and if any
comes out differently and unnoticed, :data:`FAST` is False and everything
goes to :mod:`json`, only slower.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Types orjson would write where json refuses them: hand them to json, which refuses.
_ENCODE = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_SORTED = _ENCODE | orjson.OPT_SORT_KEYS
# The checks are substring searches over translated bytes, not regular
# expressions: Python's re took longer to scan a config than json to write it.
# A match inside a string only sends the text to json, which is right too.
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_ONLY_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_WIDE = b"0" * 19  # 19 digits in a row: past what every 64-bit integer needs to be safe


def _as_json_writes(text: bytes) -> bool:
    """Whether orjson's compact ``text`` is the text json writes of the same value."""
    if b"null" in text and (
        b":null" in text or b",null" in text or b"[null" in text or text == b"null"
    ):
        return False  # None, or NaN or an infinity orjson wrote as null
    if b"0.0000" in text:  # 1e-05 and smaller, positional
        return False
    if b"e-" not in text:
        return True
    zeros = text.translate(_ZERO_DIGITS)
    at = zeros.find(b"0e-0")
    while at >= 0:
        if zeros[at + 4 : at + 5] != b"0":  # one exponent digit: json writes e-07
            return False
        at = zeros.find(b"0e-0", at + 4)
    return True


# Floats at every formatting boundary json has, integers at 64 bits, both signs of zero.
_PROBES: tuple[Any, ...] = (
    *(1e-10, 2.5e-09, 1.5e-07, 1e-05, 0.0001, 0.00012, 0.1, -0.0, 3.141592653589793),
    *(1e15, 1234567890123456.0, 1e16, 1.2345678901234568e17, 1e22, 9007199254740993.0),
    *(5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 100.0, 2.0**63),
    *(2**63 - 1, -(2**63), 2**64 - 1, 10**18, 0, -1, True, "é\x00\u2028"),
)


def _faithful() -> bool:
    """Whether this orjson writes and reads every probe as json does, or the checks notice."""
    for value in (*_PROBES, list(_PROBES), {"b": _PROBES, "a": {"z": 1.5, "y": None}}):
        try:
            text = orjson.dumps(value, option=_SORTED)
        except TypeError:
            return False
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        if _as_json_writes(text) and text.decode() != expected:
            return False
        try:
            if repr(orjson.loads(expected)) != repr(json.loads(expected)):
                return False
        except orjson.JSONDecodeError:
            return False
    return True


FAST = _faithful()
"""Whether orjson's answers are taken at all (False: every call goes to :mod:`json`)."""


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)``."""
    if not FAST:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    try:
        text = orjson.dumps(value, option=_SORTED if sort_keys else _ENCODE)
    except TypeError:  # orjson.JSONEncodeError is one: json gives the text, or its own error
        pass
    else:
        if _as_json_writes(text):
            return text.decode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


def loads(text: bytes | str) -> Any:
    """``json.loads(text)``: the same value, or the same error."""
    if not FAST:
        return json.loads(text)
    try:
        raw = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:  # a lone surrogate: json's to read or refuse
        return json.loads(text)
    if _WIDE not in raw.translate(_ONLY_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json raises its own error, or reads what orjson will not (NaN, a BOM)
    return json.loads(text)
