"""The JSON Schema (draft 2020-12) of plan and environment files.

For editor completion and CI checks; ``orchestrator validate`` remains the
authority (it also checks what a schema cannot: org references, duplicates,
wave placement, ``${NAME}`` being set). Patterns and enums come from the
modules the loader uses, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from orchestrator.genesys import fields
from orchestrator.models import Kind, OnDrift
from orchestrator.planfile import endpoints
from orchestrator.planfile.schema_rollout import ids_schema, rollout_forms

Schema = dict[str, Any]

_REFERENCE = r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"
_INSTANT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
)
_UUID = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
_NAME = r"^[A-Za-z0-9._-]+$"
_CONFIG_ID = r"^[A-Za-z0-9_-]{1,128}$"


def json_schema() -> Schema:
    """The schema: a document is either a plan or an environment file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:orchestrator:plan-and-environment:1",
        "title": "orchestrator plan or environment file",
        "description": "A plan (what to roll back, where, in which order) or an "
        "environment (how to reach each org). Check with `orchestrator validate`.",
        "oneOf": [{"$ref": "#/$defs/plan"}, {"$ref": "#/$defs/environment"}],
        "$defs": {
            "plan": _plan(),
            "environment": _obj(
                "An environment file: the orgs and how to reach them.",
                {"orgs": {"$ref": "#/$defs/orgs"}},
                required=["orgs"],
            ),
            "orgs": _orgs(),
            "org": _org(),
            "defaults": _defaults(),
            "target": _target_entry(),
            "item": _item(),
            "to": _to(),
            "set": _set(),
            "ids": ids_schema(),
            "wave": _wave(),
            "limits": _limits(),
            "schedule": _schedule(),
            "duration": {
                "description": "A duration: 500ms, 20s, 2m, 1h, or a number of seconds.",
                "oneOf": [
                    {"type": "number", "minimum": 0},
                    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"},
                ],
            },
            "instant": {
                "description": "An ISO 8601 time with a zone, e.g. 2026-11-28T14:00:00Z.",
                "type": "string",
                "pattern": _INSTANT,
            },
            "envString": {
                "description": "A string; ${NAME} is replaced by the environment variable NAME "
                "(every $ must start one).",
                "type": "string",
                "minLength": 1,
                "pattern": r"^([^$]|" + _REFERENCE + r")*$",
            },
        },
    }


