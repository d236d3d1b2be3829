"""Undoing our edits that landed where they do not belong (pure bookkeeping).

Neovim applies an edit to a never-changed buffer (version 0) unchecked, and coc.nvim checks an
edit against the version of its last report, not its buffer: both may apply our edit on top of
the user's typing at the positions it was sent with, now stale. Such an edit is undone by a
repair: "make the text at `target` be `text`". A misplaced edit that touches a repair still to
be sent (a misplaced repair, most often) joins it: the repair then covers both and puts back
the text from before either, so that no repair ever has to undo another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import (
    Conflict,
    Encoding,
    Span,
    end_after_insert,
    map_change,
    shift_after,
)

log = logging.getLogger(__name__)

MAX_REPAIRS = 64


@dataclass
class Repair:
    """Replace the text at `target` with `text`."""

    target: Span
    text: str


class Repairs:
    """The repairs of one document, in the order they go out."""

    def __init__(self) -> None:
        self.queue: list[Repair] = []
        self.sending: Repair | None = None  # the one in flight: it changes no more

    def __bool__(self) -> bool:
        return bool(self.queue)

    def first(self) -> Repair | None:
        """The repair to send next (or in flight)."""
        return self.queue[0] if self.queue else None

    def done(self, repair: Repair) -> None:
        """A repair the document now shows, or one given up."""
        if repair in self.queue:
            self.queue.remove(repair)
        if self.sending is repair:
            self.sending = None

    def moved(self, span: Span, text: str, encoding: Encoding, skip: Repair | None = None) -> None:
        """Maps the targets (but `skip`'s) through a change that is no misplaced edit of ours;
        a target it touches is given up (the user edited a misplaced edit before its undo)."""
        for repair in list(self.queue):
            if repair is skip:
                continue
            target = map_change(repair.target, span, text, encoding)
            if not isinstance(target, Conflict):
                repair.target = target
            elif repair is not self.sending:
                log.warning("the user edited a misplaced edit before it was undone")
                self.queue.remove(repair)

    def misplaced(self, doc: TextDoc, span: Span, text: str, encoding: Encoding) -> None:
        """Our edit replaced `span` of `doc` (as it is before the edit) with `text` where it
        does not belong: it joins a repair it touches, or gets one of its own."""
        end = end_after_insert(span.start, text, encoding)
        for repair in self.queue:
            target = repair.target
            if repair is self.sending or target.start > span.end or span.start > target.end:
                continue
            start, stop = min(target.start, span.start), max(target.end, span.end)
            before = doc.text_in(Span(start, target.start), encoding)
            after = doc.text_in(Span(target.end, stop), encoding)
            repair.text = before + repair.text + after
            repair.target = Span(start, shift_after(stop, span.end, end))
            self.moved(span, text, encoding, skip=repair)
            return
        self.moved(span, text, encoding)
        if len(self.queue) < MAX_REPAIRS:
            self.queue.append(Repair(Span(span.start, end), doc.text_in(span, encoding)))
        else:
            log.warning("too many misplaced edits to undo; one is left")
