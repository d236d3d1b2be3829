"""Prompt building (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from gpt_lsp.prompting.prompts import (
    PromptContext,
    build_messages,
    context_window,
    render_template,
    template_messages,
)


def ctx(**kw: object) -> PromptContext:
    base: dict[str, object] = {
        "language_id": "python",
        "file_name": "app.py",
        "selection": "def f():\n    return 1\n",
        "before": "import os\n",
        "after": "print(f())\n",
    }
    base.update(kw)
    return PromptContext(**base)  # type: ignore[arg-type]


def test_code_prompt_has_rules_language_selection_and_context() -> None:
    system, user = build_messages("Refactor it.", "code", ctx(diagnostics=["E1: bad"]))
    assert system["role"] == "system" and user["role"] == "user"
    assert "Python" in system["content"]
    assert "only the code" in system["content"]
    assert "no Markdown" in system["content"]
    body = user["content"]
    assert "Task: Refactor it." in body
    assert "app.py" in body
    assert "def f():\n    return 1\n" in body
    assert "import os" in body and "print(f())" in body
    assert "- E1: bad" in body
    assert body.index("import os") < body.index("def f()") < body.index("print(f())")


def test_prose_language_setting() -> None:
    system, _ = build_messages("Explain.", "prose", ctx(prose_language="zh-CN"))
    assert "Simplified Chinese" in system["content"]
    assert "Markdown" in system["content"]
    system, _ = build_messages("Refactor.", "code", ctx(prose_language="zh-CN"))
    assert "comments or docstrings" in system["content"] and "Chinese" in system["content"]


def test_empty_selection_asks_for_an_insertion() -> None:
    _, user = build_messages("Write a main guard.", "code", ctx(selection=""))
    assert "empty" in user["content"]


def test_selection_with_backticks_cannot_close_the_fence() -> None:
    _, user = build_messages("x", "code", ctx(selection="s = '```'\n", before="", after=""))
    assert "````\ns = '```'\n````" in user["content"]


def test_template_placeholders_and_braces_in_code() -> None:
    c = ctx(instruction="make it async", diagnostics=["D"])
    text = render_template("{language} {fileName} {instruction} {diagnostics} {x} {{}}", c)
    assert text == "Python app.py make it async D {x} {{}}"


def test_template_without_selection_gets_the_sections() -> None:
    _, user = template_messages("Write tests for this.", "code", ctx())
    assert "Task: Write tests for this." in user["content"]
    assert "def f()" in user["content"]
    _, user = template_messages("Only: {selection}", "code", ctx())
    assert user["content"] == "Only: def f():\n    return 1\n"


def test_context_window_is_centred_and_cut_at_lines() -> None:
    before = "".join(f"b{i}\n" for i in range(1000))
    after = "".join(f"a{i}\n" for i in range(1000))
    window = context_window(before, after, 100)
    assert window.truncated
    assert len(window.before) + len(window.after) <= 100
    assert window.before.endswith("b999\n") and window.after.startswith("a0\n")
    assert abs(len(window.before) - len(window.after)) < 20
    assert window.before.startswith("b") and window.after.endswith("\n")


def test_context_window_gives_a_short_side_share_to_the_other() -> None:
    window = context_window("x\n" * 1000, "tail\n", 100)
    assert window.after == "tail\n"
    assert len(window.before) > 80


@given(st.text(max_size=300), st.text(max_size=300), st.integers(0, 400))
def test_context_window_never_exceeds_budget_and_keeps_adjacent_text(
    before: str, after: str, budget: int
) -> None:
    window = context_window(before, after, budget)
    assert len(window.before) + len(window.after) <= budget
    assert before.endswith(window.before)
    assert after.startswith(window.after)
    if len(before) + len(after) <= budget:
        assert (window.before, window.after) == (before, after)


def test_exclude_globs_match_in_any_letter_case() -> None:
    from gpt_lsp.prompting.slicing import excluded_by
    from gpt_lsp.settings import Settings

    globs = [*Settings().exclude_globs, "**/Vault/*"]
    for name in (".ENV", ".Env", ".env.Local", "server.PEM", "app.KEY", "ID_RSA", "MySecret.py"):
        assert excluded_by(f"file:///home/u/p/{name}", globs) is not None, name
    assert excluded_by("file:///home/u/p/SECRETS.yaml", globs) == "*secret*"
    assert excluded_by("file:///home/u/VAULT/notes.py", globs) == "**/Vault/*"
    assert excluded_by("file:///home/u/p/Envelope.py", globs) is None
    assert excluded_by("file:///home/u/p/keys.py", globs) is None
