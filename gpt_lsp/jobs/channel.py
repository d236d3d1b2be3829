"""Streams jobs' text into a document safely.

One `DocumentChannel` per document serialises edits: one `workspace/applyEdit` in flight,
sent with the document version the server last saw, batched every `interval` seconds.
An edit counts as written only when the client's `didChange` shows it: the first content
changes after a send either have together the effect of ours (clients report a minimal diff,
VS Code in several changes) or the first is the user's, and then the client cannot have applied
ours (its version had moved on), whatever `applied` said. An edit the client said it applied is
never sent again before a didChange proves it lost. User changes are mapped onto every job's
region; one that touches a region (in every equivalent form) is a conflict. Neovim applies
edits to a never-changed buffer (version 0) unchecked: such an edit found after the user's
change is undone and written again at the right place. An edit refused with no change of the
editor's to explain it (a read-only document) is tried a few times, then the job stops; the
sender never loops without awaiting, so nothing a client does can hold the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from gpt_lsp.i18n import N_
from gpt_lsp.jobs.region import EditKind, JobRegion, SentEdit, Verdict
from gpt_lsp.jobs.verdict import knows, review_verdict
from gpt_lsp.text.changes import (
    follow_in_review,
    matching_prefix,
    slide_into,
    slide_out,
)
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import (
    Conflict,
    Encoding,
    Pos,
    Span,
    diff_change,
    end_after_insert,
    map_change,
)

log = logging.getLogger(__name__)

ApplyEdit = Callable[[str, int, Span, str, str], Awaitable[bool]]

APPLY_TIMEOUT = 10.0  # seconds for the client to answer applyEdit
# Seconds to wait for the didChange that shows an edit the client said it applied. Never
# re-send such an edit on a timeout: Neovim holds didChange back while the user types, and a
# second copy would land on top of the first. Only a didChange without it proves it lost.
UNCONFIRMED_TIMEOUT = 30.0
RESYNC_TIMEOUT = 1.0  # seconds to wait for the user's change after a rejected edit
MAX_LOST_IN_A_ROW = 200  # edits lost to the user's changes in a row (each one explained)
# Edits refused in a row with no change of the editor's to explain them: the editor will not
# take them (VS Code: a read-only document, a version it no longer has), so the job stops.
MAX_REFUSED = 3
MAX_QUIET_ROUNDS = 100  # sender rounds in a row without an edit sent: a bug, never a spin


class DocumentChannel:
    """Edits to one document: batched, one in flight, confirmed from didChange."""

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
        self._changes_since_send = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send = 0.0
        self._turn = 0
        self._user_change = asyncio.Event()
        # An edit sent at version 0 that the user's change overtook: Neovim applies version-0
        # edits unchecked, so it may still show up later in the same batch, misplaced.
        self._suspect: SentEdit | None = None
        self._repairs: list[tuple[Span, str]] = []
        self._repairer = JobRegion("<repair>", Span(Pos(0, 0), Pos(0, 0)), "")

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
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for tracked in self.regions.values():
            tracked.settled.set()

    # ------------------------------------------------------------ changes from the client

    def apply_changes(self, changes: Sequence[tuple[Span | None, str]], version: int) -> None:
        """Takes one didChange: sees each content change, then applies it to `self.doc`.

        Clients report an applied edit as the minimal diff, sometimes split in several
        changes (VS Code) or merged with the user's (Neovim): the first changes after a send
        that together have the effect of our edit are ours; the rest are the user's.
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
            rest = changes[index:]
            sent = self.in_flight
            if sent is not None and sent.confirmed is None:
                first = self._changes_since_send == 0
                ours = matching_prefix(self.doc, rest, sent.span, sent.text, self.encoding)
                if first and ours:
                    log.debug("edit confirmed: %s (%d changes)", sent.kind, ours)
                    sent.settle(True)
                    sent.tracked.confirm(sent.kind, sent.span, sent.text, self.encoding)
                    if sent.kind == "repair" and self._repairs:
                        self._repairs.pop(0)
                    # Our edit moves the regions of the document's other jobs like any change.
                    self._map_others(sent.span, sent.text, skip=sent.tracked)
                    self._apply(rest[:ours])
                    self._changes_since_send += ours
                    index += ours
                    continue
                # The user's change came first: the client will not apply ours any more.
                log.debug("edit lost to a user change (first=%s)", first)
                self._changes_since_send += 1
                sent.settle(False)
                if sent.version == 0 and sent.kind != "repair":
                    self._suspect = sent
            elif self._suspect is not None:
                suspect = self._suspect
                ours = matching_prefix(self.doc, rest, suspect.span, suspect.text, self.encoding)
                if ours:
                    self._misapplied(suspect)
                    self._apply(rest[:ours])
                    index += ours
                    continue
            self._user_change.set()
            self._map_others(span, text, skip=None)
            self._apply([(span, text)])
            index += 1
        self.doc.version = version
        self._suspect = None  # a suspect edit that did not show up in its batch was not applied
        self._settle_reviews()

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
        """What a pending job's region shows now (see jobs/verdict.py)."""
        return review_verdict(self.doc, tracked, self.encoding)

    def _apply(self, changes: Sequence[tuple[Span | None, str]]) -> None:
        for span, text in changes:
            self.doc.apply(span, text, self.encoding)

    def _misapplied(self, sent: SentEdit) -> None:
        """Our version-0 edit landed after the user's change, at stale positions: regions move
        with it like with any change, and an undo (put back what it replaced) goes out first.
        The job's text was queued again when the user's change overtook the edit."""
        self._suspect = None
        replaced = self.doc.text_in(sent.span, self.encoding)
        end = end_after_insert(sent.span.start, sent.text, self.encoding)
        log.warning("an edit was applied at a stale position (version 0); undoing it")
        self._map_others(sent.span, sent.text, skip=None)
        if sent.tracked.conflict and sent.tracked.conflict_reason is None:
            sent.tracked.conflict_reason = N_(
                "The editor applied an edit after your typing, at a stale position inside the "
                "job's region: it was undone and the job stopped."
            )
        self._repairs.append((Span(sent.span.start, end), replaced))
        self.poke()

    def _map_others(self, span: Span, text: str, skip: JobRegion | None) -> None:
        """Maps a change onto every region but `skip`'s; one it touches is a conflict."""
        repairs = []
        for target, replacement in self._repairs:
            moved = map_change(target, span, text, self.encoding)
            if isinstance(moved, Conflict):
                log.warning("the user edited a misplaced edit before it was undone")
            else:
                repairs.append((moved, replacement))
        self._repairs = repairs
        for tracked in list(self.regions.values()):
            if tracked.conflict or tracked is skip:
                continue
            mapped = map_change(tracked.span, span, text, self.encoding)
            if isinstance(mapped, Conflict):
                # Clients report the minimal diff, which may put a change made beside the
                # region inside it when the text there repeats: try the equivalent forms.
                outside = slide_out(self.doc, span, text, tracked.span, self.encoding)
                if outside is not None:
                    mapped = map_change(tracked.span, outside[0], outside[1], self.encoding)
            edge = span.start == tracked.span.end or span.end == tracked.span.start
            if tracked.reviewing and edge:
                tracked.abutted = True  # maybe an undo putting the original back at the edge
            if isinstance(mapped, Conflict) and tracked.reviewing:
                inside = slide_into(self.doc, span, text, tracked.span, self.encoding)
                change, change_text = inside or (span, text)
                followed = follow_in_review(
                    self.doc,
                    tracked.span,
                    partial(knows, tracked),
                    change,
                    change_text,
                    self.encoding,
                )
                tracked.touched = True
                if followed is None:
                    tracked.lost_track = True
                else:
                    tracked.span = followed
            elif isinstance(mapped, Conflict):
                tracked.conflict = True
                tracked.pending.clear()
                tracked.update_settled()
                tracked.on_conflict()
            else:
                tracked.span = mapped

    # ------------------------------------------------------------ sending

    def _next_writer(self) -> JobRegion | None:
        if self._repairs and not self._repairer.in_flight:
            return self._repairer
        regions = [w for w in self.regions.values() if w.has_work()]
        if not regions:
            return None
        self._turn = (self._turn + 1) % len(regions)
        return regions[self._turn]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        quiet = 0  # rounds in a row that sent nothing
        while True:
            tracked = self._next_writer()
            if tracked is None:
                self._wake.clear()
                if not any(not w.is_idle() for w in self.regions.values()):
                    return
                await self._wake.wait()
                continue
            if tracked is self._repairer:
                await self._send_repair()
                quiet = 0
                continue
            delay = self._last_send + self.interval - loop.time()
            if delay > 0 and not tracked.stream_ended and not tracked.restore_wanted:
                # Batching: text keeps arriving while we wait, and goes out in one edit.
                await asyncio.sleep(delay)
                if not tracked.has_work():
                    continue
            if await self._send(tracked):
                quiet = 0
                continue
            # Every round awaits: a region that keeps offering work it does not send must
            # never hold the event loop (nothing else would be answered, not even shutdown).
            quiet += 1
            await asyncio.sleep(0)
            if quiet >= MAX_QUIET_ROUNDS:
                log.error("job %s: edits offered but never sent; stopping them", tracked.job_id)
                self._give_up(tracked, N_("gpt-lsp could not send the job's edits: it stopped."))
                quiet = 0

    async def _send_repair(self) -> None:
        # The first repair stays listed (so user changes keep mapping it) until confirmed.
        span, text = self._repairs[0]
        confirmed = await self._send_edit(self._repairer, "repair", span, text)
        if not confirmed and self._repairer.lost_in_a_row >= MAX_LOST_IN_A_ROW and self._repairs:
            log.warning("could not undo a misplaced edit")
            self._repairs.pop(0)

    async def _send(self, tracked: JobRegion) -> bool:
        """Sends the region's next edit; False when nothing went to the client."""
        edit = tracked.next_edit()
        if edit is None:
            tracked.update_settled()
            return False
        kind, span, text = edit
        if self.doc.text_in(span, self.encoding) == text:
            # The text is already there: a no-op edit would get no didChange to confirm it.
            tracked.confirm(kind, span, text, self.encoding)
            tracked.update_settled()
            return False
        await self._send_edit(tracked, kind, span, text)
        return True

    async def _send_edit(self, tracked: JobRegion, kind: EditKind, span: Span, text: str) -> bool:
        """Sends one edit and waits until it is confirmed or known lost."""
        sent = SentEdit(tracked, kind, span, text, self.doc.version)
        self.in_flight = sent
        tracked.in_flight = True
        self._changes_since_send = 0
        self._user_change.clear()
        self._last_send = asyncio.get_running_loop().time()
        self.edits_sent += 1
        log.debug("send %s v%d %s +%d chars", kind, self.doc.version, span, len(text))
        try:
            applied = await asyncio.wait_for(
                self.apply_edit(self.doc.uri, self.doc.version, span, text, _label(tracked, kind)),
                APPLY_TIMEOUT,
            )
        except asyncio.TimeoutError:
            applied = False
        except asyncio.CancelledError:
            sent.settle(False)
            raise
        except Exception as exc:  # noqa: BLE001 - a broken client answer means "not applied"
            log.warning("applyEdit failed: %s", type(exc).__name__)
            applied = False
        log.debug("applyEdit answered applied=%s", applied)
        unknown = unexplained = False
        try:
            if applied:
                await _wait(sent.done, UNCONFIRMED_TIMEOUT)
                unknown = sent.confirmed is None
            elif sent.confirmed is None:
                # Refused: the client has a change we have not seen; wait for it briefly.
                await _wait(self._user_change, RESYNC_TIMEOUT)
                unexplained = not self._user_change.is_set()
        finally:
            sent.settle(False)
            self.in_flight = None
            tracked.in_flight = False
            if unknown:
                self._give_up(
                    tracked, N_("The editor never reported the job's edit: the job stopped.")
                )
            elif not sent.confirmed:
                tracked.lose(kind, text)
                if unexplained:
                    self._refused(tracked, kind)
                elif tracked.lost_in_a_row >= MAX_LOST_IN_A_ROW:
                    self._give_up(tracked, N_("The editor kept refusing the job's edits."))
            tracked.update_settled()
        return bool(sent.confirmed)

    def _refused(self, tracked: JobRegion, kind: EditKind) -> None:
        """Counts an edit the editor refused for no reason it showed; a few in a row stop the
        job's text (the job fails), or, for a restore or a repair, stop trying."""
        tracked.refusals += 1
        log.warning("the editor refused an edit (%s, %d in a row)", kind, tracked.refusals)
        if tracked.refusals < MAX_REFUSED:
            return
        tracked.refusals = 0
        if kind == "repair":
            if self._repairs:
                self._repairs.pop(0)
            return
        tracked.pending.clear()
        tracked.rewrite_text = None
        if kind == "restore" or tracked.refused != "no":
            tracked.refused = "all"
        else:
            tracked.refused = "edits"
            tracked.on_conflict()  # stops the job's stream; the job fails and restores

    def _give_up(self, tracked: JobRegion, reason: str) -> None:
        log.warning("job %s: %s", tracked.job_id, reason)
        tracked.conflict = True
        tracked.conflict_reason = reason
        tracked.pending.clear()
        tracked.on_conflict()


def _label(tracked: JobRegion, kind: EditKind) -> str:
    """The edit's label: one per job for its text, so a shim can join a job's edits into one
    undo step and keep a restore (or a repair) apart."""
    if kind == "repair":
        return "gpt-lsp repair"
    suffix = " restore" if kind == "restore" else ""
    return f"gpt-lsp {tracked.job_id}{suffix}"


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
