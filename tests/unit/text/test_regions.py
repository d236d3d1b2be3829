"""Tests for gpt_lsp.text.regions: positions, region mapping, full-document diffs."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from gpt_lsp.lsp.convert import span_from_lsp, span_to_lsp
from gpt_lsp.text.regions import (
    ENCODINGS,
    Conflict,
    Encoding,
    Pos,
    Span,
    diff_change,
    end_after_insert,
    map_change,
    offset_at,
    pos_at,
    text_units,
)


def S(l1: int, c1: int, l2: int, c2: int) -> Span:
    return Span(Pos(l1, c1), Pos(l2, c2))


def P(line: int, character: int) -> Pos:
    return Pos(line, character)


# --- code units --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "u8", "u16", "u32"),
    [
        ("", 0, 0, 0),
        ("abc", 3, 3, 3),
        ("中文", 6, 2, 2),
        ("😀", 4, 2, 1),
        ("a中😀é", 1 + 3 + 4 + 2, 1 + 1 + 2 + 1, 4),
    ],
)
def test_text_units(s: str, u8: int, u16: int, u32: int) -> None:
    assert text_units(s, "utf-8") == u8
    assert text_units(s, "utf-16") == u16
    assert text_units(s, "utf-32") == u32


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="utf-7"):
        text_units("a", "utf-7")  # type: ignore[arg-type]


def test_lone_surrogate_does_not_crash() -> None:
    assert text_units("\ud800", "utf-16") == 1
    assert text_units("\ud800", "utf-8") == 3


@pytest.mark.parametrize(
    ("text", "enc", "expected"),
    [
        ("abc", "utf-16", P(2, 8)),
        ("中文", "utf-8", P(2, 11)),
        ("😀", "utf-16", P(2, 7)),
        ("a\nbc", "utf-16", P(3, 2)),
        ("a\r\nbc", "utf-16", P(3, 2)),
        ("a\rbc", "utf-16", P(3, 2)),
        ("a\r\n\r\n", "utf-16", P(4, 0)),
        ("\r\r\n\n", "utf-16", P(5, 0)),
        ("x\n中😀", "utf-8", P(3, 7)),
        ("x\n中😀", "utf-32", P(3, 2)),
    ],
)
def test_end_after_insert(text: str, enc: Encoding, expected: Pos) -> None:
    assert end_after_insert(P(2, 5), text, enc) == expected


# --- map_change ----------------------------------------------------------------------------

REGION = S(2, 4, 4, 6)


@pytest.mark.parametrize(
    ("change", "text", "expected"),
    [
        # Typing before the region on its first line shifts characters only.
        (S(2, 1, 2, 1), "xy", S(2, 6, 4, 6)),
        # Deleting text ending exactly at the start shifts.
        (S(2, 0, 2, 4), "", S(2, 0, 4, 6)),
        # An insertion exactly at the start pushes the region.
        (S(2, 4, 2, 4), "中", S(2, 5, 4, 6)),
        # A multi-line insertion before, on the start line.
        (S(2, 2, 2, 3), "a\nbb\nccc", S(4, 4, 6, 6)),
        # Lines above: only lines move.
        (S(0, 0, 0, 0), "new\r\n", S(3, 4, 5, 6)),
        (S(0, 3, 1, 2), "", S(1, 4, 3, 6)),
        # Joining the line above with the start line.
        (S(1, 7, 2, 0), "", S(1, 11, 3, 6)),
        # Insertion at the end does not grow the region.
        (S(4, 6, 4, 6), "tail", REGION),
        (S(4, 6, 9, 0), "", REGION),
        (S(5, 0, 5, 0), "x", REGION),
        # Inside, overlapping either boundary, or enclosing: conflict.
        (S(3, 0, 3, 0), "x", None),
        (S(2, 5, 2, 5), "x", None),
        (S(2, 3, 2, 5), "", None),
        (S(4, 5, 4, 7), "", None),
        (S(0, 0, 9, 0), "", None),
        (S(2, 4, 2, 5), "", None),
    ],
)
def test_map_change(change: Span, text: str, expected: Span | None) -> None:
    result = map_change(REGION, change, text, "utf-16")
    if expected is None:
        assert result == Conflict(REGION, change)
    else:
        assert result == expected


def test_region_on_one_line_moves_both_ends() -> None:
    region = S(1, 4, 1, 8)
    assert map_change(region, S(1, 0, 1, 2), "中文中", "utf-8") == S(1, 11, 1, 15)
    assert map_change(region, S(1, 0, 1, 2), "a\nb", "utf-8") == S(2, 3, 2, 7)


def test_empty_region() -> None:
    point = S(3, 2, 3, 2)
    assert map_change(point, S(3, 2, 3, 2), "ab", "utf-16") == S(3, 4, 3, 4)
    assert map_change(point, S(3, 0, 3, 2), "", "utf-16") == S(3, 0, 3, 0)
    assert map_change(point, S(3, 2, 3, 5), "", "utf-16") == point
    assert map_change(point, S(3, 3, 3, 3), "x", "utf-16") == point
    assert isinstance(map_change(point, S(3, 1, 3, 3), "", "utf-16"), Conflict)


def test_noop_change_inside_is_ignored() -> None:
    assert map_change(REGION, S(3, 1, 3, 1), "", "utf-16") == REGION


def test_emoji_before_region_in_each_encoding() -> None:
    region = S(0, 10, 0, 12)
    assert map_change(region, S(0, 0, 0, 0), "😀", "utf-8") == S(0, 14, 0, 16)
    assert map_change(region, S(0, 0, 0, 0), "😀", "utf-16") == S(0, 12, 0, 14)
    assert map_change(region, S(0, 0, 0, 0), "😀", "utf-32") == S(0, 11, 0, 13)


# --- the job's own edits ----------------------------------------------------------------------


def test_the_end_after_the_jobs_own_text() -> None:
    assert end_after_insert(Pos(1, 2), "中\r\nab", "utf-8") == Pos(2, 2)
    assert end_after_insert(Pos(1, 2), "", "utf-8") == Pos(1, 2)
    assert end_after_insert(Pos(1, 2), "def f():\n    return 1", "utf-16") == Pos(2, 12)


# --- offsets and positions ------------------------------------------------------------------

DOC = "ab\r\n中😀x\rlast\n"


@pytest.mark.parametrize(
    ("pos", "enc", "offset"),
    [
        (P(0, 0), "utf-16", 0),
        (P(0, 2), "utf-16", 2),
        (P(0, 99), "utf-16", 2),  # past the line's end: the line's end (before "\r\n")
        (P(1, 0), "utf-16", 4),
        (P(1, 1), "utf-16", 5),
        (P(1, 3), "utf-16", 6),
        (P(1, 2), "utf-16", 5),  # inside the emoji's surrogate pair: rounds down
        (P(1, 3), "utf-8", 5),  # inside 中 (3 bytes): rounds down
        (P(1, 7), "utf-8", 6),
        (P(1, 8), "utf-8", 7),
        (P(1, 3), "utf-32", 7),
        (P(2, 4), "utf-16", 12),
        (P(3, 0), "utf-16", 13),
        (P(3, 5), "utf-16", 13),
        (P(9, 0), "utf-16", 13),  # past the last line: the document's end
    ],
)
def test_offset_at(pos: Pos, enc: Encoding, offset: int) -> None:
    assert offset_at(DOC, pos, enc) == offset


@pytest.mark.parametrize(
    ("offset", "enc", "pos"),
    [
        (0, "utf-16", P(0, 0)),
        (2, "utf-16", P(0, 2)),
        (3, "utf-16", P(0, 2)),  # between "\r" and "\n": the line's end
        (4, "utf-16", P(1, 0)),
        (6, "utf-16", P(1, 3)),
        (6, "utf-8", P(1, 7)),
        (6, "utf-32", P(1, 2)),
        (8, "utf-16", P(2, 0)),
        (13, "utf-16", P(3, 0)),
        (99, "utf-16", P(3, 0)),
        (-5, "utf-16", P(0, 0)),
    ],
)
def test_pos_at(offset: int, enc: Encoding, pos: Pos) -> None:
    assert pos_at(DOC, offset, enc) == pos


def test_lsp_conversion_round_trips() -> None:
    span = S(1, 2, 3, 4)
    rng = span_to_lsp(span)
    assert isinstance(rng, lsp.Range)
    assert rng.end.character == 4
    assert span_from_lsp(rng) == span


# --- diff_change ----------------------------------------------------------------------------


def _apply(old: str, span: Span, text: str, enc: Encoding) -> str:
    return old[: offset_at(old, span.start, enc)] + text + old[offset_at(old, span.end, enc) :]


@pytest.mark.parametrize(
    ("old", "new", "span", "text"),
    [
        ("abc", "abc", S(0, 3, 0, 3), ""),
        ("", "x", S(0, 0, 0, 0), "x"),
        ("abc", "", S(0, 0, 0, 3), ""),
        ("a\nb\nc", "a\nB\nc", S(1, 0, 1, 1), "B"),
        ("中文字", "中字", S(0, 1, 0, 2), ""),
        # A "\n" added after a lone "\r" makes one CRLF break: the "\r" joins the change.
        ("a\rb", "a\r\nb", S(0, 1, 1, 0), "\r\n"),
        # Removing the text between "\r" and "\n" merges two breaks into one.
        ("a\rx\nb", "a\r\nb", S(0, 1, 2, 0), "\r\n"),
        # Splitting a CRLF pair.
        ("a\r\nb", "a\rx\nb", S(0, 1, 1, 0), "\rx\n"),
    ],
)
def test_diff_change_examples(old: str, new: str, span: Span, text: str) -> None:
    assert diff_change(old, new, "utf-16") == (span, text)
    assert _apply(old, span, text, "utf-16") == new


def test_diff_change_positions_follow_encoding() -> None:
    old, new = "😀中x\n", "😀中y\n"
    assert diff_change(old, new, "utf-8")[0] == S(0, 7, 0, 8)
    assert diff_change(old, new, "utf-16")[0] == S(0, 3, 0, 4)
    assert diff_change(old, new, "utf-32")[0] == S(0, 2, 0, 3)


def test_diff_change_takes_few_python_steps_on_a_large_document() -> None:
    import gpt_lsp.text.regions as regions

    lines = [f"    value_{i} = compute({i})  # 中文 😀" for i in range(100_000)]
    old = "\r\n".join(lines)
    edited = list(lines)
    edited[60_000] = "    changed = True"
    new = "\r\n".join(edited)
    steps = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal steps
        if frame.f_code.co_filename != regions.__file__:
            return None
        steps += event == "line"
        return trace

    before = sys.gettrace()
    sys.settrace(trace)
    try:
        span, text = diff_change(old, new, "utf-16")
    finally:
        sys.settrace(before)
    assert (span.start.line, span.end.line) == (60_000, 60_000)
    assert _apply(old, span, text, "utf-16") == new
    # Counted, not timed: the work on 4.6 million characters is done in C (slices compared
    # by halving); a Python loop per character or per line would take 100,000 steps or more.
    assert steps < 2_000, steps


# --- properties -----------------------------------------------------------------------------

CHARS = ["a", "b", " ", "é", "中", "😀"]


def _boundaries(text: str) -> list[int]:
    """Returns the offsets that are positions (never between "\\r" and "\\n")."""
    return [
        i
        for i in range(len(text) + 1)
        if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")
    ]


def _pieces(eol: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*CHARS, eol]), max_size=12).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_edits_outside_the_region_keep_its_text(data: st.DataObject) -> None:
    # One line ending per document: map_change cannot see "\r" meeting "\n" (see module doc).
    eol = data.draw(st.sampled_from(["\n", "\r\n", "\r"]), label="eol")
    text = data.draw(st.lists(st.sampled_from([*CHARS, eol]), max_size=40).map("".join))
    bounds = _boundaries(text)
    rs, re_ = sorted(data.draw(st.lists(st.sampled_from(bounds), min_size=2, max_size=2)))
    content = text[rs:re_]
    spans = {enc: Span(pos_at(text, rs, enc), pos_at(text, re_, enc)) for enc in ENCODINGS}
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        bounds = _boundaries(text)
        before = data.draw(st.booleans(), label="before")
        side = [b for b in bounds if b <= rs] if before else [b for b in bounds if b >= re_]
        # Bias towards the region's edges: that is where the rules are subtle.
        edge = rs if before else re_
        a = data.draw(st.one_of(st.just(edge), st.sampled_from(side)))
        b = data.draw(st.one_of(st.just(edge), st.sampled_from(side)))
        a, b = min(a, b), max(a, b)
        new = data.draw(_pieces(eol), label="inserted")
        for enc in ENCODINGS:
            change = Span(pos_at(text, a, enc), pos_at(text, b, enc))
            mapped = map_change(spans[enc], change, new, enc)
            assert isinstance(mapped, Span)
            spans[enc] = mapped
        text = text[:a] + new + text[b:]
        # The rule, not the side: an insertion at an empty region's point is before it.
        if b <= rs:
            rs += len(new) - (b - a)
            re_ += len(new) - (b - a)
        for enc in ENCODINGS:
            span = spans[enc]
            assert offset_at(text, span.start, enc) == rs
            assert offset_at(text, span.end, enc) == re_
            assert span == Span(pos_at(text, rs, enc), pos_at(text, re_, enc))
            assert text[rs:re_] == content


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_edits_touching_the_inside_conflict(data: st.DataObject) -> None:
    eol = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = data.draw(st.lists(st.sampled_from([*CHARS, eol]), min_size=1, max_size=30))
    doc = "".join(text)
    bounds = _boundaries(doc)
    rs, re_ = sorted(
        data.draw(st.lists(st.sampled_from(bounds), min_size=2, max_size=2, unique=True))
    )
    a = data.draw(st.sampled_from([x for x in bounds if x < re_]))
    b = data.draw(st.sampled_from([x for x in bounds if x >= a and x > rs]))
    new = data.draw(_pieces(eol))
    if a == b and not new:
        return  # a no-op change is not an edit
    if a == b and not rs < a < re_:
        return  # an insertion at either edge is outside; only a strictly inner point touches
    for enc in ENCODINGS:
        region = Span(pos_at(doc, rs, enc), pos_at(doc, re_, enc))
        change = Span(pos_at(doc, a, enc), pos_at(doc, b, enc))
        assert map_change(region, change, new, enc) == Conflict(region, change)


MIXED = st.lists(st.sampled_from([*CHARS, "\n", "\r", "\r\n"]), max_size=30).map("".join)


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_diff_change_applies_and_maps(data: st.DataObject) -> None:
    old = data.draw(MIXED, label="old")
    if data.draw(st.booleans(), label="related"):
        # A local edit of old, so that prefixes and suffixes are long and interesting.
        i = data.draw(st.integers(0, len(old)))
        j = data.draw(st.integers(i, len(old)))
        new = old[:i] + data.draw(MIXED, label="inserted") + old[j:]
    else:
        new = data.draw(MIXED, label="new")
    for enc in ENCODINGS:
        span, text = diff_change(old, new, enc)
        start, end = offset_at(old, span.start, enc), offset_at(old, span.end, enc)
        assert pos_at(old, start, enc) == span.start
        assert pos_at(old, end, enc) == span.end
        assert old[:start] + text + old[end:] == new
        # Line counting agrees with the real new text, even where "\r" meets "\n".
        assert end_after_insert(span.start, text, enc) == pos_at(new, start + len(text), enc)
        # Any region after the change maps to where its text now is.
        delta = len(text) - (end - start)
        after = [b for b in _boundaries(old) if b >= end]
        rs, re_ = sorted(data.draw(st.lists(st.sampled_from(after), min_size=2, max_size=2)))
        region = Span(pos_at(old, rs, enc), pos_at(old, re_, enc))
        mapped = map_change(region, span, text, enc)
        if start == end == rs and not text:
            assert mapped == region
        else:
            assert mapped == Span(pos_at(new, rs + delta, enc), pos_at(new, re_ + delta, enc))


def test_text_around_finds_the_original_covering_the_region() -> None:
    from gpt_lsp.text.changes import text_around
    from gpt_lsp.text.documents import TextDoc

    doc = TextDoc("file:///a.py", "x = 1\ndef f():\n    return 1\ny = 2\n")
    region = Span(Pos(1, 0), Pos(2, 0))  # only "def f():\n" is the region now
    found = text_around(doc, region, "def f():\n    return 1\n", "utf-16")
    assert found == Span(Pos(1, 0), Pos(3, 0))
    assert text_around(doc, region, "def g():\n", "utf-16") is None
    # The original must cover the whole region, not sit beside it.
    assert text_around(doc, Span(Pos(0, 0), Pos(1, 0)), "y = 2\n", "utf-16") is None
