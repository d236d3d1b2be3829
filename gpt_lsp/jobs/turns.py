"""A job's follow-up turns: what the last turn left, and the job made ready for the next."""

from __future__ import annotations

import asyncio
import time

from gpt_lsp.jobs.job import Job, JobSpec


def previous_answer(job: Job) -> str:
    """Returns what the job's last turn left: the region's text, or the notes it wrote."""
    if job.review == "none":
        return "".join(job.notes_written)
    channel = job.channel
    if channel is None:
        return ""
    return channel.doc.text_in(job.region.span, channel.encoding)


def reset_for_turn(job: Job, spec: JobSpec) -> None:
    """Makes a stopped or pending job ready for its next turn: same id, same region, the
    usage so far kept apart; a code job's restore goes back to the last answer."""
    region = job.region
    job.earlier_usage = job.job_usage()
    job.usage = None
    job.spec = spec
    job.history = list(spec.messages)
    job.turn += 1
    job.status = "running"
    job.message = job.finish_reason = job.cancel_reason = None
    job.answer_chars = job.completion_estimate = 0
    job.started, job.ended = time.monotonic(), None
    job.finished = asyncio.Event()
    job.stream_complete = job.accept_when_done = job.reject_wanted = False
    job.answer_notes = None
    region.pending.clear()
    region.rewrite_text = None
    region.stream_ended = False
    if job.review == "none":
        job.notes_written.clear()
        job.collected.clear()
        job.channel = None
    else:
        region.restore_text = previous_answer(job)
        region.reviewing = region.replaced = region.restored = False
        region.restore_wanted = False
        job.review = "running"
