"""Tests for gpt_lsp.answer.output: the streaming filters between an answer and the document."""

# Answers in Chinese use full-width punctuation on purpose.

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_lsp.answer.output import CodeOutputFilter, Output, ProseOutputFilter, Rewrite
from tests.unit.answer.corpus import PATHOLOGICAL


def apply(parts: Iterable[Output]) -> str:
    """Returns the region's text after the filter's outputs: appends, or a whole rewrite."""
    text = ""
    for part in parts:
        text = part.text if isinstance(part, Rewrite) else text + part
    return text


def run(
    pieces: Iterable[str], original: str = "x\n", eol: str = "\n", **kwargs: object
) -> tuple[str, list[Output]]:
    """Feeds the pieces; returns the region's final text and what each call returned."""
    f = CodeOutputFilter(original, eol, **kwargs)  # type: ignore[arg-type]
    parts = [f.feed(p) for p in pieces]
    parts.append(f.finish())
    return apply(parts), parts


def code(answer: str, original: str = "x\n", eol: str = "\n", **kwargs: object) -> str:
    return run([answer], original, eol, **kwargs)[0]


def chars(answer: str, original: str = "x\n", eol: str = "\n", **kwargs: object) -> str:
    """Feeds one character at a time, and checks it matches feeding all at once."""
    out = run(list(answer), original, eol, **kwargs)[0]
    assert out == code(answer, original, eol, **kwargs)
    return out


# --- fences and prose -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # Fenced, with prose before and after.
        (
            "Here is the refactored code:\n\n```python\ndef f():\n    return 1\n```\n"
            "This works because f is pure.",
            "def f():\n    return 1\n",
        ),
        ("```\ncode\n```", "code\n"),
        ("```python\ncode\n```\n", "code\n"),
        ("~~~js\nlet a = 1;\n~~~\n", "let a = 1;\n"),
        ("\n\n  ```rust\nfn main() {}\n  ```\n", "fn main() {}\n"),
        # No fence: streamed as is.
        ("def f(x):\n    return x\n", "def f(x):\n    return x\n"),
        ("class A:\n    pass", "class A:\n    pass\n"),
        ("import os\nprint(os)\n", "import os\nprint(os)\n"),
        # Prose lines, then a fence.
        ("Sure! Here's the code:\nIt uses a dict now\n```\nx = 1\n```", "x = 1\n"),
        ("这是重构后的代码：\n```python\nprint('你好')\n```", "print('你好')\n"),
        ("以下是修改后的代码\n\n```\nx = 1\n```", "x = 1\n"),
        ("**Refactored code:**\n```go\nx := 1\n```", "x := 1\n"),
        ("`foo` is replaced by a cache:\n```\ncache = {}\n```", "cache = {}\n"),
        (
            "I rewrote the loop to use enumerate\n```python\nfor i, x in enumerate(xs): pass\n```",
            "for i, x in enumerate(xs): pass\n",
        ),
        # A bare fence after code means the code is over, and what follows is commentary.
        ("import os\nprint(os)\n```\nThis prints the module.", "import os\nprint(os)\n"),
        ("Code:\nx = 1\n```\nexplanation", "Code:\nx = 1\n"),
        ("Here is the code:\nx = 1\n```\nexplanation", "x = 1\n"),
        # No fence ever comes after clear prose: the prose is dropped, the code kept.
        ("Here is the code:\n\ndef f():\n    pass\n", "def f():\n    pass\n"),
        # Unsure prose: kept (dropping code would be worse).
        ("Code:\nfoo: 1\n", "Code:\nfoo: 1\n"),
        ("Resources:\n  Bucket: x\n", "Resources:\n  Bucket: x\n"),
        # Only prose: nothing written (the job fails and keeps the answer elsewhere).
        ("Sure, I can help with that.", ""),
        # Unsure words only: kept rather than lose code.
        ("some plain words here", "some plain words here\n"),
        # A longer fence may contain shorter ones.
        ("````markdown\n```js\nx\n```\n````\nbye", "```js\nx\n```\n"),
        # A fence line of the other kind, or with an info string, is content inside a fence.
        ("```\n~~~\n```", "~~~\n"),
        ("```\nx\n```js\n```", "x\n```js\n"),
        # An unclosed fence: everything up to the end.
        ("```python\nx = 1\ny = 2", "x = 1\ny = 2\n"),
        ("```python\nx = 1\n``", "x = 1\n``\n"),
        # Inline code on a first line is not a fence.
        ("```a``` b(c)\n", "```a``` b(c)\n"),
        # Leading and trailing blank lines go; inner ones stay.
        ("\n\n\nx = 1\n\n\ny = 2\n\n\n", "x = 1\n\n\ny = 2\n"),
        ("```\n\n\nx = 1\n\n```", "x = 1\n"),
        # Whitespace-only lines become empty.
        ("x = 1\n   \ny = 2", "x = 1\n\ny = 2\n"),
        ("", ""),
        ("```\n```", ""),
        ("Here you go:\n```\n```", ""),
    ],
)
def test_answers(answer: str, expected: str) -> None:
    assert code(answer) == expected
    assert chars(answer) == expected


