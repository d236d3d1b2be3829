"""Pure cores of inline completion: context cutting, mode, prompt, cleaning, cache, policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpt_lsp.completion.cache import SuggestionCache
from gpt_lsp.completion.clean import clean, settled
from gpt_lsp.completion.context import CompletionContext, choose_mode, cut_context
from gpt_lsp.completion.policy import Latest, Throttle
from gpt_lsp.completion.prompt import HOLE, build_messages
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos


def ctx_at(text: str, language: str = "python", name: str = "app.py") -> CompletionContext:
    """A context whose cursor is at the '|' in text."""
    prefix, suffix = text.split("|", 1)
    return CompletionContext(f"file:///w/{name}", language, 0, 0, prefix, suffix, "\n")


# ---------------------------------------------------------------- context


def test_the_context_is_cut_around_the_cursor_within_budgets() -> None:
    lines = [f"  line {i}\n" for i in range(10_000)]  # one block: the budgets cut it
    doc = TextDoc("file:///w/big.py", "".join(lines), 1, "python")
    ctx = cut_context(doc, Pos(5000, 6), "utf-16", 100, 40)
    assert ctx.prefix.endswith("line")
    assert ctx.suffix.startswith(" 5000\n")
    assert 90 <= len(ctx.prefix) <= 100 and ctx.prefix.startswith("  line ")
    assert len(ctx.suffix) <= 40 and ctx.suffix.endswith("\n")
    assert ctx.file_name == "big.py"


def test_the_text_after_the_cursor_ends_with_its_top_level_block() -> None:
    source = (
        "class Shop:\n"
        "    def total(self):\n"
        "        s = 0\n"
        "\n"
        "        return s\n"
        "\n"
        "    def empty(self):\n"
        "        return not self.items\n"
        "\n"
        "\n"
        "def helper():\n"
        "    return 1\n"
    )
    doc = TextDoc("file:///w/shop.py", source, 1, "python")
    ctx = cut_context(doc, Pos(2, 13), "utf-16", 3000, 1000)  # after "s = 0"
    # The rest of the class (the method's end, the next method) and the line after it; not
    # the function after that.
    assert ctx.suffix == "\n" + source.split("\n", 3)[3].split("    return 1")[0]
    assert ctx.suffix.endswith("def helper():\n")
    braces = TextDoc("file:///w/a.go", "func a() {\n\tx := 1\n}\n\nfunc b() {\n}\n", 1, "go")
    assert cut_context(braces, Pos(1, 8), "utf-16", 3000, 1000).suffix == "\n}\n"
    top = cut_context(doc, Pos(10, 4), "utf-16", 3000, 1000)  # "def |helper": at column 0
    assert top.suffix == "helper():\n    return 1\n"  # to the end of the file: no next block
    small = cut_context(doc, Pos(1, 4), "utf-16", 3000, 30)  # the cap still holds first
    assert small.suffix == "def total(self):\n"


def test_a_cursor_past_the_end_is_clamped() -> None:
    doc = TextDoc("file:///w/a.py", "ab\ncd", 1, "python")
    past_line = cut_context(doc, Pos(0, 99), "utf-16", 100, 100)
    assert (past_line.prefix, past_line.suffix) == ("ab", "\ncd")
    past_doc = cut_context(doc, Pos(7, 0), "utf-16", 100, 100)
    assert (past_doc.prefix, past_doc.suffix, past_doc.line) == ("ab\ncd", "", 1)


def test_utf16_positions_are_read_in_the_clients_units() -> None:
    doc = TextDoc("file:///w/a.py", "s = '😀x'\n", 1, "python")
    ctx = cut_context(doc, Pos(0, 7), "utf-16", 100, 100)  # 😀 is two UTF-16 units
    assert ctx.prefix == "s = '😀" and ctx.suffix.startswith("x'")


@pytest.mark.parametrize(
    ("text", "policy", "mode"),
    [
        ("x = foo(|)", "auto", "line"),  # text after the cursor
        ("x = fo|", "auto", "line"),  # end of a line with text
        ("def f():|\n", "auto", "block"),  # after a block opener
        ("if (x) {|\n}", "auto", "block"),
        ("def f():\n    |\n", "auto", "block"),  # a blank line
        ("x = fo|", "always", "block"),
        ("def f():|\n", "never", "line"),
    ],
)
def test_mode(text: str, policy: str, mode: str) -> None:
    assert choose_mode(ctx_at(text), policy) == mode  # type: ignore[arg-type]


# ---------------------------------------------------------------- prompt


def test_the_prompt_asks_for_the_hole_with_file_name_and_language() -> None:
    ctx = ctx_at("def add(a, b):\n    return |\n\nprint(add(1, 2))\n")
    messages = build_messages(ctx, ctx.prefix, ctx.suffix, "line")
    system, user = messages[0]["content"], messages[1]["content"]
    assert messages[0]["role"] == "system" and HOLE in system
    assert "app.py (python)" in user
    assert f"    return {HOLE}\n\nprint(add(1, 2))" in user
    assert "rest of the current line" in user
    block = build_messages(ctx, ctx.prefix, ctx.suffix, "block")[1]["content"]
    assert "few lines" in block


def test_the_chat_prompt_adds_few_tokens_to_the_file_it_shows() -> None:
    # Sent with every completion: the instructions, the file's name and the hole's scope, no
    # repeat of the cursor line (the typing bench's billed-tokens goal needs <= 200 characters).
    ctx = ctx_at("def add(a, b):\n    return |\n\nprint(add(1, 2))\n")
    for mode in ("line", "block"):
        messages = build_messages(ctx, ctx.prefix, ctx.suffix, mode)  # type: ignore[arg-type]
        added = sum(len(m["content"]) for m in messages) - len(ctx.prefix + HOLE + ctx.suffix)
        assert added <= 200
        assert messages[1]["content"].count("    return ") == 1


# ---------------------------------------------------------------- cleaning

CASES = [
    # (cursor text, mode, model answer, expected insertion)
    ("def add(a, b):\n    return |\n", "line", "a + b", "a + b"),
    ("def add(a, b):\n    return |\n", "line", "```python\na + b\n```", "a + b"),
    ("def add(a, b):\n    return |\n", "line", "Here is the completion:\n```\na + b\n```", "a + b"),
    ("def add(a, b):\n    return |\n", "line", "    return a + b", "a + b"),  # echo of the line
    ("def add(a, b):\n    return |\n", "line", "return a + b", "a + b"),
    ("x = compute(|)\n", "line", "1, 2)", "1, 2"),  # echo of the suffix
    ("x = compute(|)\n", "line", "1, 2) + 3", "1, 2"),  # closes the context's bracket
    ("x = compute(|)\n", "line", "f(1), 2)", "f(1), 2"),  # its own bracket stays
    ("x = compute(|)\n", "line", ")", ""),  # nothing but the suffix
    ("x = compute(|)\n", "line", "", ""),
    ("x = compute(|)\n", "line", "  \n ", ""),
    ("    ret|\n", "line", "return value", "urn value"),  # the word is repeated
    ("total = sum|\n", "line", "sum(values)", "(values)"),
    ("name = user.na|\n", "line", "me.strip()", "me.strip()"),  # no echo: kept
    ("print(|\n", "line", "'hi')\nprint('more')", "'hi')"),  # one line only
    ("s = <FILL>|\n", "line", "<FILL>1", "1"),
    ("value = |\n", "line", "<completion>42</completion>", "42"),
    ("xs = [|]\n", "line", "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "0, 0,"),  # runaway
    (
        "def f(x):|\n\ndef g():\n    pass\n",
        "block",
        "\n    y = x * 2\n    return y\n\ndef h():\n    pass",
        "\n    y = x * 2\n    return y",
    ),
    ("def f(x):|\n", "block", "    return x", "\n    return x"),  # body on the next line
    (
        "def f(x):\n    |\n    return y\n",
        "block",
        "y = x + 1\n    return y",
        "y = x + 1",
    ),  # the suffix's next line came back
    (
        "def f(x):\n    |\n    return y\n",
        "block",
        "    y = x + 1",
        "y = x + 1",
    ),  # the cursor's indentation repeated
    (
        "class A:\n    def f(self):\n        |\n",
        "block",
        "if self.x:\nreturn 1",
        "if self.x:\n        return 1",
    ),  # written at column 0
    (
        "function f() {|\n}\n",
        "block",
        "\n  return 1;\n}",
        "\n  return 1;",
    ),  # the suffix already closes the block
    (
        "function f() {|\n",
        "block",
        "\n  return 1;\n}\n\nfunction g() {}",
        "\n  return 1;\n}",
    ),  # closes its opener, stops there
    (
        "for x in xs:\n    |\n",
        "block",
        "print(x)\n    print(x)\n    print(x)\n    print(x)",
        "print(x)",
    ),  # repeated lines
    (
        "def f():\n    |\n",
        "block",
        "pass\n\nThis function does nothing.",
        "pass",
    ),  # trailing prose
    ("def f():\n    |\n    return y\n", "block", "return y", ""),  # the next line itself
]


@pytest.mark.parametrize(("text", "mode", "answer", "expected"), CASES)
def test_clean(text: str, mode: str, answer: str, expected: str) -> None:
    assert clean(answer, ctx_at(text), mode) == expected  # type: ignore[arg-type]


def test_clean_uses_the_documents_line_break() -> None:
    ctx = ctx_at("def f(x):|\r\n").__class__(
        "file:///w/a.py", "python", 0, 0, "def f(x):", "\r\n", "\r\n"
    )
    assert clean("\n    return x", ctx, "block") == "\r\n    return x"


def test_markdown_fences_are_content() -> None:
    ctx = ctx_at("Example:\n|\n", language="markdown", name="a.md")
    assert clean("```sh\nls", ctx, "block") == "```sh\nls"


# ---------------------------------------------------------------- cache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_typing_through_a_suggestion_answers_the_rest() -> None:
    cache = SuggestionCache(clock=Clock())
    cache.put("u", "x = comp", ")\n", "ute(1, 2")
    assert cache.get("u", "x = comp", ")\n") == "ute(1, 2"  # back at the same place
    assert cache.get("u", "x = compu", ")\n") == "te(1, 2"
    assert cache.get("u", "x = compute(1", ")\n") == ", 2"
    assert cache.get("u", "x = compute(1, 2", ")\n") is None  # all typed: ask again
    assert cache.get("u", "x = compx", ")\n") is None  # typed something else
    assert cache.get("u", "x = compu", "]\n") is None  # the suffix changed
    assert cache.get("other", "x = compu", ")\n") is None


def test_a_short_prefix_must_match_whole() -> None:
    cache = SuggestionCache(clock=Clock())
    cache.put("u", "", "\n", "import os")
    assert cache.get("u", "", "\n") == "import os"
    assert cache.get("u", "imp", "\n") == "ort os"
    assert cache.get("u", "x = 1\n", "\n") is None  # not the empty document's start
    long = "y" * 300
    cache.put("u", long, "", "z")
    assert cache.get("u", "x" + long, "") == "z"  # only the last 256 characters identify it


def test_cached_suggestions_expire_and_are_bounded() -> None:
    clock = Clock()
    cache = SuggestionCache(ttl=30, per_document=2, documents=2, clock=clock)
    cache.put("u", "a", "", "1")
    cache.put("u", "b", "", "")  # an empty answer is remembered too
    assert cache.get("u", "b", "") == ""
    cache.put("u", "c", "", "3")
    assert cache.get("u", "a", "") is None and len(cache) == 2
    clock.now = 31
    assert cache.get("u", "c", "") is None and len(cache) == 0
    for uri in ("1", "2", "3"):
        cache.put(uri, "p", "", "x")
    assert cache.get("1", "p", "") is None and cache.get("3", "p", "") == "x"


# ---------------------------------------------------------------- policy


def test_a_newer_ticket_makes_the_older_stale() -> None:
    latest = Latest()
    first = latest.take("u")
    other = latest.take("v")
    second = latest.take("u")
    assert not latest.current(first) and latest.current(second) and latest.current(other)
    latest.release(first)  # stale: changes nothing
    assert latest.current(second)
    latest.release(second)
    latest.release(other)
    assert len(latest) == 0


def test_the_throttle_lets_one_message_through_a_minute() -> None:
    clock = Clock()
    throttle = Throttle(60, clock)
    assert throttle.allow("relay")
    clock.now = 59
    assert not throttle.allow("relay") and throttle.allow("budget")
    clock.now = 61
    assert throttle.allow("relay")


# ---------------------------------------------------------------- when the stream may stop


@pytest.mark.parametrize(
    ("text", "mode", "answer", "done"),
    [
        ("x = |\n", "line", "compute(", False),  # the line may go on
        ("x = |\n", "line", "compute(1)\n", True),  # a line break ends a single line
        ("x = |\n", "line", "```python\n", False),  # a fence opened: the code is still to come
        ("x = |\n", "line", "```python\ncompute(1)\n", True),
        ("x = |\n", "line", "Here is the completion:\n", False),
        ("def f():|\n", "block", "\n    return 1\n", False),  # the block may go on
        ("def f():|\n", "block", "\n    return 1\n\ndef g", True),  # it ended
        ("x = |\n", "line", "", False),
    ],
)
def test_settled(text: str, mode: str, answer: str, done: bool) -> None:
    assert settled(answer, ctx_at(text), mode) is done  # type: ignore[arg-type]


def test_the_fallback_item_filters_on_the_word_being_typed() -> None:
    from gpt_lsp.completion.service import Suggestion
    from gpt_lsp.lsp.completion import _item

    item = _item("urn value\n    x", Suggestion("urn value\n    x", 3, 7, "    ret"))
    assert item.label == "AI: return value"
    assert item.filter_text == "ret" + "urn value\n    x"
    assert item.text_edit is not None and item.text_edit.new_text == "urn value\n    x"
    assert item.text_edit.range.start == item.text_edit.range.end  # type: ignore[union-attr]
    assert item.text_edit.range.start.line == 3 and item.text_edit.range.start.character == 7  # type: ignore[union-attr]


# ---------------------------------------------------------------- a block's indentation

# (document with the cursor at '|' on a blank line, model answer, expected insertion): the
# first line goes at the cursor; later lines keep their place relative to it, in the file's
# indentation (its unit, tabs or spaces).
INDENT_CASES = [
    (  # 4-space file, the model's 2-space answer with its first line indented
        "def total(items):\n    |\n",
        "  result = 0\n  for item in items:\n    result += item\n  return result",
        "result = 0\n    for item in items:\n        result += item\n    return result",
    ),
    (  # 4-space file, the answer relative to column 0 (a body inside a loop at the cursor)
        "def total(items):\n    result = 0\n    |\n",
        "for item in items:\n    result += item\nreturn result",
        "for item in items:\n        result += item\n    return result",
    ),
    (  # 4-space file, the first line written after the cursor, the rest where they go
        "def total(items):\n    result = 0\n    |\n",
        "for item in items:\n        result += item\n    return result",
        "for item in items:\n        result += item\n    return result",
    ),
    (  # 2-space file, a 4-space answer
        "function total(items) {\n  let result = 0;\n  |\n  return result;\n}\n",
        "    for (const item of items) {\n        result += item;\n    }",
        "for (const item of items) {\n    result += item;\n  }",
    ),
    (  # a tab-indented file, a 4-space answer
        "func total(items []int) int {\n\tresult := 0\n\t|\n\treturn result\n}\n",
        "    for _, item := range items {\n        result += item\n    }",
        "for _, item := range items {\n\t\tresult += item\n\t}",
    ),
    (  # a tab-indented file nested deeper, the answer at column 0 with 2 spaces
        "class A:\n\tdef f(self, xs):\n\t\t|\n",
        "for x in xs:\n  if x:\n    yield x",
        "for x in xs:\n\t\t\tif x:\n\t\t\t\tyield x",
    ),
    (  # a 4-space file, an answer in tabs
        "def total(items):\n    |\n",
        "\tresult = 0\n\tfor item in items:\n\t\tresult += item\n\treturn result",
        "result = 0\n    for item in items:\n        result += item\n    return result",
    ),
    (  # a hanging indent that aligns with a bracket is kept as it is, relative to its line
        "def f(a, b):\n    |\n",
        "  value = compute(a,\n                  b)\n  return value",
        "value = compute(a,\n                    b)\n    return value",
    ),
]


@pytest.mark.parametrize(("text", "answer", "expected"), INDENT_CASES)
def test_a_blocks_later_lines_follow_the_first_lines_indentation(
    text: str, answer: str, expected: str
) -> None:
    assert clean(answer, ctx_at(text), "block") == expected


STYLES = {"2": "  ", "4": "    ", "tab": "\t"}


@st.composite
def block(draw: st.DrawFn) -> list[int]:
    """Nesting levels of a block's lines: a line opens a block when the next is deeper."""
    levels = [0]
    for _ in range(draw(st.integers(0, 6))):
        levels.append(draw(st.integers(0, levels[-1] + 1)))
    return levels


