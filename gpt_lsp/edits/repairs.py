"""Undoing our edits that landed where they do not belong (pure bookkeeping).

Neovim applies an edit to a never-changed buffer (version 0) unchecked, and coc.nvim checks an
edit against the version of its last report, not its buffer: both may apply our edit on top of
the user's typing at the positions it was sent with, now stale. Such an edit is undone by a
repair: "make the text at `target` be `text`". A misplaced edit that touches a repair still to
be sent (a misplaced repair, most often) joins it: the repair then covers both and puts back
the text from before either, so that no repair ever has to undo another. A job's region edge
that a misplaced edit covered is anchored in the repair's text: the repair puts it back there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from gpt_lsp.edits.region import JobRegion
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import (
    Conflict,
    Encoding,
    Pos,
    Span,
    end_after_insert,
    map_change,
    shift_after,
)

log = logging.getLogger(__name__)

MAX_REPAIRS = 64


Edge = Literal["start", "end"]


@dataclass
class Anchor:
    """A region's edge inside the text a misplaced edit replaced: `offset` characters into the
    repair's text, where it is again once the repair lands."""

    region: JobRegion
    edge: Edge
    offset: int


@dataclass
class Repair:
    """Replace the text at `target` with `text`."""

    target: Span
    text: str
    anchors: list[Anchor] = field(default_factory=list)


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

    def misplaced(
        self,
        doc: TextDoc,
        span: Span,
        text: str,
        encoding: Encoding,
        regions: Iterable[JobRegion] = (),
    ) -> list[JobRegion]:
        """Our edit replaced `span` of `doc` (as it is before the edit) with `text` where it
        does not belong: it joins a repair it touches, or gets one of its own. The edges of
        `regions` inside `span` are anchored in the repair's text. Returns the regions that
        lost an edge to a misplaced edit left undone (too many)."""
        edges = [
            (region, edge, pos)
            for region in regions
            for edge, pos in _edges(region)
            if span.start < pos < span.end
        ]
        end = end_after_insert(span.start, text, encoding)
        for repair in self.queue:
            target = repair.target
            if repair is self.sending or target.start > span.end or span.start > target.end:
                continue
            start, stop = min(target.start, span.start), max(target.end, span.end)
            before = doc.text_in(Span(start, target.start), encoding)
            after = doc.text_in(Span(target.end, stop), encoding)
            for anchor in repair.anchors:
                anchor.offset += len(before)
            for region, edge, pos in edges:
                if pos <= target.start:
                    offset = len(doc.text_in(Span(start, pos), encoding))
                elif pos >= target.end:
                    rest = doc.text_in(Span(target.end, pos), encoding)
                    offset = len(before) + len(repair.text) + len(rest)
                else:  # inside an edit misplaced before: its undo puts back what was there
                    offset = len(before)
                repair.anchors.append(Anchor(region, edge, offset))
            repair.text = before + repair.text + after
            repair.target = Span(start, shift_after(stop, span.end, end))
            self.moved(span, text, encoding, skip=repair)
            return []
        self.moved(span, text, encoding)
        if len(self.queue) < MAX_REPAIRS:
            anchors = [
                Anchor(region, edge, len(doc.text_in(Span(span.start, pos), encoding)))
                for region, edge, pos in edges
            ]
            self.queue.append(Repair(Span(span.start, end), doc.text_in(span, encoding), anchors))
            return []
        log.warning("too many misplaced edits to undo; one is left")
        return [region for region, _, _ in edges]


def _edges(region: JobRegion) -> tuple[tuple[Edge, Pos], tuple[Edge, Pos]]:
    return ("start", region.span.start), ("end", region.span.end)


def put_back_edges(repair: Repair, start: Pos, encoding: Encoding) -> None:
    """Puts the region edges anchored in a repair where the repair, now shown at `start`, put
    the text they were in."""
    for anchor in repair.anchors:
        region = anchor.region
        if region.conflict:
            continue
        pos = end_after_insert(start, repair.text[: anchor.offset], encoding)
        span = region.span
        if anchor.edge == "start":
            region.span = Span(pos, max(pos, span.end))
        else:
            region.span = Span(min(span.start, pos), pos)
