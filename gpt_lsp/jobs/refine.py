"""Refine: which job a follow-up means, and the next turn's request (the conversation so far)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.job import Job, JobSpec
from gpt_lsp.jobs.review import holds
from gpt_lsp.prompting.conversation import follow_up
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.settings import Settings
from gpt_lsp.text.regions import Pos

if TYPE_CHECKING:
    from gpt_lsp.jobs.manager import JobManager

NEW_CHAT = N_("select the code to start a new chat")


def refinable(
    manager: JobManager | None, job_id: str | None, uri: str | None, pos: Pos | None
) -> Job:
    """Returns the job a follow-up turn continues; raises RequestRefused, changing nothing."""
    jobs = list(manager.jobs.values()) if manager is not None else []
    job: Job | None = None
    if job_id is not None:
        job = next((j for j in jobs if j.id == job_id), None)
        ended = manager.ended.get(job_id) if manager is not None else None
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
    if job.review == "ended":
        raise RequestRefused(_ended(job.id, job.outcome or "ended"))
    if job.review == "none" and not _writes_notes(job):
        raise RequestRefused(_gone(job.id))
    return job


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
        job.history, previous, instruction, output, budget_chars=settings.context_chars
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