def test_a_fence_after_plain_code_replaces_it() -> None:
    # The code written so far was the model's first try, or prose taken for code.
    out, parts = run(["x = 1\n", "```python\n", "y = 2\n"])
    assert out == "y = 2\n"
    assert parts[:2] == ["x = 1", Rewrite("")]


def test_no_code_and_the_answer_are_known() -> None:
    f = CodeOutputFilter("x\n", "\n")
    answer = "Here is the idea.\nIt caches results."
    f.feed(answer[:7])
    assert not f.no_code  # not finished yet
    f.feed(answer[7:])
    assert f.finish() == ""
    assert f.no_code and f.answer == answer
    g = CodeOutputFilter("x\n", "\n")
    g.feed("```\n```")
    g.finish()
    assert not g.no_code  # an empty block is an answer: the code is deleted


def test_done_after_closing_fence_ignores_the_rest() -> None:
    f = CodeOutputFilter("x", "\n")
    assert f.feed("```\nx = 1\n") == "x = 1"
    done_before = f.done
    assert f.feed("```\n```\nnever") == ""
    assert (done_before, f.done) == (False, True)
    assert f.finish() == ""


def test_feed_after_finish_is_refused() -> None:
    f = CodeOutputFilter("", "\n")
    f.feed("x")
    assert f.finish() == "x"
    assert f.finish() == ""
    with pytest.raises(ValueError, match="after finish"):
        f.feed("y")


def test_bad_eol_is_refused() -> None:
    with pytest.raises(ValueError, match="line ending"):
        CodeOutputFilter("", "\n\n")
    with pytest.raises(ValueError, match="line ending"):
        ProseOutputFilter("x")


# --- never part of a fence, but prompt otherwise ------------------------------------------------

FENCED = "Here you go:\n```python\ndef f():\n    return 1\n```\nEnjoy!\n"


def test_fence_split_at_every_position_never_leaks() -> None:
    expected = "def f():\n    return 1\n"
    n = len(FENCED)
    for i in range(n + 1):
        for j in range(i, n + 1):
            out, parts = run([FENCED[:i], FENCED[i:j], FENCED[j:]])
            assert out == expected, (i, j)
            assert all("`" not in p and "~" not in p for p in parts)


def test_closing_fence_split_at_every_position_plain() -> None:
    answer = "x = 1\n  ```  \nprose"
    for i in range(len(answer) + 1):
        out, parts = run([answer[:i], answer[i:]])
        assert out == "x = 1\n"
        assert all("`" not in p for p in parts)


