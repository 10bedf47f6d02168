"""What to do about each error code: the report's advice, one line per code."""

from __future__ import annotations

from orchestrator.ui.reviewed import STALE_NEXT_STEP

NEXT_STEPS = {
    "missing.permissions": "grant the org's OAuth client the permission named, then run again",
    "drift": "someone else changed it since planning: review the change; to overwrite it, set"
    " on_drift: overwrite for this item and run again",
    "target.pruned": "the server no longer keeps that version: roll back to a local snapshot"
    " ({snapshot: T}) or pick a newer version",
    "snapshot.missing": "take a snapshot first (`orchestrator snapshot`) or choose another target",
    "target.missing": "check the item's `to:` against the config's history",
    "verify.timeout": "the write is in place but not yet live: check again later; raise"
    " limits.verify_timeout if propagation is slow",
    "write.unknown": "the write may have happened, but no answer or read could tell:"
    " `orchestrator resume RUN_ID` reads each such item and decides (it never writes"
    " a config twice)",
    "answer.malformed": "the server's answer broke the API contract (see the message): check"
    " the org's base URL and anything in between (proxy, gateway), then run again",
    "redirected": "the server redirected the request and it was not followed: check the"
    " org's base URL (a proxy or a moved endpoint?)",
    "too.many.requests.retry.after": "the org asked to wait longer than max_retry_after:"
    " run again later",
    "bake.regression": "something changed the config back during the bake: find the other"
    " writer before rolling out further",
    "run.halted": "`orchestrator resume RUN_ID` continues once the cause is understood",
    "window.closed": "outside the change window: schedule a new window and resume",
    "preflight.failed": "fix the failing org's credentials or org_id, then run again",
    "queue.taken": "the queue now serves another assistant: the orchestrator never moves it"
    " (not even with on_drift: overwrite); unbind it there deliberately, then run again",
    "field.unknown": "a field this orchestrator does not know differs from the target: restore"
    " it by hand or upgrade the orchestrator; nothing was written",
    "field.immutable": "the server forbids this change (copilot.defaultLanguage once set):"
    " choose a target that keeps it",
    "target.incomplete": "the snapshot lacks a part the live resource has: take a new snapshot",
    "plan.stale": STALE_NEXT_STEP,
    "ids.unmapped": "map each id named to this org's own with `ids: {<id there>: <id here>}`"
    " beside `to:` (or keep it: `ids: {keep: [<id>]}`), then run again; nothing was written",
    "source.missing": "the golden item of `to: {from: ...}` does not exist: check its org and id",
}
