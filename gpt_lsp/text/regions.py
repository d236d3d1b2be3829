"""Keep a job's region of a document right while the user and the job edit the document.

Positions are LSP positions (zero-based line, character in code units of the negotiated
position encoding). Line breaks are "\\n", "\\r\\n" and a lone "\\r", as in LSP.

Rules of `map_change` (a user's content change against a job's region):

- a change ending at or before the region's start shifts the region (an insertion exactly at
  the start counts as before: typing right before the region pushes it);
- a change starting at or after the region's end leaves it (an insertion exactly at the end
  counts as after: the region does not grow);
- anything else touches the region's inside and is a `Conflict`.

Limitation: `map_change` sees positions, not the text, so it cannot know when a change glues a
"\\r" to a "\\n" next to it (or splits such a pair), which merges or splits lines. Editors
that keep one line ending per document never do that; `diff_change` never produces such a
change (it widens the change over the pair instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")

_BREAK = re.compile(r"\r\n|\r|\n")
# Slices compared in one go before the doubling kicks in; small enough for short texts.
_FIRST_CHUNK = 256


@dataclass(frozen=True, slots=True, order=True)
class Pos:
    """A zero-based LSP position; `character` is in code units of the position encoding."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class Span:
    """A range from `start` to `end` (end exclusive), `start <= end`."""

    start: Pos
    end: Pos

    @property
    def is_empty(self) -> bool:
        """Returns whether the span is an insertion point."""
        return self.start == self.end


@dataclass(frozen=True, slots=True)
class Conflict:
    """A user change touched the inside of a job's region."""

    region: Span
    change: Span


