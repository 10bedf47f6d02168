"""What "the same content" means: writable fields, canonical JSON, one hash.

Content equality ignores ``version`` and the read-only fields (api.md section
5). Every comparison in the engine goes through :func:`comparable` and
:func:`content_hash`, so the planner, the worker, the journal and the
snapshot store agree on it byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from orchestrator.fields import WRITABLE
from orchestrator.plan import Kind


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def comparable(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``body`` that define its content (writable, minus ``version``)."""
    return {k: body[k] for k in WRITABLE[kind] if k != "version" and k in body}


def content_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of already-comparable ``fields``."""
    return hashlib.sha256(canonical(fields)).hexdigest()
