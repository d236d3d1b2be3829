"""gptLsp.status: what the session shows of itself (version, actions, relays, jobs, usage)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from gpt_lsp import __version__
from gpt_lsp.accounting.spending import Spending, spend_json
from gpt_lsp.session.display import shim_strings, spend_lines, status_lines

if TYPE_CHECKING:
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings


class Reporting(Protocol):
    """What the status is made of (the session has it all)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def relays(self) -> RelayPool: ...
    @property
    def jobs(self) -> JobManager: ...

    spending: Spending
    counters: Callable[[], dict[str, int]] | None

    def resource_counts(self) -> dict[str, int]: ...


def status_of(session: Reporting) -> dict[str, Any]:
    """gptLsp.status: version, actions, relays, jobs and session usage."""
    from gpt_lsp.prompting.actions import all_actions

    settings = session.settings
    active = session.relays.active()
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
            "tokens": job.completion_estimate,
        }
        for job in session.jobs.jobs.values()
    ]
    totals = session.jobs.totals
    spent = session.spending.spend()
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
    status["completion"] = completion_status(session)  # counted apart from jobs
    context = vars(session).get("context")  # the index: files, symbols, last update
    status["context"] = context.status() if context is not None else {"state": "off"}
    if spent is not None:
        status["usage"]["today"] = spend_json(spent[0])
        status["usage"]["month"] = spend_json(spent[1])
    status["lines"] = status_lines(status)  # display-ready, in the UI language
    status["spendLines"] = spend_lines(status["usage"])
    status["strings"] = shim_strings()  # the shims' own prompts and notices, translated
    if session.counters is not None:
        status["internal"] = {**session.counters(), **session.resource_counts()}
    return status


def completion_status(session: Reporting) -> dict[str, Any]:
    """Completion's counts, without building its service (a cached property) to read zeros."""
    service = vars(session).get("completion")
    if service is not None:
        return service.status()  # type: ignore[no-any-return]
    from gpt_lsp.completion.counts import Counts

    return {"enabled": session.settings.completion.enabled, **Counts().as_json()}
