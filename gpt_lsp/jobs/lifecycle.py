"""The one owner of a job's life: every move of a job's state (jobs/state.py) and every turn's
ending happen here. The other parts send it events (the user's accept, reject, cancel; a
conflict from the edit transport; a turn's stream ending, failing or stopped; an undo's
verdict) or ask a job's state; none of them changes it.
"""

from __future__ import annotations

import logging
from typing import Literal

from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.errors import GptLspError
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.job import Job, JobSpec, Turn
from gpt_lsp.jobs.registry import JobList
from gpt_lsp.jobs.restore import put_back
from gpt_lsp.jobs.review import ReviewBoard
from gpt_lsp.jobs.state import (
    BY_USER,
    OPEN,
    Phase,
    State,
    StopReason,
    TurnEnd,
    TurnStatus,
    after_turn,
    move,
    wanting,
)
from gpt_lsp.port import ClientPort

log = logging.getLogger(__name__)

# What ended a turn's task: its answer read to the end, a stop (cancel, conflict, close,
# refine, shutdown), a cancel before it ran a line, or an error.
Cause = Literal["answered", "stopped", "unstarted"] | Exception

CONFLICT_MESSAGE = N_("You edited inside the job's region: the job stopped and left your text.")
REFUSED_MESSAGE = N_(
    "The editor refused the job's edits (a read-only document, or one changed without telling "
    "the server): the job stopped."
)
REFUSED_KEPT_MESSAGE = N_(
    "The editor refused the job's edits (a read-only document, or one changed without telling "
    "the server): the job stopped, and the editor also refused to put the original back, so "
    "the document keeps part of the answer."
)


