"""The text from before a turn put back: the region's restore sent and waited for."""

from __future__ import annotations

import asyncio
import logging

from gpt_lsp.jobs.job import Job

log = logging.getLogger(__name__)

RESTORE_WAIT = 10.0  # seconds a restore may take (an edit in flight settles first)


async def put_back(job: Job) -> bool:
    """Puts the region's restore text back (the original, or a failed follow-up's previous
    answer), unless the user edited inside the region; True when a user edit stopped it
    while it waited."""
    tracked = job.region
    tracked.pending.clear()
    tracked.rewrite_text = None
    if job.channel is None or job.channel.closed or tracked.conflict:
        return False
    if job.spec.notes_uri is not None:
        return False
    # Let an edit in flight settle first, so the region is exact.
    tracked.restore_wanted = True
    try:
        await asyncio.wait_for(job.channel.wait_idle(tracked), RESTORE_WAIT)
    except asyncio.TimeoutError:
        log.warning("job %s: could not restore the original in time", job.id)
    return tracked.is_conflicted()
