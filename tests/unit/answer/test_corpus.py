"""The corpus of real-looking answers through the output filter: no prose or fence lands."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_lsp.answer.output import CodeOutputFilter, Output, ProseOutputFilter, Rewrite
from gpt_lsp.answer.syntax import Parses, syntax_check
from gpt_lsp.text.documents import TextDoc
from tests.unit.answer.corpus import CORPUS, EXPLAIN, Case


def apply(parts: list[Output]) -> str:
    text = ""
    for part in parts:
        text = part.text if isinstance(part, Rewrite) else text + part
    return text


def replay(
    case: Case, pieces: list[str], parses: Parses | None = None
) -> tuple[str, CodeOutputFilter, list[Output]]:
    f = CodeOutputFilter(case.original, "\n", before=case.before, after=case.after, parses=parses)
    parts = [f.feed(p) for p in pieces]
    parts.append(f.finish())
    return apply(parts), f, parts


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_each_answer_leaves_only_its_code(case: Case) -> None:
    text, f, _ = replay(case, [case.answer])
    if case.expected is None:
        assert text == "" and f.no_code
        assert f.answer == case.answer  # kept whole for the notes document
    else:
        assert text == case.expected
        assert not f.no_code


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_the_python_parser_agrees(case: Case) -> None:
    parses = syntax_check(TextDoc("file:///a.py", "", 1, "python"))
    assert parses is not None
    text, filtered, _ = replay(case, list(case.answer), parses)
    assert filtered.no_code == (case.expected is None)
    assert text == (case.expected or "")


def test_the_parser_decides_doubtful_lines() -> None:
    python = syntax_check(TextDoc("file:///a.py", "", 1, "python"))
    unsure = Case("unsure", "It looks correct to me", "It looks correct to me\n")
    assert replay(unsure, [unsure.answer])[0] == unsure.expected  # no parser: kept
    text, f, _ = replay(unsure, [unsure.answer], python)
    assert text == "" and f.no_code  # not Python: prose
    label = Case("label", "Code:\nx = 1\n", "x = 1\n")
    assert replay(label, [label.answer], python)[0] == "x = 1\n"
    assert replay(label, [label.answer])[0] == "Code:\nx = 1\n"
    # A clear sentence after code that the parser takes as code stays.
    calls: list[str] = []
    fake = Case("fake", "x = 1\nThe function now caches results.\n", "x = 1\n")
    assert replay(fake, [fake.answer], lambda t: calls.append(t) is None)[0] == fake.answer
    assert calls == ["The function now caches results."]


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_char_by_char_never_shows_a_fence(case: Case) -> None:
    text, _, parts = replay(case, list(case.answer))
    assert text == (case.expected or "")
    region = ""
    for part in parts:
        region = part.text if isinstance(part, Rewrite) else region + part
        if "docstring" not in case.name:
            assert "```" not in region  # not even for a moment


@st.composite
def split(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=16)))
    return [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), case=st.sampled_from(CORPUS))
def test_random_splits_give_the_text_of_one_pass(data: st.DataObject, case: Case) -> None:
    pieces = data.draw(split(case.answer), label="pieces")
    text, f, _ = replay(case, pieces)
    whole, g, _ = replay(case, [case.answer])
    assert text == whole
    assert f.no_code == g.no_code


def test_the_markdown_explain_answer_stays_whole() -> None:
    for size in (1, 3, len(EXPLAIN)):
        f = ProseOutputFilter("\n")
        pieces = [EXPLAIN[i : i + size] for i in range(0, len(EXPLAIN), size)]
        out = "".join(f.feed(p) for p in pieces) + f.finish()
        assert out == EXPLAIN.rstrip("\n")  # the notes document's last line break ends it


def test_a_repeat_the_original_itself_holds_is_kept() -> None:
    # The selection starts with the line before it: repeating it is the answer, not an echo.
    case = Case("own", "# Areas.\n" + "x = 1\n", "# Areas.\nx = 1\n", "# Areas.\nx = 0\n")
    assert replay(case, [case.answer])[0] == "# Areas.\nx = 1\n"
    echoed = Case("echo", case.answer, "x = 1\n", "x = 0\n", before=("# Areas.",))
    assert replay(echoed, [echoed.answer])[0] == "x = 1\n"
    own = Case("own2", case.answer, "# Areas.\nx = 1\n", case.original, before=("# Areas.",))
    assert replay(own, [own.answer])[0] == "# Areas.\nx = 1\n"