def _check(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown position encoding: {encoding!r}")


def text_units(s: str, encoding: Encoding) -> int:
    """Returns the length of `s` in code units of `encoding`."""
    _check(encoding)
    if encoding == "utf-32" or s.isascii():
        return len(s)
    # surrogatepass: a lone surrogate (JSON allows "\ud800") must not crash the server.
    if encoding == "utf-16":
        return len(s.encode("utf-16-le", "surrogatepass")) // 2
    return len(s.encode("utf-8", "surrogatepass"))


def _count_breaks(s: str, start: int = 0, end: int | None = None) -> int:
    stop = len(s) if end is None else end
    return s.count("\n", start, stop) + s.count("\r", start, stop) - s.count("\r\n", start, stop)


def end_after_insert(start: Pos, text: str, encoding: Encoding) -> Pos:
    """Returns the position right after `text` once inserted at `start`."""
    last = max(text.rfind("\n"), text.rfind("\r"))
    if last < 0:
        return Pos(start.line, start.character + text_units(text, encoding))
    return Pos(start.line + _count_breaks(text), text_units(text[last + 1 :], encoding))


def shift_after(p: Pos, old_end: Pos, new_end: Pos) -> Pos:
    """Moves `p` (at or after `old_end`) as a change ending at `old_end` now ends at `new_end`."""
    if p.line == old_end.line:
        return Pos(new_end.line, new_end.character + p.character - old_end.character)
    return Pos(p.line + new_end.line - old_end.line, p.character)


def map_change(region: Span, change: Span, new_text: str, encoding: Encoding) -> Span | Conflict:
    """Returns the region after a user's change, or a Conflict when the change touches it."""
    if change.end <= region.start:
        new_end = end_after_insert(change.start, new_text, encoding)
        return Span(
            shift_after(region.start, change.end, new_end),
            shift_after(region.end, change.end, new_end),
        )
    if change.start >= region.end:
        return region
    if change.is_empty and not new_text:
        # Some clients send no-op changes; nothing moved, so nothing to stop for.
        return region
    return Conflict(region, change)


def _line_start(text: str, line: int) -> int | None:
    """Returns the offset where `line` starts, or None past the last line."""
    if line <= 0:
        return 0
    # islice walks the matches in C: no Python-level loop per line.
    for m in islice(_BREAK.finditer(text), line - 1, None):
        return m.end()
    return None


def chars_for_units(line_text: str, units: int, encoding: Encoding) -> int:
    """Returns how many characters of `line_text` fit in `units` code units (rounding down)."""
    if units <= 0:
        return 0
    if encoding == "utf-32" or line_text.isascii():
        return min(units, len(line_text))
    if encoding == "utf-16":
        head = line_text.encode("utf-16-le", "surrogatepass")[: 2 * units]
        decoded = head.decode("utf-16-le", "surrogatepass")
        n = len(decoded)
        # A cut surrogate pair decodes to a lone high surrogate: round down past it.
        if n and decoded[n - 1] != line_text[n - 1]:
            n -= 1
        return n
    raw = line_text.encode("utf-8", "surrogatepass")[:units]
    try:
        return len(raw.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError as e:
        # The cut fell inside a multi-byte character: round down to its start.
        return len(raw[: e.start].decode("utf-8", "surrogatepass"))


def offset_at(text: str, pos: Pos, encoding: Encoding) -> int:
    """Returns the str index of `pos` in `text`, clamped the LSP way.

    A character past the line's end means the line's end; a line past the last line means the
    document's end; a position inside a character rounds down to the character's start.
    """
    _check(encoding)
    start = _line_start(text, pos.line)
    if start is None:
        return len(text)
    m = _BREAK.search(text, start)
    end = m.start() if m else len(text)
    return start + chars_for_units(text[start:end], pos.character, encoding)


def pos_at(text: str, offset: int, encoding: Encoding) -> Pos:
    """Returns the position of str index `offset` in `text` (clamped to the text).

    An offset between "\\r" and "\\n" cannot be a position; it means the end of that line.
    """
    _check(encoding)
    offset = max(0, min(offset, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1
    line = _count_breaks(text, 0, offset)
    last = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset))
    return Pos(line, text_units(text[last + 1 : offset], encoding))


def _common_prefix_len(a: str, b: str) -> int:
    """Returns the length of the common prefix of `a` and `b` with O(n) work done in C."""
    n = min(len(a), len(b))
    lo, step = 0, _FIRST_CHUNK
    while lo < n:
        hi = min(n, lo + step)
        if a[lo:hi] != b[lo:hi]:
            # a[:lo] == b[:lo] and a[lo:hi] != b[lo:hi]; halving keeps the total work linear.
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if a[lo:mid] == b[lo:mid]:
                    lo = mid
                else:
                    hi = mid
            return lo
        lo = hi
        step *= 2
    return n


def _common_suffix_len(a: str, b: str, limit: int) -> int:
    """Returns the length (at most `limit`) of the common suffix of `a` and `b`."""
    la, lb = len(a), len(b)
    lo, step = 0, _FIRST_CHUNK
    while lo < limit:
        hi = min(limit, lo + step)
        if a[la - hi : la - lo] != b[lb - hi : lb - lo]:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
                    lo = mid
                else:
                    hi = mid
            return lo
        lo = hi
        step *= 2
    return limit


def diff_change(old_text: str, new_text: str, encoding: Encoding = "utf-16") -> tuple[Span, str]:
    """Returns the single minimal change (range in `old_text`, new text) turning old into new.

    Used for clients that send whole documents. The change never starts or ends between a
    "\\r" and a "\\n", in the old text or in the new one, so that positions exist for it and
    `map_change` counts lines right.
    """
    _check(encoding)
    p = _common_prefix_len(old_text, new_text)
    if (
        p
        and old_text[p - 1] == "\r"
        and (old_text[p : p + 1] == "\n" or new_text[p : p + 1] == "\n")
    ):
        p -= 1
    s = _common_suffix_len(old_text, new_text, min(len(old_text), len(new_text)) - p)
    if s:
        so, sn = len(old_text) - s, len(new_text) - s
        if old_text[so] == "\n" and (
            old_text[so - 1 : so] == "\r" or new_text[sn - 1 : sn] == "\r"
        ):
            s -= 1
    old_end = len(old_text) - s
    span = Span(pos_at(old_text, p, encoding), pos_at(old_text, old_end, encoding))
    return span, new_text[p : len(new_text) - s]
