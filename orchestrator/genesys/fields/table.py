"""One kind's field table: its shape, what a plan may ``set``, and the names people get wrong."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.genesys.fields.checks import Check
from orchestrator.genesys.fields.shape import Shape


@dataclass(frozen=True, slots=True, kw_only=True)
class KindFields:
    """Everything the orchestrator knows about one kind's fields."""

    shape: Shape  # the resource's body; for assistant-queues, one binding
    settable: Mapping[str, Check]  # top-level fields a plan may `set`, with their value checks
    classic: Mapping[str, str]  # names people reach for -> the field they mean
