"""A job's region of a document and the edits it sends (pure bookkeeping, no I/O)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gpt_lsp.edits.history import WrittenStates
from gpt_lsp.text.regions import Conflict, Encoding, Span, end_after_insert, map_change

EditKind = Literal["first", "append", "rewrite", "restore", "repair"]
# The editor refused the job's edits with no change of its own to explain it (a read-only
# document, a version the server never saw): "edits" stops the job's text (a restore is still
# tried), "all" stops the restore too.
Refused = Literal["no", "edits", "all"]
# What a pending job's region shows after the user's change (DocumentChannel.review_verdict).
Verdict = Literal["original", "earlier", "current", "other"]


@dataclass
class JobRegion:
    """A job's side of a document: where its text is and what still has to be written."""

    job_id: str
    span: Span
    original: str
    replaced: bool = False
    pending: list[str] = field(default_factory=list)
    rewrite_text: str | None = None  # replaces the region's text, before `pending` follows
    restore_wanted: bool = False
    restored: bool = False
    conflict: bool = False
    conflict_reason: str | None = None  # why the job stopped, when it was not the user's edit
    in_flight: bool = False
    lost_in_a_row: int = 0
    refusals: int = 0  # edits refused in a row with no change of the editor's to explain it
    refused: Refused = "no"
    stream_ended: bool = False  # nothing more will come: send the rest without batching
    on_conflict: Callable[[], None] = lambda: None
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    # Pending review: the job is done, its text awaits accept / reject / refine / undo.
    reviewing: bool = False
    touched: bool = False  # a user change reached the region in the current didChange
    abutted: bool = False  # ... or only its edges
    lost_track: bool = False  # a user change over the region that cannot be followed
    on_review_change: Callable[[Verdict], None] = lambda verdict: None
    restore_text: str | None = None  # what a failed follow-up turn puts back (else original)
    written: WrittenStates = field(default_factory=WrittenStates)  # every state it showed

    def write(self, text: str) -> None:
        """Queues text to append to the job's region."""
        if text and not self.conflict and self.refused == "no":
            self.pending.append(text)
            self.settled.clear()

    def rewrite(self, text: str) -> None:
        """Queues a correction: the region's whole text becomes `text` (appends follow)."""
        if not self.conflict and self.refused == "no":
            self.rewrite_text = text
            self.pending.clear()
            self.settled.clear()

    def is_conflicted(self) -> bool:
        """True once a user edit touched the region (read fresh after awaits)."""
        return self.conflict

    def _due(self) -> EditKind | None:
        """The kind of the edit `next_edit` would take now, or None: one rule for both, so
        that the sender never sees work it cannot take (a busy loop)."""
        if self.conflict or self.refused == "all":
            return None
        if self.restore_wanted:
            return "restore" if self.replaced and not self.restored else None
        if self.refused != "no":
            return None
        if self.rewrite_text is not None:
            return "rewrite" if self.replaced else "first"
        if self.pending:
            return "append" if self.replaced else "first"
        return None

    def has_work(self) -> bool:
        """True when an edit is waiting to be sent."""
        return not self.in_flight and self._due() is not None

    def next_edit(self) -> tuple[EditKind, Span, str] | None:
        """Takes the next edit to send."""
        kind = self._due()
        if kind is None:
            return None
        if kind == "restore":
            text = self.original if self.restore_text is None else self.restore_text
            return kind, self.span, text
        text = "".join(self.pending)
        self.pending.clear()
        if self.rewrite_text is not None:
            text, self.rewrite_text = self.rewrite_text + text, None
            return kind, self.span, text
        if kind == "first":
            return kind, self.span, text
        return kind, Span(self.span.end, self.span.end), text

    def confirm(self, kind: EditKind, span: Span, text: str, encoding: Encoding) -> None:
        """Records an edit the document now shows."""
        self.lost_in_a_row = self.refusals = 0
        if kind == "repair":
            return
        end = end_after_insert(span.start, text, encoding)
        if kind == "first":
            self.replaced = True
        elif kind == "restore":
            self.restored = True
        self.span = Span(self.span.start, end)
        if kind == "append":
            self.written.appended(text)
        else:
            self.written.replaced(text)

    def retract(self, kind: EditKind, before: Span, where: Span, text: str, enc: Encoding) -> None:
        """Takes back an insertion confirmed from the user's same insertion at the same place
        (the region was `before`): the region moves as with the user's change (before an
        empty region, after a region's end); `lose` then queues the text again."""
        mapped = map_change(before, where, text, enc)
        self.span = before if isinstance(mapped, Conflict) else mapped
        self.replaced = self.replaced and kind != "first"
        self.written.retract()

    def lose(self, kind: EditKind, text: str) -> None:
        """Puts back an edit the client did not apply, to be sent again."""
        self.lost_in_a_row += 1
        if self.conflict:
            return
        if self.rewrite_text is not None:
            return  # a later correction replaces whatever the lost edit wrote
        if kind == "rewrite":
            self.rewrite_text = text
        elif kind in ("first", "append"):
            self.pending.insert(0, text)

    def refuse(self, kind: EditKind, limit: int) -> bool:
        """Counts an edit the editor refused for no reason it showed; the `limit`-th in a row
        stops the job's text ("edits": the job fails, a restore is still tried), or, when the
        restore is refused too, everything ("all"). True when the limit was reached."""
        self.refusals += 1
        if self.refusals < limit:
            return False
        self.refusals = 0
        if kind != "repair":
            self.pending.clear()
            self.rewrite_text = None
            self.refused = "all" if kind == "restore" or self.refused != "no" else "edits"
        return True

    def label(self, kind: EditKind) -> str:
        """An edit's label: one per job for its text, so a shim can join a job's edits into
        one undo step and keep a restore (or a repair) apart."""
        if kind == "repair":
            return "gpt-lsp repair"
        suffix = " restore" if kind == "restore" else ""
        return f"gpt-lsp {self.job_id}{suffix}"

    def is_idle(self) -> bool:
        """True when nothing is pending or in flight."""
        return not self.in_flight and self._due() is None

    def update_settled(self) -> None:
        """Wakes whoever waits for this tracked to go idle."""
        if self.is_idle():
            self.settled.set()
        else:
            self.settled.clear()


