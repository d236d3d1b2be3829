"""What the user's change to a pending job's region means for the job: the original back (an
undo: the job ends undone), a text the job wrote earlier (an undo between its states: the
original goes back, undone), its current text (still pending), or the user's own typing (kept,
as accepted with the user's edits). Each verdict is an event for the job's lifecycle."""

from __future__ import annotations

import asyncio
import logging

from gpt_lsp.edits.region import Verdict
from gpt_lsp.i18n import _
from gpt_lsp.jobs.job import Job
from gpt_lsp.jobs.lifecycle import Lifecycle
from gpt_lsp.jobs.state import Phase
from gpt_lsp.port import ClientPort

log = logging.getLogger(__name__)

EDIT_GRACE = 0.5  # seconds before a change inside a pending region counts as the user's edit


class Verdicts:
    """Gives the verdict on a user's change to a pending region, after a grace for the rest
    of an undo that comes in several didChange notifications (Neovim's)."""

    def __init__(self, port: ClientPort, life: Lifecycle) -> None:
        self.port = port
        self.life = life
        self._grace: set[str] = set()  # jobs whose edit verdict waits for the rest of an undo
        self._taking_back: set[asyncio.Future[bool]] = set()  # restores after an undo

    def user_changed(self, job: Job, verdict: Verdict) -> None:
        """The user's change reached a pending job's region. Back to the original: an undo,
        the job ends. Anything else waits EDIT_GRACE for the verdict: an editor may report
        one undo in several didChange notifications (Neovim does), the first a partial one."""
        if job.state.phase is not Phase.PENDING:
            return
        if verdict == "original":
            self.life.end(job, Phase.UNDONE)
            return
        if job.id not in self._grace:
            self._grace.add(job.id)
            asyncio.get_running_loop().call_later(EDIT_GRACE, self._decide, job)

    def decide_now(self, job: Job) -> None:
        """Gives the verdict on a pending job's change at once (before a reject or a refine:
        text the user typed is never reverted)."""
        if job.id in self._grace:
            self._decide(job)

    def _decide(self, job: Job) -> None:
        """The region shows the original: undone. A text the job wrote earlier (an undo that
        landed between its states, never the user's typing): the original goes back, undone.
        Its current text: still pending. Anything else is the user's: kept, as accepted."""
        if job.id not in self._grace:
            return  # decided already
        self._grace.discard(job.id)
        channel = job.channel
        if job.state.phase is not Phase.PENDING or channel is None:
            return
        verdict = channel.review_verdict(job.region)
        if verdict == "original":
            self.life.end(job, Phase.UNDONE)
        elif verdict == "earlier":
            log.info("job %s: an undo landed between the job's states: restoring", job.id)
            task = asyncio.ensure_future(self.life.take_back(job, Phase.UNDONE))
            self._taking_back.add(task)
            task.add_done_callback(self._taking_back.discard)
        elif verdict == "other":
            message = _(
                "AI: {title}: you edited the job's text, so it is kept as it is "
                "(accepted with your edits)."
            ).format(title=job.spec.action.label)
            self.life.end(job, Phase.EDITED, message)
            self.port.show_message("info", message)
