"""Change algebra: how the changes a client reports relate to an edit the server sent (pure).

Clients report an applied edit as the minimal diff, sometimes split in several changes
(VS Code 1.139, last first) or merged with the user's typing (Neovim). `matching_prefix`
recognises the changes that together have the effect of an edit; `slide_out` finds the
equivalent form of an insertion or deletion over repeated text that lies outside a region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

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
    at_end = bottom == len(doc.lines) - 1  # past the window is past the document: clamped
    for count, (change, change_text) in enumerate(candidates, start=1):
        assert change is not None
        local = _shift_up(change, top)
        if local.start.line < 0 or (local.end.line >= len(scratch.lines) and not at_end):
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

    def outside(start: int, end: int, region_start: int, region_end: int) -> bool:
        return end <= region_start or start >= region_end

    return _slide(doc, span, text, region, encoding, outside)


def slide_into(
    doc: TextDoc, span: Span, text: str, region: Span, encoding: Encoding
) -> tuple[Span, str] | None:
    """Returns an equivalent form of a pure insertion or deletion that lies inside `region`,
    or None: a minimal diff may put an undo of the region's last lines one line lower, over
    the region's end, when the line after it repeats the break."""

    def inside(start: int, end: int, region_start: int, region_end: int) -> bool:
        return region_start <= start and end <= region_end

    return _slide(doc, span, text, region, encoding, inside)


def _slide(
    doc: TextDoc,
    span: Span,
    text: str,
    region: Span,
    encoding: Encoding,
    fits: Callable[[int, int, int, int], bool],
) -> tuple[Span, str] | None:
    """The first equivalent form (nearest first, leftwards then rightwards) that `fits`."""
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
    for form_start, form_end, form_text in _forms(window, start, end, text):
        if fits(form_start, form_end, region_start, region_end):
            return Span(to_pos(form_start), to_pos(form_end)), form_text
    return None


def _forms(window: str, start: int, end: int, text: str) -> Iterator[tuple[int, int, str]]:
    """The other forms of inserting `text` at `start` (or deleting [start, end)) that leave
    the same text: the change slid over repeated text, leftwards, then rightwards."""
    if text:
        size = len(text)
        for k in range(1, min(size, start, MAX_SLIDE) + 1):
            if window[start - k : start] != text[size - k :]:
                break
            yield start - k, start - k, window[start - k : start] + text[: size - k]
        for k in range(1, min(size, len(window) - start, MAX_SLIDE) + 1):
            if window[start : start + k] != text[:k]:
                break
            yield start + k, start + k, text[k:] + window[start : start + k]
        return
    for k in range(1, min(start, MAX_SLIDE) + 1):
        if window[start - k] != window[end - k]:
            break
        yield start - k, end - k, ""
    for k in range(1, min(len(window) - end, MAX_SLIDE) + 1):
        if window[start + k - 1] != window[end + k - 1]:
            break
        yield start + k, end + k, ""


def follow_in_review(
    doc: TextDoc,
    region: Span,
    known: Callable[[str], bool],
    change: Span,
    text: str,
    encoding: Encoding,
) -> Span | None:
    """Returns where a pending job's region is after a user change that touches it: a change
    inside it moves its end; one over it that leaves a text `known` there (the original, or a
    state the job wrote: an undo reported as a wider diff) leaves that text's span. None when
    the region cannot be followed."""
    if region.start <= change.start and change.end <= region.end:
        new_end = end_after_insert(change.start, text, encoding)
        return Span(region.start, shift_after(region.end, change.end, new_end))
    if change.start <= region.start and region.end <= change.end:
        before = doc.text_in(Span(change.start, region.start), encoding)
        after = doc.text_in(Span(region.end, change.end), encoding)
        if len(text) < len(before) + len(after):
            return None
        inside = text[len(before) : len(text) - len(after)]
        if text.startswith(before) and text.endswith(after) and known(inside):
            start = end_after_insert(change.start, before, encoding)
            return Span(start, end_after_insert(start, inside, encoding))
    return None


def text_around(doc: TextDoc, region: Span, original: str, encoding: Encoding) -> Span | None:
    """Returns the span of `original` (the job's original, or a text it wrote) in the document
    where it covers the region, or None: an undo reported as changes at the region's edges (an
    insertion right at its end) leaves that text there while the region holds only part of it."""
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
