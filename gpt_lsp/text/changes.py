"""Change algebra: how the changes a client reports relate to an edit the server sent (pure).

Clients report an applied edit as the minimal diff, sometimes split in several changes
(VS Code 1.139, last first) or merged with the user's typing (Neovim). `matching_prefix`
recognises the changes that together have the effect of an edit; `slide_out` finds the
equivalent form of an insertion or deletion over repeated text that lies outside a region.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import (
    Encoding,
    Pos,
    Span,
    end_after_insert,
    offset_at,
    pos_at,
    shift_after,
)

MAX_SPLIT = 64  # changes one applied edit may be reported as


def matching_prefix(
    doc: TextDoc,
    changes: Sequence[tuple[Span | None, str]],
    span: Span,
    text: str,
    encoding: Encoding,
) -> int:
    """Returns k when the first k changes, applied to `doc` in order, have the same effect as
    replacing `span` with `text`; else 0. Works on the few lines involved, not the document."""
    if not changes:
        return 0
    first_span, first_text = changes[0]
    if first_span == span and first_text == text:
        return 1
    candidates = [c for c in changes[:MAX_SPLIT] if c[0] is not None]
    if len(candidates) < min(len(changes), MAX_SPLIT):
        return 0  # a whole-document change among them: not an edit of ours
    top = min([span.start.line] + [c[0].start.line for c in candidates])  # type: ignore[union-attr]
    grow = _breaks(text) + sum(_breaks(t) for _, t in candidates)
    bottom = max([span.end.line] + [c[0].end.line for c in candidates])  # type: ignore[union-attr]
    bottom = min(len(doc.lines) - 1, bottom + grow + 1)
    if top < 0 or top > bottom:
        return 0
    window = "".join(doc.lines[top : bottom + 1])
    expected = TextDoc(doc.uri, window)
    expected.apply(_shift_up(span, top), text, encoding)
    wanted = expected.source
    scratch = TextDoc(doc.uri, window)
    for count, (change, change_text) in enumerate(candidates, start=1):
        assert change is not None
        local = _shift_up(change, top)
        if local.start.line < 0 or local.end.line >= len(scratch.lines):
            return 0
        scratch.apply(local, change_text, encoding)
        if len(scratch.lines) == len(expected.lines) and scratch.source == wanted:
            return count
    return 0


def _shift_up(span: Span, lines: int) -> Span:
    return Span(
        Pos(span.start.line - lines, span.start.character),
        Pos(span.end.line - lines, span.end.character),
    )


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


MAX_SLIDE = 256


def slide_out(
    doc: TextDoc, span: Span, text: str, region: Span, encoding: Encoding
) -> tuple[Span, str] | None:
    """Returns an equivalent form of a pure insertion or deletion that lies outside `region`
    (inserting "a" before "a" is the same change one character later), or None."""
    if bool(text) == (not span.is_empty):
        return None  # a replacement has one form only
    first = max(0, min(span.start.line, region.start.line) - 1)
    last = min(len(doc.lines) - 1, max(span.end.line, region.end.line) + 1)
    window = "".join(doc.lines[first : last + 1])

    def to_offset(pos: Pos) -> int:
        return offset_at(window, Pos(pos.line - first, pos.character), encoding)

    def to_pos(offset: int) -> Pos:
        local = pos_at(window, offset, encoding)
        return Pos(local.line + first, local.character)

    region_start, region_end = to_offset(region.start), to_offset(region.end)
    start, end = to_offset(span.start), to_offset(span.end)
    if text:  # an insertion of `text` at `start`
        size = len(text)
        for k in range(1, min(size, start, MAX_SLIDE) + 1):
            if window[start - k : start] != text[size - k :]:
                break
            if start - k <= region_start:
                point = to_pos(start - k)
                return Span(point, point), window[start - k : start] + text[: size - k]
        for k in range(1, min(size, len(window) - start, MAX_SLIDE) + 1):
            if window[start : start + k] != text[:k]:
                break
            if start + k >= region_end:
                point = to_pos(start + k)
                return Span(point, point), text[k:] + window[start : start + k]
        return None
    for k in range(1, min(start, MAX_SLIDE) + 1):  # a deletion of [start, end)
        if window[start - k] != window[end - k]:
            break
        if end - k <= region_start:
            return Span(to_pos(start - k), to_pos(end - k)), ""
    for k in range(1, min(len(window) - end, MAX_SLIDE) + 1):
        if window[start + k - 1] != window[end + k - 1]:
            break
        if start + k >= region_end:
            return Span(to_pos(start + k), to_pos(end + k)), ""
    return None


def follow_in_review(
    doc: TextDoc, region: Span, original: str, change: Span, text: str, encoding: Encoding
) -> Span | None:
    """Returns where a pending job's region is after a user change that touches it: a change
    inside it moves its end; one over it that puts the original back (an undo reported as a
    wider diff) leaves the original's span. None when the region cannot be followed."""
    if region.start <= change.start and change.end <= region.end:
        new_end = end_after_insert(change.start, text, encoding)
        return Span(region.start, shift_after(region.end, change.end, new_end))
    if change.start <= region.start and region.end <= change.end:
        before = doc.text_in(Span(change.start, region.start), encoding)
        after = doc.text_in(Span(region.end, change.end), encoding)
        if text == before + original + after:
            start = end_after_insert(change.start, before, encoding)
            return Span(start, end_after_insert(start, original, encoding))
    return None


def original_around(doc: TextDoc, region: Span, original: str, encoding: Encoding) -> Span | None:
    """Returns the span of `original` in the document where it covers the region, or None: an
    undo reported as changes at the region's edges (an insertion right at its end) leaves the
    original there while the region proper holds only part of it."""
    if not original:
        return None
    breaks = _breaks(original) + 1
    first = max(0, region.start.line - breaks)
    last = min(len(doc.lines) - 1, region.end.line + breaks)
    window = "".join(doc.lines[first : last + 1])

    def to_offset(pos: Pos) -> int:
        return offset_at(window, Pos(pos.line - first, pos.character), encoding)

    start, end = to_offset(region.start), to_offset(region.end)
    found = window.find(original, max(0, end - len(original)))
    while 0 <= found <= start:
        if found + len(original) >= end:
            local_start, local_end = (
                pos_at(window, found, encoding),
                pos_at(window, found + len(original), encoding),
            )
            return Span(
                Pos(local_start.line + first, local_start.character),
                Pos(local_end.line + first, local_end.character),
            )
        found = window.find(original, found + 1)
    return None