@dataclass
class SentEdit:
    """An applyEdit the client has not yet confirmed or refused."""

    tracked: JobRegion
    kind: EditKind
    span: Span
    text: str
    version: int
    confirmed: bool | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    overtaken: asyncio.Event = field(default_factory=asyncio.Event)  # a user change came first
    answer: bool | None = None  # the client's answer: applied or refused (None: no answer)
    # The region's span before the change taken for this edit, the change's place, and the
    # region's span after it (None: no change was taken for it).
    taken: tuple[Span, Span, Span] | None = None

    def settle(self, confirmed: bool) -> None:
        """Marks the edit as shown in the document or not applied."""
        if self.confirmed is None:
            self.confirmed = confirmed
            self.done.set()

    def may_show(self) -> bool:
        """False when no client can still show the edit: it refused it, or a user change came
        before it and the client answered (coc.nvim shows the edit before its answer; VS Code
        and eglot refuse a stale edit, Neovim skips it but for one sent at version 0, which it
        applies unchecked)."""
        if self.answer is None:
            return True
        return self.answer and not (self.overtaken.is_set() and self.version != 0)

    def retract(self, encoding: Encoding) -> None:
        """The client refused the edit after a change was taken for it: that was the user's,
        the same text at the same place. An insertion is then taken back, to go out again
        (the user's text stays theirs); any other edit's text is where it belongs."""
        tracked, taken = self.tracked, self.taken
        insertion = self.kind in ("first", "append") and self.span.is_empty
        if insertion and taken is not None and tracked.span == taken[2] and not tracked.conflict:
            tracked.retract(self.kind, taken[0], taken[1], self.text, encoding)
            self.confirmed = False
