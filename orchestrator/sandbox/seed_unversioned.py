"""The seed's assistants (with copilot), routing queues and agent checklists, read and checked.

A seed cannot hold a body the API itself would refuse: every body goes
through the same checks as a write (``bodies``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import Problem
from orchestrator.sandbox.api_errors import ApiFailure
from orchestrator.sandbox.bodies import assistant_fields, checklist_fields, copilot_fields
from orchestrator.sandbox.resources import ASSISTANTS_PATH, api_stamp

PERMISSIONS = (
    "agentassist:config:read",
    "agentassist:config:write",
    "assistants:assistant:view",
    "assistants:assistant:edit",
    "assistants:copilot:view",
    "assistants:copilot:edit",
    "assistants:queue:view",
    "assistants:queue:edit",
    "assistants:queue:delete",
    "assistants:agentchecklist:view",
    "assistants:agentchecklist:edit",
)
_QUEUE_KEYS = frozenset({"id", "name", "assistant", "mediaTypes", "date"})


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSeed:
    """A routing queue of the org, bound to one of its assistants or to none."""

    id: str
    name: str
    assistant: str | None = None
    media_types: tuple[str, ...] = ()
    date: str | None = None  # when it was bound (default: the assistant's dateCreated)


class UnversionedReader:
    """The part of the seed reader that knows assistants, queues and checklists."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(file=self.file, path=path, message=message, hint=hint))

    def _check(self, where: str, check: Any, *args: Any) -> None:
        try:
            check(*args)
        except ApiFailure as failure:
            self.problem(where, failure.message)

    def _stamps(self, where: str, out: dict[str, Any]) -> None:
        for key in ("dateCreated", "dateModified"):
            stamp = api_stamp(out.get(key))
            if stamp is None:
                self.problem(f"{where}.{key}", "must be an ISO 8601 date-time")
            out[key] = stamp

    def assistant(self, where: str, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            self.problem(where, "an assistant needs an `id`")
            return None
        out = dict(body)
        own = {k: v for k, v in out.items() if k != "copilot"}
        self._check(where, assistant_fields, own)
        if "copilot" in out:
            self._check(f"{where}.copilot", copilot_fields, out["copilot"], None)
        for key in ("name", "state"):
            if key not in out:
                self.problem(f"{where}.{key}", "is required")
        self._stamps(where, out)
        out["selfUri"] = f"{ASSISTANTS_PATH}/{out['id']}"
        return out

    def checklist(self, where: str, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            self.problem(where, "an agent checklist needs an `id`")
            return None
        out = dict(body)
        self._check(where, checklist_fields, dict(out), out["id"])
        self._stamps(where, out)
        out["selfUri"] = f"{ASSISTANTS_PATH}/agentchecklists/{out['id']}"
        return out

    def queues(
        self, where: str, entries: Any, assistants: Sequence[Mapping[str, Any]]
    ) -> tuple[QueueSeed, ...]:
        if not isinstance(entries, list):
            self.problem(f"{where}.queues", "must be a list")
            return ()
        known = {a["id"] for a in assistants}
        out: list[QueueSeed] = []
        for i, entry in enumerate(entries):
            queue = self._queue(f"{where}.queues[{i}]", entry, known)
            if queue is not None:
                if any(q.id == queue.id for q in out):
                    self.problem(f"{where}.queues[{i}].id", f"{queue.id!r} appears twice")
                out.append(queue)
        return tuple(out)

    def _queue(self, where: str, entry: Any, assistants: set[str]) -> QueueSeed | None:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            self.problem(where, "a queue needs an `id` and a `name`")
            return None
        for key in entry:
            if key not in _QUEUE_KEYS:
                self.problem(f"{where}.{key}", "unknown key", ", ".join(sorted(_QUEUE_KEYS)))
        bound = entry.get("assistant")
        media = entry.get("mediaTypes", [])
        if bound is not None and bound not in assistants:
            self.problem(f"{where}.assistant", f"no assistant {bound!r} in this org")
        if bound is not None and (not isinstance(media, list) or not media):
            self.problem(f"{where}.mediaTypes", "a bound queue needs a non-empty list")
        date = api_stamp(entry["date"]) if "date" in entry else None
        return QueueSeed(
            id=entry["id"],
            name=str(entry.get("name", entry["id"])),
            assistant=bound,
            media_types=tuple(media) if bound is not None and isinstance(media, list) else (),
            date=date,
        )