@given(
    levels=block(),
    depth=st.integers(1, 3),
    file_style=st.sampled_from(sorted(STYLES)),
    model_style=st.sampled_from(sorted(STYLES)),
    frame=st.sampled_from(["from-column-0", "absolute", "first-line-bare"]),
)
def test_any_blocks_indentation_lands_in_the_files(
    levels: list[int], depth: int, file_style: str, model_style: str, frame: str
) -> None:
    unit, model = STYLES[file_style], STYLES[model_style]
    if frame != "from-column-0":
        model = unit  # a model that writes the file's columns saw (and writes) its indentation
    code = [
        f"if x{i}:" if i + 1 < len(levels) and levels[i + 1] > level else f"y{i} = {i}"
        for i, level in enumerate(levels)
    ]
    prefix = "".join(f"{unit * d}if a{d}:\n" for d in range(depth)) + unit * depth
    shift = 0 if frame == "from-column-0" else depth
    answer = [model * (level + shift) + line for level, line in zip(levels, code, strict=True)]
    if frame == "first-line-bare":
        answer[0] = code[0]
    expected = [code[0]] + [
        unit * (depth + level) + line for level, line in zip(levels[1:], code[1:], strict=True)
    ]
    ctx = CompletionContext("file:///w/a.py", "python", 0, 0, prefix, "\n", "\n")
    assert clean("\n".join(answer), ctx, "block") == "\n".join(expected)
