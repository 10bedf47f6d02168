"""Fields of kind ``assistant-queues``: one binding of a queue to an assistant (api.md 6).

The item's content is every binding of the assistant, keyed by queue id; a
binding's content is what is left of an ``AssistantQueue`` without its
read-only fields: its ``mediaTypes``, sorted (their order is not content).
"""

from __future__ import annotations

from types import MappingProxyType

from orchestrator.genesys.fields.shape import shape
from orchestrator.genesys.fields.table import KindFields

MEDIA_TYPES = ("call", "callback", "chat", "email", "message")

BINDING = shape(
    {"mediaTypes": None},
    {
        "id": "the queue's id: the binding's key in the item's content",
        "assistant": "the assistant the binding belongs to: the item itself",
        "dateCreated": "set by the server when the queue was bound (not content, api.md 6)",
        "dateModified": "set by the server on every write",
        "selfUri": "derived by the server from the ids",
    },
)

QUEUES = KindFields(
    shape=BINDING,
    settable=MappingProxyType({}),  # the bindings come from the target; nothing to force
    classic=MappingProxyType({}),
)
