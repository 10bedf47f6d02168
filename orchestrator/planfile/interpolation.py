"""``${NAME}`` in environment files: the only interpolation there is.

Every ``$`` must start a ``${NAME}`` reference. Refusing ``$$``, ``$NAME``
and a dangling ``${`` rather than passing them through keeps a typo from
turning into a literal credential that then fails at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(r"\$\{(" + _NAME + r")\}")
_WHOLE_REFERENCE = re.compile(r"\$\{" + _NAME + r"\}")


def is_reference(text: str) -> bool:
    """True if ``text`` is exactly one ``${NAME}`` reference and nothing else."""
    return _WHOLE_REFERENCE.fullmatch(text) is not None


def expand(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with each ``${NAME}`` replaced by ``environ[NAME]``.

    Raises:
        ValueError: a malformed ``$``, or unset variables (all of them named).
    """
    if "$" not in text:
        return text
    parts: list[str] = []
    missing: list[str] = []
    position = 0
    while (dollar := text.find("$", position)) >= 0:
        parts.append(text[position:dollar])
        match = _REFERENCE.match(text, dollar)
        if match is None:
            raise ValueError(_malformed(text, dollar))
        name = match[1]
        if name in environ:
            parts.append(environ[name])
        elif name not in missing:
            missing.append(name)
        position = match.end()
    parts.append(text[position:])
    if missing:
        names = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        verb = "are" if len(missing) > 1 else "is"
        raise ValueError(f"environment variable{plural} {names} {verb} not set")
    return "".join(parts)


def _malformed(text: str, dollar: int) -> str:
    rest = text[dollar + 1 :]
    if rest.startswith("$"):
        return "`$$` is not an escape here: the only interpolation is ${NAME}"
    bare = re.match(_NAME, rest)
    if bare:
        return f"`${bare[0]}` is not interpolated: write ${{{bare[0]}}}"
    if rest.startswith("{"):
        return "malformed `${`: expected ${NAME} with NAME of letters, digits and _"
    return "a `$` must start ${NAME}, the only interpolation there is"