def test_partial_lines_stream_promptly() -> None:
    f = CodeOutputFilter("x", "\n")
    assert f.feed("```python\n") == ""
    assert f.feed("print(1") == "print(1"
    assert f.feed(")\n    ret") == ")\n    ret"
    assert f.feed("urn 1\n``") == "urn 1"
    assert f.feed("`") == ""  # "```" may be the closing fence
    assert f.feed("x") == ""
    assert f.feed("\n") == "\n```x"  # "```x" cannot close a fence: content
    assert f.feed("    `y") == ""  # may grow into a fence
    assert f.feed("\n") == "\n    `y"


def test_mid_line_fence_is_never_written() -> None:
    f = CodeOutputFilter("x", "\n")
    assert f.feed("```\n    return x") == "    return x"
    assert f.feed("``") == ""
    assert f.feed("`") == ""
    assert f.feed("\nafter") == ""  # "    return x```": code, then the closing fence
    assert f.done
    assert f.finish() == ""
    g = CodeOutputFilter("x", "\n")
    assert g.feed("```\n    s = '``") == "    s = '"
    assert g.feed("`' + t") == ""  # the fence run stops the line's streaming
    assert g.feed("\n") == "```' + t"  # not a closing fence after all: content
    assert g.finish() == ""


def test_first_line_streams_once_it_starts_like_code() -> None:
    f = CodeOutputFilter("x", "\n")
    assert f.feed("def") == ""  # may still be a word of a sentence
    assert f.feed(" f(x") == "def f(x"
    assert f.feed("):\n    return x") == "):\n    return x"
    f = CodeOutputFilter("x", "\n")
    assert f.feed('print("total:", ') == 'print("total:", '
    # A sentence may hold parentheses: such a line is judged whole.
    f = CodeOutputFilter("x", "\n")
    assert f.feed("To make it idiomatic (without repeating context) we ") == ""
    assert f.feed("unpack it:\n```\n") == ""
    assert f.feed("y = 2") == "y = 2"
    f = CodeOutputFilter("x", "\n")
    assert f.feed("Here's the fix (x = 1):") == ""
    assert f.feed("\n```\n") == ""
    assert f.feed("    y = 2") == "    y = 2"


def test_repeated_context_waits_only_while_it_may_repeat() -> None:
    f = CodeOutputFilter("x\n", "\n", before=["class Shape:"], after=["def perimeter(t):"])
    assert f.feed("class Sh") == ""  # may repeat the line before the range
    assert f.feed("ape:\n    x = 1\n") == "    x = 1"
    assert f.feed("def per") == ""  # may repeat the line after it
    assert f.feed("imeter(t):\n") == ""
    assert f.finish() == "\n"
    g = CodeOutputFilter("x\n", "\n", before=["class Shape:"], after=["def perimeter(t):"])
    assert g.feed("x = f(") == "x = f("


def test_whitespace_is_held_until_the_line_shows_its_indent() -> None:
    f = CodeOutputFilter("    x\n", "\n")
    assert f.feed("```\n") == ""
    assert f.feed("  ") == ""
    assert f.feed("a") == "    a"  # 2 spaces added: the answer's first line had 2, original 4


# --- line endings -------------------------------------------------------------------------------


def test_crlf_document() -> None:
    assert code("```\na\nb\n```", "x\r\n", "\r\n") == "a\r\nb\r\n"
    assert code("a\r\nb\rc\nd", "x\r\n", "\r\n") == "a\r\nb\r\nc\r\nd\r\n"
    assert code("a\r\n\r\nb", "x", "\n") == "a\n\nb"


def test_crlf_split_between_deltas() -> None:
    out, parts = run(["a\r", "\nb\r", "\r\n", "c"], "x\n", "\r\n")
    assert out == "a\r\nb\r\n\r\nc\r\n"
    assert parts[:3] == ["a", "\r\nb", ""]


def test_lone_cr_at_the_end() -> None:
    assert run(["a\r"], "x", "\n")[0] == "a"
    assert run(["a\r", ""], "x\n", "\n")[0] == "a\n"


# --- indentation --------------------------------------------------------------------------------


