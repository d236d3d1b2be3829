"""Streams jobs' text into a document safely.

One `DocumentChannel` per document serialises edits: one `workspace/applyEdit` in flight,
sent with the document version the server last saw, batched every `interval` seconds.
An edit counts as written only when the client's `didChange` shows it (clients report an
applied edit as the minimal diff, VS Code in several changes). An edit the client said it
applied is never sent again while it may still show: when the user's change comes first,
the edit is looked for where it belongs now and where it was sent. coc.nvim reports the
user's keystrokes first and then our edit, applied on top of them (at its positions as sent:
stale when the typing was above it), all before its answer; after the answer, a change like
an edit a user change overtook is the user's (VS Code and eglot refuse a stale edit, Neovim
skips it yet answers applied), but for an edit sent at version 0, which Neovim applies
unchecked: it is given up after SUSPECT_WAIT and written again, and undone if it shows after
all. An edit found at stale positions (Neovim applies version-0 edits unchecked, coc any) is
undone by a repair and its text written again at the right place. User changes are mapped
onto every job's region; one that touches a region (in every equivalent form) is a conflict.
An edit refused with no change of the editor's to explain it (a read-only document) is tried
a few times, then the job stops; the sender never loops without awaiting, so nothing a
client does can hold the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from gpt_lsp.edits.mapping import Author, move_region
from gpt_lsp.edits.region import JobRegion, SentEdit, Verdict
from gpt_lsp.edits.repairs import Repair, Repairs, put_back_edges
from gpt_lsp.edits.sender import ApplyEdit, Sender
from gpt_lsp.edits.verdict import review_verdict
from gpt_lsp.i18n import N_
from gpt_lsp.text.changes import (
    matching_prefix,
)
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import (
    Encoding,
    Pos,
    Span,
    diff_change,
)

log = logging.getLogger(__name__)

Change = tuple[Span | None, str]


class DocumentChannel:
    """Edits to one document: regions tracked, edits confirmed from didChange."""

    def __init__(
        self,
        doc: TextDoc,
        apply_edit: ApplyEdit,
        encoding: Encoding,
        *,
        interval: float = 0.03,
    ) -> None:
        self.doc = doc
        self.apply_edit = apply_edit
        self.encoding = encoding
        self.interval = interval
        self.regions: dict[str, JobRegion] = {}
        self.in_flight: SentEdit | None = None
        self.edits_sent = 0
        self.closed = False
        self.user_change = asyncio.Event()
        # Edits the client said it applied, given up as lost after a user change came first
        # (Neovim skips a stale edit yet answers applied): one that shows up after all is undone.
        self.strays: list[SentEdit] = []
        self.repairs = Repairs()
        self.repairer = JobRegion("<repair>", Span(Pos(0, 0), Pos(0, 0)), "")
        self._sender = Sender(self)

    # ------------------------------------------------------------ regions

    def add(self, tracked: JobRegion) -> None:
        """Tracks a job's region in this document."""
        self.regions[tracked.job_id] = tracked

    def remove(self, job_id: str) -> None:
        """Stops tracking a job's region."""
        self.regions.pop(job_id, None)

    def poke(self) -> None:
        """Says a tracked has something to send."""
        if self.closed:
            return  # never edit a document the editor closed: it may open it from disk
        self._sender.poke()

    async def wait_idle(self, tracked: JobRegion) -> None:
        """Waits until everything the tracked queued is in the document (or given up)."""
        tracked.update_settled()
        if self.closed:
            return
        if not tracked.is_idle():
            self.poke()
        await tracked.settled.wait()

    async def close(self) -> None:
        """Stops the sender task; nothing is sent to the document any more."""
        self.closed = True
        await self._sender.stop()
        for tracked in self.regions.values():
            tracked.settled.set()

    # ------------------------------------------------------------ changes from the client

    def apply_changes(self, changes: Sequence[tuple[Span | None, str]], version: int) -> None:
        """Takes one didChange: sees each content change, then applies it to `self.doc`.

        Clients report an applied edit as the minimal diff, sometimes split in several
        changes (VS Code): the changes that together have the effect of our edit are ours;
        the others are the user's. The user's may come first: coc.nvim reports the typing it
        had not yet reported, then our edit applied on top of it.
        """
        index = 0
        for _ in range(len(changes) + 1):  # each round consumes at least one change
            if index >= len(changes):
                break
            span, text = changes[index]
            if span is None:
                # A client without incremental sync: the whole text becomes one range change.
                span, text = diff_change(self.doc.source, text, self.encoding)
                changes = [*changes[:index], (span, text), *changes[index + 1 :]]
            taken = self._ours(changes[index:])
            if taken:
                index += taken
                continue
            sent = self.in_flight
            if sent is not None and sent.confirmed is None and not sent.overtaken.is_set():
                # Ours may still come (coc.nvim, on top of this change), or never (Neovim
                # skipped it as stale, yet answered applied): it is in doubt until then.
                log.debug("a user change came before the edit (%s)", sent.kind)
                sent.overtaken.set()
            self.user_change.set()
            self._map_others(span, text, skip=None, by="user")
            self._apply([(span, text)])
            index += 1
        self.doc.version = version
        self._settle_reviews()

    def _ours(self, rest: Sequence[Change]) -> int:
        """Takes the first changes when they are an edit of ours; returns how many (0: the
        first change is the user's). An edit a user change overtook is looked for where it
        belongs now and where it was sent (a client applying it at stale positions); an edit
        given up as lost that shows up after all is undone (its text was queued again)."""
        sent = self.in_flight
        if sent is not None and sent.confirmed is None and sent.may_show():
            now, stale = self._places(sent)
            if now is not None and (ours := self._shows(rest, now, sent.text)):
                self._confirm(sent, now, rest[:ours])
                return ours
            if stale is not None and (ours := self._shows(rest, stale, sent.text)):
                sent.settle(False)  # queued again by _send_edit (a repair stays listed)
                if sent.kind == "repair":
                    self.repairs.sending = None  # ... and takes its misplaced copy in
                self._misapplied(sent, stale, rest[:ours])
                return ours
        for stray in self.strays:
            for where in self._places(stray):
                if where is not None and (ours := self._shows(rest, where, stray.text)):
                    self.strays.remove(stray)
                    self._misapplied(stray, where, rest[:ours])
                    return ours
        return 0

    def _shows(self, rest: Sequence[Change], span: Span, text: str) -> int:
        return matching_prefix(self.doc, rest, span, text, self.encoding)

    def _places(self, sent: SentEdit) -> tuple[Span | None, Span | None]:
        """Where an edit may be: where it was sent until a user change overtakes it; then
        where it belongs now (its region moved with the change) and where it was sent, when
        that differs (a stale position)."""
        if not sent.overtaken.is_set():
            return sent.span, None
        now: Span | None = None
        if sent.kind == "repair":
            now = self.repairs.sending.target if self.repairs.sending else None
        elif not sent.tracked.conflict:
            end = sent.tracked.span.end
            now = Span(end, end) if sent.kind == "append" else sent.tracked.span
        stale = None if sent.span == now else sent.span
        return now, stale

    def _confirm(self, sent: SentEdit, where: Span, changes: Sequence[Change]) -> None:
        log.debug("edit confirmed: %s (%d changes)", sent.kind, len(changes))
        sent.settle(True)
        before = sent.tracked.span
        sent.tracked.confirm(sent.kind, where, sent.text, self.encoding)
        sent.taken = before, where, sent.tracked.span
        repair = self.repairs.sending if sent.kind == "repair" else None
        if repair is not None:
            self.repairs.done(repair)
        # Our edit moves the regions of the document's other jobs like any change.
        by: Author = "misplaced" if sent.kind == "repair" else "job"
        self._map_others(where, sent.text, skip=sent.tracked, by=by)
        if repair is not None:
            put_back_edges(repair, where.start, self.encoding)
        self._apply(changes)
        # Clients apply edits in order: an edit given up before this one can no longer show.
        self.strays.clear()

    def _settle_reviews(self) -> None:
        """Tells each pending job the user's changes reached what its region shows now: the
        original (an undo), a text the job wrote earlier (an undo landing between its states),
        or the user's own edits."""
        for tracked in [t for t in self.regions.values() if t.touched or t.abutted]:
            touched, tracked.touched, tracked.abutted = tracked.touched, False, False
            verdict = self.review_verdict(tracked)
            if verdict in ("original", "earlier") or (touched and verdict == "other"):
                tracked.on_review_change(verdict)

    def review_verdict(self, tracked: JobRegion) -> Verdict:
        """What a pending job's region shows now (see edits/verdict.py)."""
        return review_verdict(self.doc, tracked, self.encoding)

    def _apply(self, changes: Sequence[tuple[Span | None, str]]) -> None:
        for span, text in changes:
            self.doc.apply(span, text, self.encoding)

    def _misapplied(self, sent: SentEdit, where: Span, changes: Sequence[Change]) -> None:
        """Our edit landed where it no longer belongs (at stale positions, after the user's
        change), or after it was given up: regions move with it like with any change, and an
        undo (put back what it replaced) goes out first. Its text is queued again already."""
        # Where the client put it: a stale position past a line's end means the line's end.
        where = Span(
            self.doc.clamp(where.start, self.encoding), self.doc.clamp(where.end, self.encoding)
        )
        log.warning("an edit landed where it no longer belongs; undoing it")
        # A region's edge it covers is lost until the undo puts the text back: anchored there.
        live = [tracked for tracked in self.regions.values() if not tracked.conflict]
        for tracked in self.repairs.misplaced(self.doc, where, sent.text, self.encoding, live):
            self.give_up(tracked, N_("The editor kept refusing the job's edits."))
        self._map_regions(where, sent.text, skip=None, by="misplaced")
        self._apply(changes)
        self.poke()

    def drop_repair(self, repair: Repair) -> None:
        """Gives up a repair: the regions with an edge in it lost their place."""
        self.repairs.done(repair)
        for anchor in repair.anchors:
            if not anchor.region.conflict:
                self.give_up(anchor.region, N_("The editor kept refusing the job's edits."))

    def _map_others(self, span: Span, text: str, skip: JobRegion | None, *, by: Author) -> None:
        """Maps a change onto every repair and every region but `skip`'s."""
        self.repairs.moved(span, text, self.encoding)
        self._map_regions(span, text, skip, by=by)

    def _map_regions(self, span: Span, text: str, skip: JobRegion | None, *, by: Author) -> None:
        """Maps a change onto every region but `skip`'s (edits/mapping.py)."""
        for tracked in list(self.regions.values()):
            if not tracked.conflict and tracked is not skip:
                move_region(self.doc, tracked, span, text, self.encoding, by=by)

    def give_up(self, tracked: JobRegion, reason: str) -> None:
        log.warning("job %s: %s", tracked.job_id, reason)
        tracked.conflict = True
        tracked.conflict_reason = reason
        tracked.pending.clear()
        tracked.on_conflict()
