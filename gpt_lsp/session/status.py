"""gptLsp.status: what the session shows of itself (version, actions, relays, jobs, usage)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpt_lsp import __version__
from gpt_lsp.accounting.spending import Spending, spend_json
from gpt_lsp.session.display import shim_strings, spend_lines, status_lines

if TYPE_CHECKING:
    from gpt_lsp.completion.service import CompletionService
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings


def status_of(
    settings: Settings,
    pool: RelayPool,
    manager: JobManager,
    completion: dict[str, Any],
    spending: Spending,
    internal: dict[str, int] | None = None,
    *,
    index: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """gptLsp.status: version, actions, relays, jobs and session usage; `internal`: resource
    counts (the server runs with --debug); `index`: the workspace index (None: not started)."""
    from gpt_lsp.prompting.actions import all_actions

    active = pool.active()
    relays = []
    for name, config in settings.relays.items():
        client = active.get(name)
        relays.append(
            {
                "name": name,
                "url": client.current_url if client else config.base_url,
                "model": settings.chosen_model(name)
                or (client.default_model if client else settings.model_for(name)),
                "default": name == settings.default_relay_name(),
                "systemRole": not client.quirks.no_system_role if client else config.system_role,
            }
        )
    actions = [
        {"id": a.id, "title": f"AI: {a.label}", "kind": a.kind, "output": a.output}
        for a in all_actions(settings.actions)
    ]
    jobs = [
        {
            "jobId": job.id,
            "uri": job.spec.uri,
            "action": job.spec.action.id,
            "status": job.status,
            "review": job.review,  # running, pending (done, awaiting a decision), none
            "tokens": job.turn.completion_estimate,
        }
        for job in manager.jobs.values()
    ]
    totals = manager.totals
    spent = spending.spend()
    status: dict[str, Any] = {
        "version": __version__,
        "actions": actions,
        "relays": relays,
        "jobs": jobs,
        "usage": {
            "jobs": totals.jobs,
            "promptTokens": totals.prompt_tokens,
            "completionTokens": totals.completion_tokens,
            "costUsd": round(totals.cost_usd, 6),
        },
    }
    status["completion"] = completion  # counted apart from jobs
    status["context"] = index if index is not None else {"state": "off"}  # files, symbols
    if spent is not None:
        status["usage"]["today"] = spend_json(spent[0])
        status["usage"]["month"] = spend_json(spent[1])
    status["lines"] = status_lines(status)  # display-ready, in the UI language
    status["spendLines"] = spend_lines(status["usage"])
    status["strings"] = shim_strings()  # the shims' own prompts and notices, translated
    if internal is not None:
        status["internal"] = internal
    return status


def completion_status(service: CompletionService | None, settings: Settings) -> dict[str, Any]:
    """Completion's counts, without building its service to read zeros."""
    if service is not None:
        return service.status()
    from gpt_lsp.completion.counts import Counts

    return {"enabled": settings.completion.enabled, **Counts().as_json()}
