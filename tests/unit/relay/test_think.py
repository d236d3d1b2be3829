"""ThinkSplitter: `<think>` reasoning at the start of content, split at any character."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_lsp.relay.events import ReasoningDelta, TextDelta
from gpt_lsp.relay.think import ThinkSplitter


def split_run(pieces: list[str]) -> tuple[str, str, list[TextDelta | ReasoningDelta]]:
    """Feeds pieces, flushes, and returns (reasoning, text, events)."""
    splitter = ThinkSplitter()
    events: list[TextDelta | ReasoningDelta] = []
    for piece in pieces:
        events.extend(splitter.feed(piece))
    events.extend(splitter.flush())
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, text, events


def oracle(content: str) -> tuple[str, str]:
    """The documented rule, written plainly: (reasoning, text) of a whole content."""
    head = content.lstrip()
    if not head.startswith("<think>"):
        return "", content
    body = head[len("<think>") :]
    end = body.find("</think>")
    if end < 0:
        return body, ""
    return body[:end], body[end + len("</think>") :].lstrip("\r\n")


def every_split(content: str) -> list[list[str]]:
    """Returns one-character pieces plus every two-piece split."""
    splits = [[content], list(content)]
    splits += [[content[:i], content[i:]] for i in range(1, len(content))]
    return splits


def test_plain_text_passes_through() -> None:
    assert split_run(["hello ", "world"])[2] == [TextDelta("hello "), TextDelta("world")]


def test_think_block_at_start_is_reasoning() -> None:
    reasoning, text, events = split_run(["<think>\nplan it\n</think>\n\nanswer"])
    assert (reasoning, text) == ("\nplan it\n", "answer")
    assert events[-1] == TextDelta("answer")


def test_tags_split_at_every_character() -> None:
    content = "  <think>a <b> c</think>\r\n\ndef f(): pass"
    for pieces in every_split(content):
        assert split_run(pieces)[:2] == ("a <b> c", "def f(): pass"), pieces


def test_open_tag_split_thi_nk() -> None:
    assert split_run(["<thi", "nk>why", "</th", "ink>so"])[:2] == ("why", "so")


def test_leading_whitespace_is_allowed_before_think() -> None:
    assert split_run([" \n ", "<think>r</think>t"])[:2] == ("r", "t")


def test_think_later_in_answer_is_literal_text() -> None:
    content = 'x = "<think>"\n<think>not reasoning</think>'
    for pieces in every_split(content):
        assert split_run(pieces)[:2] == ("", content)


def test_unclosed_think_never_reaches_text() -> None:
    reasoning, text, _ = split_run(["<think>still thinking </thi"])
    assert (reasoning, text) == ("still thinking </thi", "")


def test_partial_open_tag_at_end_is_text() -> None:
    assert split_run(["  <thi"])[:2] == ("", "  <thi")


def test_lookalike_tag_is_text() -> None:
    assert split_run(["<thinking>x</thinking>"])[:2] == ("", "<thinking>x</thinking>")


def test_leading_whitespace_kept_for_plain_answers() -> None:
    assert split_run(["    ", "return x"])[:2] == ("", "    return x")


def test_no_empty_events() -> None:
    for pieces in every_split("<think></think>\n\nx"):
        _, _, events = split_run(pieces)
        assert all(e.text for e in events)


def test_flush_is_idempotent() -> None:
    splitter = ThinkSplitter()
    splitter.feed("<think>ab</thin")
    assert splitter.flush() == [ReasoningDelta("</thin")]
    assert splitter.flush() == []


_ATOMS = st.sampled_from(
    ["<think>", "</think>", "<", ">", "/", "think", " ", "\n", "\r\n", "你好", "😀", "a", "x<th"]
)


@settings(max_examples=300, deadline=None)
@given(
    content=st.lists(_ATOMS | st.text(max_size=4), max_size=12).map("".join),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_any_split_matches_the_rule(content: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(content)) for c in cuts} | {0, len(content)})
    pieces = [content[a:b] for a, b in itertools.pairwise(points)]
    reasoning, text, events = split_run(pieces)
    assert (reasoning, text) == oracle(content)
    assert all(e.text for e in events)
