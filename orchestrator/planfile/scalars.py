"""Plain (unquoted) YAML scalars: the value PyYAML gives them, and where that misleads.

PyYAML reads YAML 1.1, where ``yes``/``on`` are booleans, ``010`` is octal 8
and ``1:30`` is 90; editors, Go and JavaScript read YAML 1.2, where they are
not. A plan must mean one thing, so such scalars are refused with a hint.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

import yaml

ScalarValue = str | int | float | bool | None | datetime | date

_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_CACHED_CHARS = 64
_BOOL_WORDS = frozenset({"true", "false"})
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"


def resolve_plain(text: str) -> tuple[ScalarValue, tuple[str, str] | None]:
    """The value ``yaml.safe_load`` gives plain ``text``, and (message, hint) if refused.

    Values PyYAML cannot construct (``=``, ``2026-13-45``, a 5,000-digit int)
    stay strings instead of raising.
    """
    if len(text) <= _CACHED_CHARS:
        return _resolve_cached(text)
    return _resolve(text)


def _resolve(text: str) -> tuple[ScalarValue, tuple[str, str] | None]:
    """The value YAML 1.1 gives a plain scalar, and why it is refused (or None)."""
    tag: str = (
        _INT_TAG
        if _DECIMAL.fullmatch(text)  # the common case, without the resolver's regex tour
        else _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    )
    if tag == _MERGE_TAG:
        why = "write the keys out, or put shared item settings in `defaults:`"
        return text, ("merge keys (`<<`) are not supported", why)
    # The per-tag function, not construct_object: that one caches every node it sees.
    construct = _constructor.yaml_constructors.get(tag)
    if tag == _STR_TAG or construct is None:  # e.g. `=`, YAML 1.1's obscure value tag
        return text, None
    try:
        value: ScalarValue = construct(_constructor, yaml.ScalarNode(tag, text))
    except (ValueError, OverflowError):  # 2026-13-45, or an int of 5,000 digits
        return text, None
    return value, _ambiguity(text, value)


# Plans repeat the same short scalars (keys, `previous`, small numbers) many times.
_resolve_cached = functools.lru_cache(maxsize=4096)(_resolve)


def _ambiguity(text: str, value: ScalarValue) -> tuple[str, str] | None:
    """Why YAML 1.1 (PyYAML) and 1.2 (editors, Go, JS) would read ``text`` differently."""
    if isinstance(value, bool):
        if text.lower() in _BOOL_WORDS:
            return None
        return (
            f"`{text}` is a boolean in YAML 1.1 but a string in YAML 1.2",
            "write true or false (or quote it if you mean the word)",
        )
    if isinstance(value, int | float) and _SEXAGESIMAL.fullmatch(text):
        return f"`{text}` is read as {value} (YAML 1.1 base 60)", "quote it"
    if isinstance(value, int) and _OCTAL.fullmatch(text):
        return f"`{text}` is read as {value} (YAML 1.1 octal)", "drop the leading zero"
    return None
