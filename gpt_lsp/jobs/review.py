"""What the client is shown of jobs under review: gptLsp/review notifications and code lenses.

A code job's review is `running`, then `pending` once done (its text awaits accept, reject,
refine or undo), then `ended` (jobs/state.py has the phases behind these words). Shims draw the
original beside the region from the notifications; the lenses and code actions are for every
client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gpt_lsp.i18n import _
from gpt_lsp.jobs.job import Job
from gpt_lsp.port import ClientPort
from gpt_lsp.prompting.offers import Offer, kind_matches, range_json
from gpt_lsp.text.regions import Pos, Span

REVIEW = "gptLsp/review"
STREAM_INTERVAL = 0.2  # seconds between review notifications while a job streams


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

    def show(self, job: Job, message: str | None = None) -> None:
        """Sends the job's review state now (and asks for fresh lenses)."""
        params: dict[str, Any] = {
            "jobId": job.id,
            "uri": job.spec.uri,
            "status": job.review,
            "range": range_json(job.region.span),
            "original": job.region.original,
            "turn": len(job.turns),
        }
        if job.review == "ended":
            params["outcome"] = job.state.outcome
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
