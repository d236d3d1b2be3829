"""Taking a job's text back: the original put back after a failure, a cancel, a reject or an
undo that landed between the job's states, and the ending of a job the editor refused."""

from __future__ import annotations

import asyncio
import logging

from gpt_lsp.errors import GptLspError
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.job import Job
from gpt_lsp.jobs.review import ReviewBoard
from gpt_lsp.port import ClientPort

log = logging.getLogger(__name__)

RESTORE_WAIT = 10.0  # seconds a restore may take (an edit in flight settles first)
REFUSED_MESSAGE = N_(
    "The editor refused the job's edits (a read-only document, or one changed without telling "
    "the server): the job stopped."
)
REFUSED_KEPT_MESSAGE = N_(
    "The editor refused the job's edits (a read-only document, or one changed without telling "
    "the server): the job stopped, and the editor also refused to put the original back, so "
    "the document keeps part of the answer."
)


async def restore_original(job: Job) -> None:
    """Puts the original text back (unless the user edited inside the region)."""
    tracked = job.region
    tracked.pending.clear()
    tracked.rewrite_text = None
    if job.channel is None or job.channel.closed or tracked.conflict:
        return
    if job.spec.notes_uri is not None:
        return
    # Let an edit in flight settle first, so the region is exact.
    tracked.restore_wanted = True
    try:
        await asyncio.wait_for(job.channel.wait_idle(tracked), RESTORE_WAIT)
    except asyncio.TimeoutError:
        log.warning("job %s: could not restore the original in time", job.id)
    if tracked.is_conflicted():
        job.status = "conflict"


async def fail_refused(job: Job, port: ClientPort) -> None:
    """The editor would not take the job's edits: the job fails, and its text (if any got in)
    is taken back where the editor allows it."""
    await restore_original(job)
    job.status = "failed"
    kept = job.region.replaced and not job.region.restored
    job.message = _(REFUSED_KEPT_MESSAGE if kept else REFUSED_MESSAGE)
    port.show_message("error", GptLspError(job.message).user_message())


async def take_back(job: Job, board: ReviewBoard, outcome: str) -> bool:
    """Puts a pending job's original (from before its first turn) back and ends its review
    with `outcome`; "edited" when the user's typing inside the region stopped the restore."""
    job.region.reviewing = False
    job.region.restore_text = None
    await restore_original(job)
    restored = job.region.restored
    board.end(job, outcome if restored else "edited")
    return restored
