"""Actions and the AI: marker (pure)."""

import pytest

from gpt_lsp.prompting.actions import all_actions, block_after, find_action, find_marker, markers_in
from gpt_lsp.settings import ActionConfig


def test_builtins_and_user_actions() -> None:
    actions = all_actions(
        [
            ActionConfig(id="tests", title="Write tests", prompt="Write tests for {selection}"),
            ActionConfig(id="refactor", title="My refactor", prompt="Do it my way"),
        ]
    )
    ids = [a.id for a in actions]
    assert ids == ["refactor", "fix", "document", "explain", "tests"]
    refactor = find_action(actions, "refactor")
    assert refactor is not None and refactor.title == "My refactor"
    assert refactor.template == "Do it my way"
    fix = find_action(actions, "fix")
    assert fix is not None and fix.kind == "quickfix" and fix.needs_diagnostics
    explain = find_action(actions, "explain")
    assert explain is not None and not explain.writes_code


@pytest.mark.parametrize(
    ("line", "instruction"),
    [
        ("# AI: make it async", "make it async"),
        ("    # AI: make it async  ", "make it async"),
        ("// AI: use a map", "use a map"),
        ("-- AI: add an index", "add an index"),
        (";; AI: use let", "use let"),
        ("/* AI: inline this */", "inline this"),
        ("<!-- AI: add alt text -->", "add alt text"),
        ("\t//AI:tabs", "tabs"),
        ("# AI: 改成异步", "改成异步"),
    ],
)
def test_marker_in_each_comment_syntax(line: str, instruction: str) -> None:
    marker = find_marker(line, 3)
    assert marker is not None
    assert marker.instruction == instruction
    assert marker.line == 3


@pytest.mark.parametrize(
    "line", ["# AI:", "x = 1  # AI: not at start", "print('# AI: no')", "# ai: lower", "AI: bare"]
)
def test_not_a_marker(line: str) -> None:
    assert find_marker(line, 0) is None


def test_block_after_a_python_marker() -> None:
    lines = [
        "# AI: make it async",
        "def f(x):",
        "    y = x",
        "",
        "    return y",
        "",
        "def g():",
    ]
    assert block_after(lines, 0) == (1, 4)


def test_block_after_includes_closing_brace() -> None:
    lines = ["// AI: use map", "for (;;) {", "  a();", "}", "next();"]
    assert block_after(lines, 0) == (1, 3)


def test_block_after_at_end_is_an_insertion_point() -> None:
    assert block_after(["x", "# AI: write main", "", ""], 1) == (2, 1)


def test_markers_in_range() -> None:
    lines = ["a", "# AI: one", "b", "// AI: two"]
    assert [m.instruction for m in markers_in(lines, 0, 10)] == ["one", "two"]
