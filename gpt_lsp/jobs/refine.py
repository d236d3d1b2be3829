"""Refine: which job a follow-up means, and the next turn's request (the conversation so far)."""

from __future__ import annotations

from dataclasses import replace

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.job import Job, JobSpec
from gpt_lsp.jobs.registry import JobList
from gpt_lsp.jobs.review import holds
from gpt_lsp.jobs.state import Phase
from gpt_lsp.prompting.conversation import follow_up
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.settings import Settings
from gpt_lsp.text.regions import Pos

NEW_CHAT = N_("select the code to start a new chat")


def refinable(
    registry: JobList | None, job_id: str | None, uri: str | None, pos: Pos | None
) -> Job:
    """Returns the job a follow-up turn continues; raises RequestRefused, changing nothing."""
    jobs = list(registry.jobs.values()) if registry is not None else []
    job: Job | None = None
    if job_id is not None:
        job = next((j for j in jobs if j.id == job_id), None)
        ended = registry.ended.get(job_id) if registry is not None else None
        if job is None and ended is not None:
            raise RequestRefused(_ended(job_id, ended))
        if job is None:
            text = _("gptLsp.chat: there is no job {job}: {hint}.")
            raise RequestRefused(text.format(job=job_id, hint=_(NEW_CHAT)))
    else:
        for candidate in reversed(jobs):
            if candidate.review in ("running", "pending") and candidate.spec.uri == uri:
                if pos is None or holds(candidate.region.span, pos):
                    job = candidate
                    break
            elif _writes_notes(candidate) and candidate.spec.notes_uri == uri:
                job = candidate
                break
        if job is None:
            text = _("gptLsp.chat: no pending or running AI job at this position: {hint}.")
            raise RequestRefused(text.format(hint=_(NEW_CHAT)))
    if job.state.outcome is not None:
        raise RequestRefused(_ended(job.id, job.state.outcome))
    if job.state.phase is Phase.RESTORING or (job.review == "none" and not _writes_notes(job)):
        raise RequestRefused(_gone(job.id))  # a reject (or an undo) is taking it back
    return job


def check_follow_up(job: Job) -> None:
    """Refuses a follow-up for a job that ended while its running turn stopped."""
    if job.state.outcome is not None:
        raise RequestRefused(_ended(job.id, job.state.outcome))
    if not job.state.can_follow_up():
        raise RequestRefused(_gone(job.id))


def _ended(job_id: str, outcome: str) -> str:
    text = _("gptLsp.chat: {job} has ended ({outcome}): nothing to refine; {hint}.")
    return text.format(job=job_id, outcome=outcome, hint=_(NEW_CHAT))


def _gone(job_id: str) -> str:
    text = _("gptLsp.chat: {job} can no longer be refined; {hint}.")
    return text.format(job=job_id, hint=_(NEW_CHAT))


def _writes_notes(job: Job) -> bool:
    return job.review == "none" and job.spec.action.output == "notes"


def follow_up_spec(job: Job, previous: str, instruction: str, settings: Settings) -> JobSpec:
    """Returns the next turn's spec: the conversation (trimmed to the context budget, oldest
    turns first), the previous answer and the new instruction; secrets masked as before."""
    spec = job.spec
    if spec.make_output is None:
        raise RequestRefused(_gone(job.id))
    mask = spec.mask if spec.mask is not None else SecretMask()
    if settings.mask_secrets:
        previous, instruction = mask.mask(previous), mask.mask(instruction)
    output = "prose" if spec.action.output == "notes" else "code"
    messages = follow_up(
        job.spec.messages, previous, instruction, output, budget_chars=settings.context_chars
    )
    return replace(
        spec,
        messages=messages,
        request=replace(spec.request, messages=messages),
        output=spec.make_output(),
        notices=[],
        given=None,  # a follow-up turn asks the relay
        mask=mask,
        unmasker=StreamUnmasker(mask) if mask.count else None,
    )