def test_reindents_to_the_original() -> None:
    answer = "```python\ndef f():\n\n    return 1\n```"
    assert code(answer, "    def g():\n        pass\n") == "    def f():\n\n        return 1\n"
    assert code(answer, "\n\n  x\n") == "  def f():\n\n      return 1\n"


def test_reindents_with_tabs() -> None:
    answer = "def f():\n    return 1"
    assert code(answer, "\t\tdef g(): pass\n") == "\t\tdef f():\n\t\t    return 1\n"
    # The answer kept one of two tabs: one tab is missing.
    assert code("\tx\n\t\ty", "\t\tz\n") == "\t\tx\n\t\t\ty\n"


def test_partly_indented_answer_gets_the_difference() -> None:
    assert code("  x\n    y", "    z\n") == "    x\n      y\n"


def test_answer_indented_more_is_left_alone() -> None:
    assert code("        x\n    y", "    z\n") == "        x\n    y\n"


def test_insertion_has_no_base_indent() -> None:
    assert code("```\nx = 1\n```", "") == "x = 1"
    assert code("x = 1\ny = 2\n", "", base_indent="    ") == "    x = 1\n    y = 2"


def test_insertion_after_existing_indentation() -> None:
    out = code("x = 1\ny = 2", "", base_indent="    ", indent_first_line=False)
    assert out == "x = 1\n    y = 2"


def test_cjk_content() -> None:
    answer = "以下是代码：\n```python\ndef 问候():\n    print('你好，世界')\n```\n说明：……"
    assert chars(answer, "  旧代码\n") == "  def 问候():\n      print('你好，世界')\n"


# --- trailing newline ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "trailing"),
    [("x\n", True), ("x\r\n", True), ("x\r", True), ("x", False), ("", False)],
)
def test_trailing_newline_follows_the_original(original: str, trailing: bool) -> None:
    for answer in ["a\nb", "a\nb\n", "a\nb\n\n\n", "```\na\nb\n\n```"]:
        assert code(answer, original) == ("a\nb\n" if trailing else "a\nb")


def test_trailing_newline_override() -> None:
    assert code("a", "", trailing_newline=True) == "a\n"
    assert code("a", "x\n", trailing_newline=False) == "a"


# --- prose filter -------------------------------------------------------------------------------


def test_prose_filter_normalises_line_endings_only() -> None:
    f = ProseOutputFilter("\r\n")
    parts = [f.feed("# Title\r"), f.feed("\n\n```py\rx\n"), f.feed("```\r"), f.finish()]
    # The last line break is the notes document's own: the answer's is dropped.
    assert "".join(parts) == "# Title\r\n\r\n```py\r\nx\r\n```"
    assert parts[0] == "# Title"


def test_prose_filter_holds_line_breaks_until_text_follows() -> None:
    f = ProseOutputFilter("\n")
    assert [f.feed("a\n"), f.feed("\n"), f.feed("\nb\n\n"), f.finish()] == ["a", "", "\n\n\nb", ""]


# --- efficiency ---------------------------------------------------------------------------------


def calls_to_filter(answer: str) -> int:
    """Counts the Python calls made feeding `answer` one character at a time (not time)."""
    f = CodeOutputFilter("x\n", "\n")
    count = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        for ch in answer:
            f.feed(ch)
        f.finish()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize(("head", "piece", "tail"), PATHOLOGICAL)
def test_char_by_char_streaming_is_linear(head: str, piece: str, tail: str) -> None:
    # Work per character stays the same whatever the answer's length: doubling the answer
    # doubles the calls (quadratic work would quadruple them).
    small = calls_to_filter(head + piece * 400 + tail)
    large = calls_to_filter(head + piece * 800 + tail)
    assert large <= 2.1 * small, (small, large)


# --- properties ---------------------------------------------------------------------------------

