"""Resource kinds: one module each, one ``Protocol`` between them and the engine."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.genesys.kinds.assistant import Assistant, list_assistants
from orchestrator.genesys.kinds.base import Live, ResourceKind, Target, live_from
from orchestrator.genesys.kinds.config import AgentAssistConfig
from orchestrator.models import Kind

KINDS: Mapping[Kind, ResourceKind] = {
    Kind.AGENTASSIST_CONFIG: AgentAssistConfig(),
    Kind.ASSISTANT: Assistant(),
}


__all__ = [
    "KINDS",
    "AgentAssistConfig",
    "Assistant",
    "Live",
    "ResourceKind",
    "Target",
    "list_assistants",
    "live_from",
]
