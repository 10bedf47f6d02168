"""Resources without versions or ETags: assistants (copilot, queue bindings) and agent checklists.

Nothing guards them on the server, so the read-lag fault matters most here:
each keeps the bodies it had over the last moments in a :class:`Timeline`,
and a GET may serve one that is a little out of date, as a cache in front of
the real API does. Nothing here awaits; bodies are replaced, never mutated.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from orchestrator.sandbox.resources import ASSISTANTS_PATH, iso_after, user_ref

CHECKLISTS_PATH = ASSISTANTS_PATH + "/agentchecklists"
HISTORY = 16  # how many past bodies the read-lag fault can serve from


class Timeline:
    """A value over time: now, and as it was ``lag`` seconds ago."""

    __slots__ = ("_history",)

    def __init__(self, first: Any) -> None:
        self._history: list[tuple[float, Any]] = [(-math.inf, first)]

    @property
    def now(self) -> Any:
        """The current value."""
        return self._history[-1][1]

    def visible(self, now: float, lag: float) -> Any:
        """The value a reader ``lag`` seconds behind sees at ``now``."""
        if lag <= 0:
            return self.now
        horizon = now - lag
        for at, seen in self._history[::-1]:
            if at <= horizon:
                return seen
        return self._history[0][1]

    def push(self, now: float, value: Any) -> None:
        """A new current value from ``now`` on."""
        self._history.append((now, value))
        del self._history[:-HISTORY]


class AssistantState:
    """One assistant: its own body, its copilot, and the queues bound to it."""

    __slots__ = ("_bindings", "_own", "extra", "id")

    def __init__(
        self, body: dict[str, Any], copilot: dict[str, Any], bindings: dict[str, dict[str, Any]]
    ) -> None:
        self.id: str = body["id"]
        self._own = Timeline((body, copilot))
        self._bindings = Timeline(bindings)
        # Fields a newer API serves that the orchestrator does not know
        # (Sandbox.extend): writable here, as they would be there.
        self.extra: dict[str, frozenset[str]] = {"assistant": frozenset(), "copilot": frozenset()}

    @property
    def body(self) -> dict[str, Any]:
        """The assistant as a plain GET serves it now (without its copilot)."""
        body: dict[str, Any] = self._own.now[0]
        return body

    @property
    def copilot(self) -> dict[str, Any]:
        """The copilot now."""
        copilot: dict[str, Any] = self._own.now[1]
        return copilot

    @property
    def bindings(self) -> dict[str, dict[str, Any]]:
        """Queue id -> binding entity, now."""
        bindings: dict[str, dict[str, Any]] = self._bindings.now
        return bindings

    def visible(self, now: float, lag: float, *, expand: bool = False) -> dict[str, Any]:
        """The body a GET sees (``expand``: with its copilot), lagging by ``lag``."""
        body, copilot = self._own.visible(now, lag)
        return {**body, "copilot": copilot} if expand else body

    def visible_copilot(self, now: float, lag: float) -> dict[str, Any]:
        """The copilot a GET sees."""
        copilot: dict[str, Any] = self._own.visible(now, lag)[1]
        return copilot

    def visible_bindings(self, now: float, lag: float) -> list[dict[str, Any]]:
        """The binding entities a listing sees, in queue-id order."""
        seen: dict[str, dict[str, Any]] = self._bindings.visible(now, lag)
        return [seen[q] for q in sorted(seen)]

    def _touched(self, by: str) -> dict[str, Any]:
        body = dict(self.body)
        body["dateModified"] = iso_after(body["dateModified"])
        body["modifiedBy"] = user_ref(by)
        return body

    def patch(self, fields: dict[str, Any], *, by: str, now: float) -> dict[str, Any]:
        """Merge top-level ``fields`` (null removes one); returns the new body."""
        body = self._touched(by)
        for key, value in copy.deepcopy(fields).items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        self._own.push(now, (body, self.copilot))
        return body

    def put_copilot(self, copilot: dict[str, Any], *, by: str, now: float) -> dict[str, Any]:
        """Replace the copilot whole; the assistant's dateModified moves too."""
        new = {**copy.deepcopy(copilot), "selfUri": f"{ASSISTANTS_PATH}/{self.id}/copilot"}
        self._own.push(now, (self._touched(by), new))
        return new

    def set_bindings(self, bindings: dict[str, dict[str, Any]], now: float) -> None:
        """The assistant's new set of bindings (built by the world)."""
        self._bindings.push(now, bindings)


class ChecklistState:
    """One agent checklist."""

    __slots__ = ("_body", "extra", "id")

    def __init__(self, body: dict[str, Any]) -> None:
        self.id: str = body["id"]
        self._body = Timeline(body)
        self.extra: frozenset[str] = frozenset()

    @property
    def body(self) -> dict[str, Any]:
        """The checklist now."""
        body: dict[str, Any] = self._body.now
        return body

    def visible(self, now: float, lag: float) -> dict[str, Any]:
        """The checklist a GET sees, lagging by ``lag``."""
        body: dict[str, Any] = self._body.visible(now, lag)
        return body

    def put(self, fields: dict[str, Any], *, by: str, now: float) -> dict[str, Any]:
        """Replace name, language and items (and any extra field); returns the new body."""
        old = self.body
        kept = ("id", "createdBy", "dateCreated", "selfUri")
        body: dict[str, Any] = {k: old[k] for k in kept if k in old}
        body |= copy.deepcopy(fields)
        body["dateModified"] = iso_after(old["dateModified"])
        body["modifiedBy"] = user_ref(by)
        self._body.push(now, body)
        return body


def binding(
    assistant: dict[str, Any], queue_id: str, media: list[str], stamp: str
) -> dict[str, Any]:
    """An ``AssistantQueue`` entity as the API serves it."""
    return {
        "id": queue_id,
        "mediaTypes": list(media),
        "assistant": {
            "id": assistant["id"],
            "name": assistant.get("name"),
            "selfUri": f"{ASSISTANTS_PATH}/{assistant['id']}",
        },
        "dateCreated": stamp,
        "dateModified": stamp,
        "selfUri": f"{ASSISTANTS_PATH}/{assistant['id']}/queues/{queue_id}",
    }
