"""Fields of kind ``assistant``, copilot included (api.md 6, "The whole assistant").

Names and nesting follow the official SDK's models (``Assistant``,
``Copilot`` and every model they reach); ``tests/genesys/test_fields.py``
walks those models and fails on any attribute that is neither here nor
read-only with a reason.
"""

from __future__ import annotations

from types import MappingProxyType

from orchestrator.genesys.fields import checks
from orchestrator.genesys.fields.shape import Shape, shape
from orchestrator.genesys.fields.table import KindFields

ASSISTANT_STATES = ("Active", "Inactive")
COPILOT_FIELD = "copilot"  # written with PUT .../copilot, not with the PATCH
IMMUTABLE_COPILOT = ("defaultLanguage",)  # "Once set, it can not be modified" (the SDK)

_REF = shape({"id": None, "selfUri": None})  # a reference: restored as it was read
_ENABLED = shape({"enabled": None})


def _actions() -> Shape:
    return shape({"actionType": None, "attributes": None})  # attributes: a free-form map


COPILOT = shape(
    {
        "enabled": None,
        "liveOnQueue": None,
        "defaultLanguage": None,
        "knowledgeAnswerConfig": _ENABLED,
        "summaryGenerationConfig": shape(
            {
                "enabled": None,
                "summarySetting": _REF,
                "retentionSeconds": None,
                "onDemandSummaryConfig": _ENABLED,
                "modelConfig": shape({"useLatestModel": None}),
            }
        ),
        "wrapupCodePredictionConfig": _ENABLED,
        "answerGenerationConfig": _ENABLED,
        "nluEngineType": None,
        "nluConfig": shape(
            {
                "domain": shape(
                    {"id": None, "useLatestVersion": None, "version": _REF, "selfUri": None}
                ),
                "intentConfidenceThreshold": None,
            }
        ),
        "ruleEngineConfig": shape(
            {
                "rules": shape(
                    {
                        "id": None,
                        "enabled": None,
                        "rule": shape(
                            {
                                "conditions": shape(
                                    {"conditionType": None, "conditionValues": None}
                                ),
                                "actions": _actions(),
                            }
                        ),
                    }
                ),
                "fallback": shape({"enabled": None, "actions": _actions()}),
            }
        ),
        "autoSearchConfig": shape({"type": None}),
        "manualSearchConfig": shape(
            {"articlesWithAnswerHighlights": None, "answerGeneration": None}
        ),
    },
    {"selfUri": "ignored in a PUT body; derived by the server from the assistant's id"},
)

ASSISTANT = KindFields(
    shape=shape(
        {
            "name": None,
            "state": None,
            "transcriptionConfig": shape({"vendorName": None}),
            "knowledgeSuggestionConfig": shape(
                {
                    "vendorName": None,
                    "knowledgeBase": shape(
                        {
                            "id": None,
                            "languageCode": None,
                            "contentSearchEnabled": None,
                            "selfUri": None,
                        }
                    ),
                    "knowledgeBases": shape({"id": None, "languageCode": None, "selfUri": None}),
                    "receiveSegmentedArticles": None,
                }
            ),
            "googleDialogflowConfig": shape(
                {
                    "integrationId": None,
                    "conversationProfiles": shape({"languageCode": None, "name": None}),
                }
            ),
            COPILOT_FIELD: COPILOT,
        },
        {
            "id": "the assistant's identity, in the path",
            "dateCreated": "set by the server when the assistant was created",
            "dateModified": "set by the server on every write",
            "createdBy": "set by the server when the assistant was created",
            "modifiedBy": "set by the server on every write",
            "selfUri": "derived by the server from the id",
            "variationParent": "fixed when a variation is created; no write changes it",
        },
    ),
    settable=MappingProxyType(
        {
            "name": checks.name,
            "state": checks.one_of(*ASSISTANT_STATES),
            "transcriptionConfig": checks.json_object(None),
            "knowledgeSuggestionConfig": checks.json_object(None),
            "googleDialogflowConfig": checks.json_object(None),
            COPILOT_FIELD: checks.json_object(None),
        }
    ),
    classic=MappingProxyType(
        {
            "status": "state",
            "enabled": "state",
            "active": "state",
            "dialogflow": "googleDialogflowConfig",
        }
    ),
)