def _obj(description: str, properties: Schema, required: list[str] | None = None) -> Schema:
    schema: Schema = {
        "description": description,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _described(description: str, schema: Schema) -> Schema:
    return {"description": description, **schema}


def _plan() -> Schema:
    schema = _obj(
        "A plan file: what to roll back, in which orgs, in which order.",
        {
            "plan": _described("Format version; must be 1.", {"const": 1}),
            "name": _described(
                "Names runs and reports: letters, digits, '-', '_', '.'.",
                {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,100}$"},
            ),
            "description": _described("Free text for people.", {"type": "string"}),
            "environments": _described(
                "Path of the environment file, relative to this plan "
                "(instead of an inline `orgs:`).",
                {"type": "string", "minLength": 1},
            ),
            "orgs": _described(
                "Inline orgs, shaped like an environment file's `orgs:` "
                "(instead of `environments:`).",
                {"$ref": "#/$defs/orgs"},
            ),
            "defaults": {"$ref": "#/$defs/defaults"},
            "targets": _described(
                "What to roll back, per org. Not empty.",
                {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/target"}},
            ),
            "waves": _described(
                "Groups of orgs run in order, with gates. Default: one wave `all`.",
                {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/wave"}},
            ),
            "limits": {"$ref": "#/$defs/limits"},
            "schedule": {"$ref": "#/$defs/schedule"},
        },
        required=["plan", "name", "targets"],
    )
    schema["oneOf"] = [{"required": ["environments"]}, {"required": ["orgs"]}]
    return schema


def _orgs() -> Schema:
    return {
        "description": "Org name (letters, digits, '-', '_', '.') -> how to reach it.",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": _NAME},
        "additionalProperties": {"$ref": "#/$defs/org"},
    }


def _org() -> Schema:
    reference = {"type": "string", "pattern": "^" + _REFERENCE + "$"}
    schema = _obj(
        "One org: exactly one of region, domain or base_url, and its OAuth client.",
        {
            "region": _described(
                "Genesys Cloud region; the API is https://api.<its domain>.",
                {"anyOf": [{"enum": sorted(endpoints.REGIONS)}, reference]},
            ),
            "domain": _described(
                "The org's domain, e.g. mypurecloud.ie (API at https://api.<domain>).",
                {"$ref": "#/$defs/envString"},
            ),
            "base_url": _described(
                "Full base URL, https:// (http:// only on loopback, e.g. the sandbox); no path.",
                {"$ref": "#/$defs/envString"},
            ),
            "org_id": _described(
                "The org's id; preflight refuses a token of another org.",
                {"anyOf": [{"type": "string", "pattern": _UUID}, reference]},
            ),
            "client_id": _described("OAuth client id.", {"$ref": "#/$defs/envString"}),
            "client_secret": _described(
                "OAuth client secret: ${NAME} (a literal only for a loopback base_url).",
                {"$ref": "#/$defs/envString"},
            ),
            "requests_per_minute": _described(
                "This org's request quota; default 300.", {"type": "integer", "minimum": 1}
            ),
            "concurrency": _described(
                "Requests in flight to this org; default 4.", {"type": "integer", "minimum": 1}
            ),
        },
        required=["client_id", "client_secret"],
    )
    schema["oneOf"] = [{"required": [key]} for key in ("region", "domain", "base_url")]
    return schema


def _item_properties() -> Schema:
    return {
        "kind": _described(
            "Resource kind; default agentassist-config. assistant-queues: the id is an "
            "assistant's, the content its queue bindings.",
            {"enum": [k.value for k in Kind]},
        ),
        "to": {"$ref": "#/$defs/to"},
        "on_drift": _described(
            "If someone changed the config since planning: stop (leave it) or overwrite.",
            {"enum": [d.value for d in OnDrift]},
        ),
        "set": {"$ref": "#/$defs/set"},
        "ids": {"$ref": "#/$defs/ids"},
    }


def _defaults() -> Schema:
    return _obj("Settings every item gets unless it says otherwise.", _item_properties())


def _target_entry() -> Schema:
    return _obj(
        "The configs to roll back in one org.",
        {
            "org": _described("An org of the environment.", {"type": "string", "pattern": _NAME}),
            "configs": _described(
                "Config ids, or items with their own settings. Not empty.",
                {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
            ),
            "ids": {"$ref": "#/$defs/ids"},
        },
        required=["org", "configs"],
    )


def _item() -> Schema:
    config_id = {"type": "string", "pattern": _CONFIG_ID}
    return {
        "description": "A config id (defaults apply), or an item with its own settings.",
        "oneOf": [
            _described("Config id: 1..128 letters, digits, '-', '_'.", config_id),
            _obj(
                "One config and how to roll it back.",
                {"id": _described("Config id.", config_id), **_item_properties()},
                required=["id"],
            ),
        ],
    }


def _to() -> Schema:
    def instant_form(key: str, text: str) -> Schema:
        return _obj(text, {key: {"$ref": "#/$defs/instant"}}, required=[key])

    return {
        "description": 'Target: a version number, "previous", {before: T}, {snapshot: T}, '
        "{content: FILE} or {from: {org, id}}. Assistants, assistant-queues and "
        "agent-checklists (no server history) take no version number and not previous.",
        "oneOf": [
            _described("That version, from history.", {"type": "integer", "minimum": 1}),
            _described("The version just before the current one.", {"const": "previous"}),
            instant_form("before", "The newest version created strictly before T."),
            instant_form("snapshot", "The newest local snapshot taken at or before T."),
            *rollout_forms(),
        ],
    }


def _set() -> Schema:
    described = {
        "name": "Name, 1..200 characters.",
        "description": "Description (agentassist-config).",
        "deployed": "Deployed or not (agentassist-config).",
        "trafficPercent": "Share of traffic 0..100 (agentassist-config).",
        "content": "Configuration content, a JSON object up to 256 KiB (agentassist-config).",
        "state": "Active or Inactive (assistant).",
        "transcriptionConfig": "Transcription settings object (assistant).",
        "knowledgeSuggestionConfig": "Knowledge suggestion settings object (assistant).",
        "googleDialogflowConfig": "Dialogflow settings object (assistant).",
        "copilot": "The whole copilot object, written with PUT .../copilot (assistant).",
        "language": "Language, e.g. en-US (agent-checklist).",
        "checklistItems": "The checklist's items, each with a name (agent-checklist).",
    }
    types: Schema = {
        "name": {"type": "string", "minLength": 1, "maxLength": fields.NAME_MAX_CHARS},
        "description": {"type": "string"},
        "deployed": {"type": "boolean"},
        "trafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
        "content": {"type": "object"},
        "state": {"enum": list(fields.ASSISTANT_STATES)},
        "transcriptionConfig": {"type": "object"},
        "knowledgeSuggestionConfig": {"type": "object"},
        "googleDialogflowConfig": {"type": "object"},
        "copilot": {"type": "object"},
        "language": {"type": "string", "minLength": 1, "maxLength": fields.NAME_MAX_CHARS},
        "checklistItems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _described("The item's text.", {"type": "string"})},
            },
        },
    }
    writable = {f for kind in Kind for f in fields.WRITABLE[kind]} - fields.ENGINE_MANAGED
    assert writable == set(types), "schema out of step with orchestrator.genesys.fields"
    return _obj(
        "Writable fields forced on top of the restored content (not `version`).",
        {name: _described(described[name], types[name]) for name in sorted(writable)},
    )


def _wave() -> Schema:
    return _obj(
        "A group of orgs run together.",
        {
            "name": _described("Unique wave name.", {"type": "string", "pattern": _NAME}),
            "orgs": _described(
                'Org names or shell globs ("*" = every org no other wave names); or a count'
                ' (1) or a percentage ("25%") of the orgs not yet placed, in plan order.',
                {
                    "oneOf": [
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "minLength": 1},
                        },
                        {"type": "integer", "minimum": 1},
                        {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
                    ]
                },
            ),
            "max_failed": _described(
                'Halt if more items than this fail: a count or "N%" of the wave\'s items.',
                {
                    "oneOf": [
                        {"type": "integer", "minimum": 0},
                        {"type": "string", "pattern": r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%$"},
                    ]
                },
            ),
            "bake": _described(
                "After the wave: wait this long, then re-verify its items.",
                {"$ref": "#/$defs/duration"},
            ),
            "approve": _described(
                "Wait for an operator's approval before starting.", {"type": "boolean"}
            ),
        },
        required=["name", "orgs"],
    )


def _limits() -> Schema:
    def duration(text: str) -> Schema:
        return _described(text, {"$ref": "#/$defs/duration"})

    return _obj(
        "Run-wide limits.",
        {
            "concurrency": _described(
                "Requests in flight across all orgs; default 32.",
                {"type": "integer", "minimum": 1},
            ),
            "attempts": _described(
                "Attempts per item (conflicts and transient errors); default 8.",
                {"type": "integer", "minimum": 1},
            ),
            "backoff": _obj(
                "Capped exponential backoff with full jitter.",
                {"base": duration("First wait; default 200ms."), "max": duration("Cap; 20s.")},
            ),
            "verify_timeout": duration("How long to wait for a write to be live; default 5m."),
            "max_retry_after": duration("Longest Retry-After slept through; default 180s."),
            "request_timeout": duration("Timeout of one request attempt; default 30s."),
            "max_rate": _described(
                "Requests per second over every org (smooths this run's own egress); no cap by"
                " default. Each org's quota is requests_per_minute in its environment file.",
                {"type": "number", "exclusiveMinimum": 0},
            ),
        },
    )


def _schedule() -> Schema:
    return _obj(
        "The change window.",
        {
            "not_before": _described("The run waits until then.", {"$ref": "#/$defs/instant"}),
            "not_after": _described(
                "Waves not started by then are skipped.", {"$ref": "#/$defs/instant"}
            ),
        },
    )
