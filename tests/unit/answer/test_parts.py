"""The pure parts of answer hygiene: line shapes, fences, repeated context, the token estimate."""

from __future__ import annotations

import pytest

from gpt_lsp.accounting.usage import chunk_tokens, local_token_count
from gpt_lsp.answer.fences import Fence, closing, opening, opening_inside
from gpt_lsp.answer.quotes import TripleQuotes
from gpt_lsp.answer.repeats import RepeatTrimmer, context_lines
from gpt_lsp.answer.shape import LineKind, classify, is_prose_document, starts_like_code

PROSE = [
    "To make the code more idiomatic ... renders the original selection (without repeating "
    "context). Here's how it can be done:",
    "Based on the code, we can't match the output that follows the selection.",
    "Sure! Here's the updated function:",
    "I'm sorry, but I can't help with that.",
    "Unfortunately, the selection does not contain enough context.",
    "The function now caches results.",
    "This version unpacks the tuple (width, height) first.",
    "以下是修改后的代码：",
    "修改后的代码如下：",
    "I rewrote the loop to use enumerate",
    "let me explain what changed.",
    "for example, the loop now stops early.",
    # Sentences quoting phrases (issue 18 item 14): a quote is not code in a sentence.
    'You just need to keep it simple. Since you asked, "simple" means fewer parts. ..."',
    'If you write "x", it fails at once. Then the caller sees "None" instead of a number.',
    'The caller passes a tuple and expects "width" times "height" back',
    'But to be clearer, write this: "Unpack the tuple first, then multiply the sides',
    'you just need to keep the "width" name as it is. Then the caller sees the same thing.',
]
CODE = [
    "def area(t):",
    "x = 1",
    "return w * h",
    "print(area((2, 3)))",
    "SELECT name FROM users WHERE id = 1;",
    "Foo.bar(baz)",
    "else:",
    "foo: 1",
    "# This is a comment.",
    "- item",
    '"""Returns the area."""',
    "}",
    "end",
    "use std::io;",
    "print('你好')",
    "if x > 3 and y < 2:",
    # Statements with string arguments stay code, sentences in their strings or not.
    'Write-Host "You just need to pass the tuple. Since it unpacks, it works."',
    'INSERT INTO users (name, email, role, team) VALUES ("a", "b", "c", "d")',
    'Print "Hello. This is the end of it. Goodbye now."',
    'NOTE = "You just need to keep it simple. Since the code is short. That is all."',
    'raise ValueError("The sides must be positive. You passed a negative one. Check it.")',
    'Name: "A long description. It has sentences in it. Many of them."',
    'git commit -m "Fix the parser. It dropped lines. Now it keeps them."',
]


@pytest.mark.parametrize("line", PROSE)
def test_sentences_are_prose(line: str) -> None:
    assert classify(line) is LineKind.STRONG


@pytest.mark.parametrize("line", CODE)
def test_code_lines_are_code(line: str) -> None:
    assert classify(line) is LineKind.CODE


def test_unsure_lines_are_weak_and_prose_documents_keep_sentences() -> None:
    assert classify("Code:") is LineKind.WEAK
    assert classify("some plain words here") is LineKind.WEAK
    assert classify("description: Adds two numbers.") is LineKind.WEAK  # YAML
    assert classify("The function now caches results.", prose_document=True) is LineKind.CODE
    assert classify("Here is the updated text:", prose_document=True) is LineKind.STRONG
    assert is_prose_document("markdown", "file:///a.py")
    assert is_prose_document("", "file:///notes.md")
    assert not is_prose_document("python", "file:///a.md")


def test_fences_at_a_line_start() -> None:
    assert opening("```python") == Fence("`", 3, True, tag="python")
    assert opening("```Markdown").markdown  # type: ignore[union-attr]
    assert opening("  ~~~~") == Fence("~", 4, False)
    assert opening("```go") == Fence("`", 3, True, tag="go")  # a tag, although `go` is a keyword
    assert opening("```def area(t):") == Fence("`", 3, False, "def area(t):")
    assert opening("```a``` b") is None  # inline code
    assert opening("x = 1") is None


def test_fences_in_the_middle_of_a_line() -> None:
    found = opening_inside("... use tuple unpacking to concatenate them: ```def area(t):")
    assert found == (
        "... use tuple unpacking to concatenate them: ",
        Fence("`", 3, False, "def area(t):"),
    )
    found = opening_inside("以下是代码：```python")
    assert found == ("以下是代码：", Fence("`", 3, True, tag="python"))
    assert opening_inside('s = "wrap it in ``` fences"', in_code=True) is None  # a string
    assert opening_inside("x = 'a ``` b'", in_code=True) is None
    prose = "the users' code: ```python"
    assert opening_inside(prose) == ("the users' code: ", Fence("`", 3, True, tag="python"))
    assert opening_inside("use ```x``` here") is None  # inline code
    assert opening_inside("```python") is None  # at the start: `opening` decides