class Lifecycle:
    """Moves jobs through their states and ends their turns."""

    def __init__(self, port: ClientPort, board: ReviewBoard, registry: JobList) -> None:
        self.port = port
        self.board = board  # what the client is shown of a job's review
        self.registry = registry  # forgets the jobs the user decided on

    # ------------------------------------------------------------ turns

    def begin(
        self,
        job_id: str,
        spec: JobSpec,
        region: JobRegion,
        channel: DocumentChannel | None,
        request_id: object = None,
    ) -> Job:
        """Returns a new job in its first turn; a code job in an open document is reviewed."""
        first = Turn(1, spec, request_id)
        return Job(job_id, region, channel, [first], State(reviewed=channel is not None))

    def next_turn(self, job: Job, spec: JobSpec, request_id: object = None) -> None:
        """Starts a follow-up turn of a stopped, pending or notes job (same id, same region):
        a code job's region is rewritten, and put back to the last answer if the turn fails."""
        previous = job.last_answer() if job.state.reviewed else ""
        self._move(job, Phase.RUNNING)
        job.turns.append(Turn(len(job.turns) + 1, spec, request_id))
        region = job.region
        region.pending.clear()
        region.rewrite_text = None
        region.stream_ended = False
        if not job.state.reviewed:
            job.channel = None  # attached again to the notes document, if still open
            return
        region.restore_text = previous
        region.reviewing = region.replaced = region.restored = region.restore_wanted = False

    def stop(self, job: Job, reason: StopReason) -> bool:
        """Stops a running turn; True when it was running. A plain cancel keeps an earlier
        reason; the others (a conflict, a close, a follow-up, shutdown) say why."""
        turn = job.turn
        if not turn.running or turn.task is None:
            return False
        turn.stop = (turn.stop or reason) if reason == "cancel" else reason
        if reason in ("closed", "refine"):
            job.region.pending.clear()
        turn.task.cancel()
        return True

    def accept(self, job: Job) -> bool:
        """Keeps a pending job's text; a running job is kept when it is done (never pending)."""
        if job.status == "running":
            job.state = wanting(job.state, "accept")
            return True
        if job.review != "pending":
            return False
        self.end(job, Phase.ACCEPTED)
        return True

    async def reject(self, job: Job) -> bool:
        """Puts back the text from before the job's first turn; a running turn stops first."""
        turn = job.turn
        if turn.status == "running":
            job.state = wanting(job.state, "reject")
            job.region.restore_text = None  # the original, not the last answer
            self.stop(job, "cancel")
            await turn.finished.wait()
            return job.status == "cancelled" and job.region.restored
        if job.review != "pending" or job.channel is None:
            return False
        return await self.take_back(job, Phase.REJECTED)

    # ------------------------------------------------------------ a turn's ending

    async def end_turn(self, job: Job, cause: Cause) -> None:
        """Decides how the turn ended (status, message); a turn that leaves no text of its
        own puts back what was there before it."""
        turn, region = job.turn, job.region
        if isinstance(cause, Exception):
            if isinstance(cause, GptLspError):
                message = shown = cause.user_message()
            else:
                message = _("gpt-lsp internal error ({name}); see the log.").format(
                    name=type(cause).__name__
                )
                shown = GptLspError(message).user_message()
            self._ended(turn, "failed", message)
            await self._restore(job)
            self.port.show_message("error", shown)
        elif cause == "unstarted":
            self._ended(turn, "cancelled")
        elif cause == "answered" and region.refused == "no" and not region.conflict:
            if turn.finish_reason == "length":
                message = _("The answer was cut at the token limit (maxTokens): review it.")
                self._ended(turn, "done", message)
            else:
                self._ended(turn, "done", " ".join(turn.spec.notices) or None)
        elif cause == "stopped" and turn.stop == "closed":
            self._ended(turn, "cancelled", _("The document was closed: the job stopped."))
        elif cause == "stopped" and turn.stop == "refine":
            message = _("Stopped for a follow-up turn, which rewrites the region.")
            self._ended(turn, "cancelled", message)
        elif region.refused != "no":
            await self._fail_refused(job)
        elif cause == "answered" or turn.stop == "conflict" or region.conflict:
            self._ended(turn, "conflict", _(region.conflict_reason or CONFLICT_MESSAGE))
        else:
            self._ended(turn, "cancelled")
            await self._restore(job)

    def never_started(self, job: Job) -> None:
        """A turn cancelled before its task ran a line: it ends cancelled."""
        self._ended(job.turn, "cancelled")

    def after_turn(self, job: Job) -> None:
        """Moves a job whose turn has ended: pending, waiting for its follow-up, or ended."""
        channel, region = job.channel, job.region
        kept = (
            channel is not None
            and not channel.closed
            and job.id in channel.regions
            and not region.conflict
            and region.refused == "no"  # the editor would not take a restore either
        )
        turn = job.turn
        wrote = region.replaced and not region.restored
        end = TurnEnd(turn.number, turn.status, turn.stop, kept=kept, wrote=wrote)
        phase = after_turn(job.state, end)
        if phase is Phase.DONE:
            _forget_region(job)
            self._move(job, phase)
        elif phase is Phase.STOPPED:
            self._move(job, phase)  # the next turn starts at once on the same region
        elif phase is Phase.PENDING:
            self._move(job, phase)
            region.reviewing = region.replaced = True
            region.restore_text = None
            region.restore_wanted = region.restored = False
            self.board.show(job)
        else:
            self.end(job, phase)

    async def _restore(self, job: Job) -> None:
        """Puts back the text from before the turn; a user edit meanwhile is a conflict."""
        if await put_back(job):
            job.turn.status = "conflict"

    async def _fail_refused(self, job: Job) -> None:
        """The editor would not take the job's edits: the turn fails, and its text (if any
        got in) is taken back where the editor allows it."""
        await self._restore(job)
        region = job.region
        kept = region.replaced and not region.restored
        message = _(REFUSED_KEPT_MESSAGE if kept else REFUSED_MESSAGE)
        self._ended(job.turn, "failed", message)
        self.port.show_message("error", GptLspError(message).user_message())

    def _ended(self, turn: Turn, status: TurnStatus, message: str | None = None) -> None:
        turn.status, turn.message = status, message

    # ------------------------------------------------------------ the review's end

    def end(self, job: Job, outcome: Phase, message: str | None = None) -> bool:
        """Ends a job's review with `outcome`: its region is no longer tracked, its lenses go
        away; an outcome the user decided forgets the job. False when there was no review
        left to end (the region is forgotten all the same)."""
        _forget_region(job)
        if not job.state.reviewed or job.state.phase not in OPEN:
            return False
        self._move(job, outcome)
        job.region.reviewing = False
        self.board.show(job, message)
        if outcome in BY_USER:
            self.registry.forget(job)
        return True

    async def take_back(self, job: Job, outcome: Phase) -> bool:
        """Puts a pending job's original (from before its first turn) back and ends its review
        with `outcome`; "edited" when the user's typing inside the region stopped the
        restore. A second call while the first restores waits for the same restore."""
        if job.state.phase is Phase.PENDING:
            self._move(job, Phase.RESTORING)
            job.region.reviewing = False
            job.region.restore_text = None
        elif job.state.phase is not Phase.RESTORING:
            return False
        await put_back(job)
        restored = job.region.restored
        self.end(job, outcome if restored else Phase.EDITED)
        return restored

    def trim(self) -> None:
        """Forgets the oldest finished jobs past the registry's limit (their text is kept)."""
        for job in self.registry.overflow():
            self.end(job, Phase.ACCEPTED)
            self.registry.drop(job)

    def reviewing(self, job: Job) -> bool:
        """True while the job's text awaits the user's decision (its region follows edits)."""
        return job.state.phase is Phase.PENDING

    def _move(self, job: Job, phase: Phase) -> None:
        job.state = move(job.state, phase)


def _forget_region(job: Job) -> None:
    if job.channel is not None:
        job.channel.remove(job.id)
