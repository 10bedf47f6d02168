"""Fields of kind ``agentassist-config`` (api.md 5)."""

from __future__ import annotations

from types import MappingProxyType

from orchestrator.genesys.fields import checks
from orchestrator.genesys.fields.shape import shape
from orchestrator.genesys.fields.table import KindFields

CONTENT_MAX_BYTES = 256 * 1024

CONFIG = KindFields(
    shape=shape(
        # `content` is opaque to the API (any JSON object): compared and restored whole.
        dict.fromkeys(("name", "description", "version", "deployed", "trafficPercent", "content")),
        {
            "id": "the config's identity, in the path",
            "dateCreated": "set by the server when the config was created",
            "dateModified": "set by the server on every write",
            "modifiedBy": "set by the server on every write",
            "selfUri": "derived by the server from the id",
        },
    ),
    settable=MappingProxyType(
        {
            "name": checks.name,
            "description": checks.string,
            "version": checks.version,
            "deployed": checks.boolean,
            "trafficPercent": checks.percent,
            "content": checks.json_object(CONTENT_MAX_BYTES),
        }
    ),
    classic=MappingProxyType(
        {
            "trafficShift": "trafficPercent",
            "traffic_shift": "trafficPercent",
            "traffic": "trafficPercent",
            "traffic_percent": "trafficPercent",
            "enabled": "deployed",
            "active": "deployed",
        }
    ),
)