def test_closing_fences() -> None:
    fence = Fence("`", 3, True)
    assert closing("```", fence) == ""
    assert closing("  ````  ", fence) == ""
    assert closing("    return x```", fence) == "    return x"
    assert closing("``` Hope this helps!", fence) == ""
    assert closing("~~~", fence) is None
    assert closing("```js", fence) is None
    assert closing("``", Fence("`", 3, False)) is None
    assert closing("```", Fence("`", 4, False)) is None


def test_triple_quotes_are_followed_across_lines() -> None:
    quotes = TripleQuotes()
    quotes.feed('    """Returns the area.')
    assert quotes.open == '"""'
    quotes.feed("    ```python")
    assert quotes.open == '"""'
    quotes.feed("    \"\"\" + '''x'''")
    assert quotes.open is None
    quotes.feed("s = '''")
    assert quotes.open == "'''"
    quotes.reset()
    assert quotes.open is None


def test_context_lines_are_the_complete_lines_around_the_range() -> None:
    before, after = context_lines("a\n\n  b\n  c", "d\n  e\nf\n")
    assert before == ["a", "b"]  # "  c" starts the range's own line
    assert after == ["e", "f"]  # "d" ends it


def trim(before: list[str], after: list[str], original: str, lines: list[str]) -> list[str]:
    t = RepeatTrimmer(before, after, original)
    out: list[str] = []
    for line in lines:
        out.extend(t.push(line))
    return out + t.finish()


def test_repeats_at_the_start_and_the_end_are_dropped() -> None:
    before, after = ["class Shape:", "# Areas."], ["def perimeter(t):", "return 2"]
    lines = [
        "class Shape:",
        "    # Areas.",
        "def area(t):",
        "    return 1",
        "",
        "def perimeter(t):",
    ]
    kept = trim(before, after, "def area(t): pass\n", lines)
    assert kept == ["def area(t):", "    return 1", ""]  # the writer drops trailing blanks
    # Only the nearest lines count, in order.
    assert trim(before, after, "x\n", ["class Shape:", "x = 1"]) == ["class Shape:", "x = 1"]
    assert trim(before, after, "x\n", ["# Areas.", "x = 1"]) == ["x = 1"]


def test_trivial_or_own_repeats_stay() -> None:
    assert trim(["}"], [], "x\n", ["}", "x = 1"]) == ["}", "x = 1"]  # too short to be sure
    own = "# Areas.\nx = 0\n"  # the original starts with the same line: not an echo
    assert trim(["# Areas."], [], own, ["# Areas.", "x = 1"]) == ["# Areas.", "x = 1"]
    assert trim([], ["return 2 * x"], "y\nreturn 2 * x\n", ["y", "return 2 * x"]) == [
        "y",
        "return 2 * x",
    ]


def test_a_line_that_stops_matching_is_released_in_order() -> None:
    after = ["def perimeter(t):", "return 2 * sum(t)"]
    lines = ["x = 1", "def perimeter(t):", "return 3", "y = 2"]
    assert trim([], after, "x\n", lines) == lines
    t = RepeatTrimmer([], after, "x\n")
    assert t.may_hold("def per") and not t.may_hold("x =")
    t.push("def perimeter(t):")
    assert t.may_hold("anything")  # a held line: what follows waits


def test_chunk_tokens_count_one_per_chunk_until_clearly_more() -> None:
    assert chunk_tokens("") == 0
    assert [chunk_tokens(t) for t in [" return", "        ", "(", " x", "\n"]] == [1] * 5
    assert chunk_tokens("修改") == 1 and chunk_tokens("你好世界") == 2
    assert chunk_tokens("def area(t):\n    return t[0] * t[1]\n") == 8
    # The old per-chunk estimate rounded every piece up: 5 to 7 characters counted two.
    assert local_token_count(" width") == 2 and chunk_tokens(" width") == 1


def test_an_answer_that_is_only_context_is_kept() -> None:
    # Nothing else came: the code equals its neighbours, and an empty region would lose it.
    before, after = ["class Shape:"], ["def perimeter(t):"]
    lines = ["class Shape:", "def perimeter(t):"]
    assert trim(before, after, "x\n", lines) == lines
    assert trim(before, after, "x\n", ["class Shape:", "x = 1", "def perimeter(t):"]) == ["x = 1"]


CODE_STARTS = ["return x + 1", "let x = 1", "from os import path", "x = 1", "print(1", "@dec"]
CODE_STARTS += ["fn main", "func main", "else:", "self.x = 1", "if (x", "# note", "}", "def f"]
SENTENCE_STARTS = ["return the sum", "let me explain", "from what I see", "if you want"]
SENTENCE_STARTS += ["for example", "Here is", "To make the code", "import the module", "return"]


@pytest.mark.parametrize("head", CODE_STARTS)
def test_lines_that_start_like_code_stream(head: str) -> None:
    assert starts_like_code(head)
    assert starts_like_code(head + " and whatever follows")  # a prefix decides for the line


@pytest.mark.parametrize("head", SENTENCE_STARTS)
def test_lines_that_may_be_sentences_wait(head: str) -> None:
    assert not starts_like_code(head)
