"""What the client is shown of jobs under review: gptLsp/review notifications and code lenses.

A code job is `running`, then `pending` once done (its text awaits accept, reject, refine or
undo), then `ended`. Shims draw the original beside the region from the notifications; the
lenses and code actions are for every client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gpt_lsp.edits.region import Verdict
from gpt_lsp.i18n import _
from gpt_lsp.jobs.job import Job
from gpt_lsp.port import ClientPort
from gpt_lsp.prompting.offers import Offer, kind_matches, range_json
from gpt_lsp.text.regions import Pos, Span

REVIEW = "gptLsp/review"
STREAM_INTERVAL = 0.2  # seconds between review notifications while a job streams
EDIT_GRACE = 0.5  # seconds before a change inside a pending region counts as the user's edit


@dataclass(frozen=True)
class Lens:
    """One code lens: where, its title, and the command it runs with its argument."""

    span: Span
    title: str
    command: str
    arguments: dict[str, Any]


class ReviewBoard:
    """Sends review notifications (throttled while streaming) and lens refreshes."""

    def __init__(self, port: ClientPort, *, lens_refresh: bool = False) -> None:
        self.port = port
        self.lens_refresh = lens_refresh
        self._last_sent: dict[str, tuple[float, Span]] = {}
        self._refresh_soon = False
        self.on_ended: Callable[[Job], None] = lambda job: None
        # Puts a pending job's original back, then ends it as undone (the job manager's).
        self.undo_between: Callable[[Job], None] = lambda job: None
        self._grace: set[str] = set()  # jobs whose edit verdict waits for the rest of an undo

    def after_turn(self, job: Job) -> None:
        """A code job that is done becomes pending; a follow-up turn that failed leaves the
        previous answer pending; everything else ends its review."""
        if job.review == "none":
            _forget_region(job)
            return
        if job.cancel_reason == "refine":
            return  # the next turn starts at once on the same region
        channel = job.channel
        kept = (
            channel is not None
            and not channel.closed
            and job.id in channel.regions
            and not job.region.conflict
            and job.region.refused == "no"  # the editor would not take a restore either
            and job.cancel_reason != "closed"
        )
        wrote = job.region.replaced and not job.region.restored
        wanted = not job.accept_when_done and not job.reject_wanted
        if kept and wanted and (wrote or job.turn > 1) and job.status in ("done", "failed"):
            self._make_pending(job)  # a failed follow-up leaves the previous answer pending
        elif kept and wanted and job.turn > 1 and job.status == "cancelled":
            self._make_pending(job)
        elif job.reject_wanted:
            self.end(job, "rejected")
        else:
            self.end(job, "accepted" if job.status == "done" else job.status)

    def _make_pending(self, job: Job) -> None:
        job.review = "pending"
        job.region.reviewing = True
        job.region.restore_text = None
        job.region.restore_wanted = False
        job.region.restored = False
        job.region.replaced = True
        self.show(job)

    def end(self, job: Job, outcome: str, message: str | None = None) -> None:
        """Ends a job's review: its region is no longer tracked, its lenses go away."""
        _forget_region(job)
        if job.review in ("running", "pending"):
            job.review = "ended"
            job.outcome = outcome
            job.region.reviewing = False
            self.show(job, message)
            self.on_ended(job)

    def user_changed(self, job: Job, verdict: Verdict) -> None:
        """The user's change reached a pending job's region. Back to the original: an undo,
        the job ends. Anything else waits EDIT_GRACE for the verdict: an editor may report
        one undo in several didChange notifications (Neovim does), the first a partial one."""
        if job.review != "pending":
            return
        if verdict == "original":
            self.end(job, "undone")
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
        if job.review != "pending" or channel is None:
            return
        verdict = channel.review_verdict(job.region)
        if verdict == "original":
            self.end(job, "undone")
        elif verdict == "earlier":
            self.undo_between(job)
        elif verdict == "other":
            message = _(
                "AI: {title}: you edited the job's text, so it is kept as it is "
                "(accepted with your edits)."
            ).format(title=job.spec.action.label)
            self.end(job, "edited", message)
            self.port.show_message("info", message)

    def show(self, job: Job, message: str | None = None) -> None:
        """Sends the job's review state now (and asks for fresh lenses)."""
        params: dict[str, Any] = {
            "jobId": job.id,
            "uri": job.spec.uri,
            "status": job.review,
            "range": range_json(job.region.span),
            "original": job.region.original,
            "turn": job.turn,
        }
        if job.review == "ended":
            params["outcome"] = job.outcome
            self._last_sent.pop(job.id, None)
        else:
            self._last_sent[job.id] = (time.monotonic(), job.region.span)
        if message:
            params["message"] = message
        self.port.notify(REVIEW, params)
        self.changed()

    def streaming(self, job: Job) -> None:
        """Sends the running job's region at most every STREAM_INTERVAL, when it moved."""
        last = self._last_sent.get(job.id)
        now = time.monotonic()
        if last is not None and (now - last[0] < STREAM_INTERVAL or last[1] == job.region.span):
            return
        self.show(job)

    def changed(self) -> None:
        """Asks the client to fetch lenses again, once per turn of the event loop."""
        if not self.lens_refresh or self._refresh_soon:
            return
        self._refresh_soon = True
        asyncio.get_running_loop().call_soon(self._refresh)

    def _refresh(self) -> None:
        self._refresh_soon = False
        self.port.refresh_code_lenses()


def _forget_region(job: Job) -> None:
    if job.channel is not None:
        job.channel.remove(job.id)


def lenses(jobs: Iterable[Job], uri: str) -> list[Lens]:
    """Returns the lenses of a document's running and pending jobs, on each region's first
    line."""
    out: list[Lens] = []
    for job in jobs:
        if job.review not in ("running", "pending") or job.spec.uri != uri:
            continue
        line = job.region.span.start.line
        at = Span(Pos(line, 0), Pos(line, 0))
        argument = {"jobId": job.id}
        out.append(Lens(at, _("AI: Accept"), "gptLsp.accept", argument))
        out.append(Lens(at, _("AI: Reject"), "gptLsp.reject", argument))
        if job.review == "running":
            out.append(Lens(at, _("AI: Cancel"), "gptLsp.cancel", argument))
    return out


def review_offers(
    jobs: Iterable[Job], uri: str, span: Span, only: Sequence[str] | None = None
) -> list[Offer]:
    """Returns `AI: Accept edit` / `AI: Reject edit` for the job whose region holds the range's
    start (for editors without code lenses); the newest job first."""
    kind = "refactor.rewrite"
    if only and not any(kind_matches(kind, wanted) for wanted in only):
        return []
    for job in reversed(list(jobs)):
        if job.review not in ("running", "pending") or job.spec.uri != uri:
            continue
        if holds(job.region.span, span.start):
            argument = {"jobId": job.id}
            return [
                Offer(_("AI: Accept edit"), kind, argument, command="gptLsp.accept"),
                Offer(_("AI: Reject edit"), kind, argument, command="gptLsp.reject"),
            ]
    return []


def holds(span: Span, pos: Pos) -> bool:
    """True when a cursor at `pos` is in the region: a region of whole lines ends before the
    next line's first column; a cursor right after text at a line's end is still in it."""
    if span.is_empty:
        return pos == span.start
    return span.start <= pos < span.end or (pos == span.end and span.end.character > 0)
