"""What the shims draw, display-ready in the UI language: status lines, spend lines, and the
shims' own prompts and notices. One source (the server's catalog), so no shim formats or
translates on its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpt_lsp.i18n import N_, _, ngettext
from gpt_lsp.jobs.job import tokens_text

# The shims' own words: prompts, picker titles and notices. `{...}` fields are filled by the
# shim (relay, model, count); a shim uses the English text when a key is missing.
SHIM_STRINGS = {
    "chatPrompt": N_("AI: "),
    "refinePrompt": N_("AI (follow-up): "),
    "actionPrompt": N_("AI action"),
    "modelPrompt": N_("Model for the {relay} relay"),
    "modelInput": N_("Model (now {current}): "),
    "modelSet": N_("{relay} relay: {model}"),
    "modelCurrent": N_("{model} (current)"),
    "noClient": N_("no gpt-lsp client attached to this buffer"),
    "noJobAccept": N_("no AI job to accept at the cursor or in this buffer"),
    "noJobReject": N_("no AI job to reject at the cursor or in this buffer"),
    "noJobCancel": N_("no AI job to cancel at the cursor or in this buffer"),
    "noActions": N_("no AI actions here yet: the server is still starting"),
    "completionOn": N_("AI completion on"),
    "completionOff": N_("AI completion off"),
    "pending": N_("AI edit pending: accept or reject"),
    "notesOpening": N_("AI: the notes open when the answer starts"),
    "serverMissing": N_("gpt-lsp not found: install it (see the README) or set its path"),
    "chatPick": N_("Chat to open"),
    "noChats": N_("no chats in this workspace yet"),
}


def shim_strings() -> dict[str, str]:
    """Returns the shims' own words in the UI language."""
    return {key: _(text) for key, text in SHIM_STRINGS.items()}


def spend_line(label: str, spend: Mapping[str, Any] | None) -> str:
    """One line of spend (today's or this month's) from status usage."""
    if spend is None:
        return _("{label}: unknown (no usage ledger)").format(label=label)
    requests = int(spend.get("requests", 0))
    parts = [f"${float(spend.get('costUsd', 0)):.4f}"]
    quota = int(spend.get("quota", 0))
    if quota > 0:
        parts[0] += _(" ({quota} quota)").format(quota=f"{quota:,}")
    count = ngettext("{count} request", "{count} requests", requests)
    parts.append(count.format(count=requests))
    parts.append(tokens_text(int(spend.get("tokens", 0))))
    unpriced = int(spend.get("unpriced", 0))
    if unpriced > 0:
        text = _("{count} without a price (not in the cost)")
        parts.append(text.format(count=unpriced))
    return _("{label}: {spend}").format(label=label, spend=_(", ").join(parts))


def spend_lines(usage: Mapping[str, Any]) -> dict[str, str]:
    """Today's and this month's spend lines."""
    return {
        "today": spend_line(_("today"), usage.get("today")),
        "month": spend_line(_("this month"), usage.get("month")),
    }


def status_lines(status: Mapping[str, Any]) -> list[str]:
    """The lines a shim prints for gptLsp.status: relays and models, running jobs, spend."""
    lines = [f"gpt-lsp {status.get('version', '')}"]
    relays: Sequence[Mapping[str, Any]] = status.get("relays", [])
    for relay in relays:
        text = _("relay {name}: {url}, model {model}")
        if relay.get("default"):
            text = _("relay {name} (default): {url}, model {model}")
        lines.append(text.format(name=relay["name"], url=relay["url"], model=relay["model"]))
    jobs = [job for job in status.get("jobs", []) if job.get("status") == "running"]
    if not jobs:
        lines.append(_("jobs: none running"))
    for job in jobs:
        text = _("job {job} {action} running ({tokens})")
        tokens = tokens_text(int(job.get("tokens", 0)))
        lines.append(text.format(job=job["jobId"], action=job["action"], tokens=tokens))
    spend = spend_lines(status.get("usage", {}))
    lines += [spend["today"], spend["month"]]
    index = status.get("context") or {}
    if index.get("state") in ("indexing", "ready"):  # last: the lines before keep their places
        state = _("indexing") if index["state"] == "indexing" else _("ready")
        text = _("index: {files} files, {symbols} definitions ({state})")
        lines.append(text.format(files=index["files"], symbols=index["symbols"], state=state))
    return lines
