"""Canonical JSON: the one text of a value that hashes and comparisons are taken of.

Sorted keys, no whitespace, characters as they are (UTF-8 once encoded).
The content hash (:mod:`orchestrator.genesys.content`) and the journal's
stored targets (:mod:`orchestrator.journal.sql`) both use it, so a target
read back from the journal is checked by hashing the text as it is.
"""

from __future__ import annotations

import hashlib
from typing import Any

from orchestrator import jsontext


def canonical_text(value: Any) -> str:
    """``value`` as canonical JSON text."""
    return jsontext.dumps(value, sort_keys=True)


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON bytes (UTF-8)."""
    return canonical_text(value).encode()


def text_hash(text: str) -> str:
    """The content hash of canonical JSON ``text``: sha256 of its UTF-8, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()
