"""Fields of kind ``agent-checklist`` (api.md 6, "Kind agent-checklist")."""

from __future__ import annotations

from types import MappingProxyType

from orchestrator.genesys.fields import checks
from orchestrator.genesys.fields.shape import shape
from orchestrator.genesys.fields.table import KindFields

CHECKLIST_ITEM = shape(
    {
        # The item's id is content: a PUT that keeps it keeps the item's identity.
        "id": None,
        "name": None,
        "description": None,
        "automatedCheckEnabled": None,
        "exactPhraseMatch": None,
        "important": None,
    },
    {"selfUri": "derived by the server from the item's id"},
)

CHECKLIST = KindFields(
    shape=shape(
        {"name": None, "language": None, "checklistItems": CHECKLIST_ITEM},
        {
            "id": "the checklist's identity, in the path (ignored in the body when equal)",
            "createdBy": "set by the server when the checklist was created",
            "modifiedBy": "set by the server on every write",
            "dateCreated": "set by the server when the checklist was created",
            "dateModified": "set by the server on every write",
            "selfUri": "derived by the server from the id",
        },
    ),
    settable=MappingProxyType(
        {
            "name": checks.name,
            "language": checks.name,
            "checklistItems": checks.list_of_objects("name"),
        }
    ),
    classic=MappingProxyType({"items": "checklistItems", "checklist": "checklistItems"}),
)
