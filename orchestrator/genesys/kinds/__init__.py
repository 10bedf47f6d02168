"""Resource kinds: one module each, one ``Protocol`` between them and the engine."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.genesys.kinds.assistant import Assistant, list_assistants
from orchestrator.genesys.kinds.base import Live, ResourceKind, Target, live_from
from orchestrator.genesys.kinds.checklist import AgentChecklist, list_checklists
from orchestrator.genesys.kinds.config import AgentAssistConfig
from orchestrator.genesys.kinds.queues import AssistantQueues
from orchestrator.models import Kind

KINDS: Mapping[Kind, ResourceKind] = {
    Kind.AGENTASSIST_CONFIG: AgentAssistConfig(),
    Kind.ASSISTANT: Assistant(),
    Kind.ASSISTANT_QUEUES: AssistantQueues(),
    Kind.AGENT_CHECKLIST: AgentChecklist(),
}


__all__ = [
    "KINDS",
    "AgentAssistConfig",
    "AgentChecklist",
    "Assistant",
    "AssistantQueues",
    "Live",
    "ResourceKind",
    "Target",
    "list_assistants",
    "list_checklists",
    "live_from",
]