LINES = [
    "Here is the code:",
    "Sure.",
    "这是代码：",
    "Code:",
    "some plain words here",
    "```",
    "```python",
    "~~~",
    "````",
    "  ```  ",
    "``",
    "`x`",
    "def f(x):",
    "    return x + 1",
    "\tif 中文 == '😀':",
    "  ",
    "",
    "x = 1",
    "- item",
    "Use this: ```python",
    "them: ```def f(x):",
    "    return x```",
    "<think>",
    "</think>",
    '    """',
    "The function now caches results.",
]
BREAKS = ["\n", "\r\n", "\r"]


@st.composite
def answers(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.sampled_from(LINES) | st.text(max_size=8), max_size=12))
    out: list[str] = []
    for line in lines:
        out.append(line)
        out.append(draw(st.sampled_from(BREAKS)))
    drop_last_break = draw(st.booleans())
    if out and drop_last_break:
        out.pop()  # no final line break
    return "".join(out)


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


ORIGINALS = st.sampled_from(["", "x", "x\n", "    x\n", "\tx\r\n", "\n  中\n"])


@settings(max_examples=400, deadline=None)
@given(data=st.data(), original=ORIGINALS, eol=st.sampled_from(["\n", "\r\n"]))
def test_any_split_gives_the_same_text(data: st.DataObject, original: str, eol: str) -> None:
    answer = data.draw(answers(), label="answer")
    context = st.lists(st.sampled_from([s for s in LINES if s.strip()]), max_size=3)
    near = {
        "before": data.draw(context, label="before"),
        "after": data.draw(context, label="after"),
    }
    whole = code(answer, original, eol, **near)
    pieces = data.draw(splits(answer), label="pieces")
    f = CodeOutputFilter(original, eol, **near)  # type: ignore[arg-type]
    parts = [f.feed(piece) for piece in pieces]
    parts.append(f.finish())
    assert apply(parts) == whole
    # Line endings are the document's, with no strays.
    if eol == "\n":
        assert "\r" not in whole
    else:
        assert whole.count("\r") == whole.count("\n") == whole.count("\r\n")
    # Exactly one trailing line break when the original had one.
    if whole and original.endswith(("\n", "\r")):
        assert whole.endswith(eol) and not whole.endswith(eol + eol)
    elif whole:
        assert not whole.endswith(eol)


CODE_LINES = st.lists(
    st.sampled_from(["def f(x):", "    return x", "", "x = `a`", "中文 = '😀'", "a ~ b", "``"])
    | st.text(alphabet="ab =()\t", max_size=6),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    before=st.sampled_from(["", "Here is the code:\n\n", "Sure.\nSome words\n", "以下：\n"]),
    after=st.sampled_from(["", "\n", "\nThat's it.", "\n```\nmore\n```"]),
)
def test_fenced_code_comes_out_exactly(data: st.DataObject, before: str, after: str) -> None:
    lines = data.draw(CODE_LINES, label="code")
    body = "\n".join(lines)
    answer = f"{before}```python\n{body}\n```{after}"
    f = CodeOutputFilter("", "\n")
    pieces = data.draw(splits(answer), label="pieces")
    out = apply([*(f.feed(p) for p in pieces), f.finish()])
    # Expected: blank-only lines emptied, leading and trailing blank lines dropped.
    cleaned = [line if line.strip() else "" for line in lines]
    assert out == "\n".join(cleaned).strip("\n")
    assert "```" not in out


def test_an_indented_line_streams_at_its_first_character() -> None:
    f = CodeOutputFilter("    x = 1\n", "\n")
    assert f.feed("```\n    ") == ""
    assert f.feed("r") == "    r"


def test_markdown_documents_keep_their_code_blocks() -> None:
    section = "## Install\n\nRun:\n\n```bash\nnpm install\n```\n\nThen start it.\n"
    assert chars(section, prose_document=True) == section
    wrapped = "Here is the section:\n```markdown\n" + section + "```\nDone."
    assert chars(wrapped, prose_document=True) == section
    assert chars(wrapped) == section  # a ```markdown fence nests blocks in any document
