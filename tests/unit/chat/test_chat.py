"""Chat documents' pure parts: a document read as turns (edited turns, code blocks, headings
the user typed, CJK), the budget cut, references found and expanded (excluded files refused
unread, size caps said, binary files refused), `<think>` dropped, titles and the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt_lsp.chat.budget import cut
from gpt_lsp.chat.document import (
    Meta,
    ai_heading,
    block_at,
    fenced,
    heading_role,
    messages,
    new_document,
    parse,
    read_meta,
    title_of,
)
from gpt_lsp.chat.folder import create, recent, workspace_folder
from gpt_lsp.chat.references import REF_CHARS, Source, expand, find
from gpt_lsp.chat.sources import WorkspaceSources
from gpt_lsp.chat.think import ThinkFilter
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import set_language
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc

CHAT = """<!-- gpt-lsp chat {"source": "file:///w/app.py", "range": [2, 0, 4, 0]} -->

## You

`app.py` lines 3-4:

```python
## You
def total(items):
    return sum(items)
```

为什么这么慢？

## AI · gpt-4 · 120 tokens · 1.0 s

Because.

````markdown
## AI
```
````

## AI safety is a section of my own question

## You

Follow-up, edited.
"""


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_a_document_reads_as_turns_with_headings_inside_code_ignored() -> None:
    doc = parse(lines(CHAT))
    assert doc.meta == Meta("file:///w/app.py", (2, 0, 4, 0))
    assert [t.role for t in doc.turns] == ["user", "assistant", "user"]
    first, answer, last = doc.turns
    assert "## You\ndef total(items):" in first.text and first.text.endswith("为什么这么慢？")
    assert answer.text.startswith("Because.") and "## AI safety" in answer.text
    assert last.text == "Follow-up, edited."
    assert [(b.info, b.role) for b in doc.blocks] == [("python", "user"), ("markdown", "assistant")]
    assert block_at(doc, 8) is doc.blocks[0] and block_at(doc, 3) is None
    said = messages(doc.turns)
    assert [m["role"] for m in said] == ["user", "assistant", "user"]
    assert "gpt-lsp chat" not in str(said)


def test_headings_the_user_types_and_chinese_ones_are_turns() -> None:
    assert heading_role("## You") == heading_role("## 你") == heading_role("## me") == "user"
    assert heading_role("## AI") == heading_role("## AI · gpt-4o · 3 tokens") == "assistant"
    assert heading_role("## AI safety") is None and heading_role("### You") is None
    assert heading_role("## Your turn") is None
    text = "## 你\n\n问题一\n\n## 你\n\n问题二\n\n## AI\n\n\n## 你\n\n问题三\n"
    said = messages(parse(lines(text)).turns)
    # Two user turns in a row are one message; an empty answer is left out.
    assert said == [{"role": "user", "content": "问题一\n\n问题二\n\n问题三"}]


def test_text_before_any_heading_is_the_users_and_a_leading_answer_is_dropped() -> None:
    assert messages(parse(lines("just a question\n")).turns) == [
        {"role": "user", "content": "just a question"}
    ]
    said = messages(parse(lines("## AI\n\nhello\n\n## You\n\nhi\n")).turns)
    assert said == [{"role": "user", "content": "hi"}]


def test_an_unclosed_block_runs_to_the_end() -> None:
    doc = parse(lines("## AI\n\n```python\nx = 1\n## You\nnot a heading\n"))
    assert [t.role for t in doc.turns] == ["assistant"]
    assert doc.blocks[0].code == "x = 1\n## You\nnot a heading"


def test_a_new_document_and_its_title() -> None:
    meta = Meta("file:///w/a.py", (0, 0, 1, 0))
    text = new_document(meta, "`a.py` lines 1-1:\n\n" + fenced("x = 1\n", "python"), "Why?")
    assert text.endswith("Why?\n") and read_meta(text.splitlines()[0]) == meta
    doc = parse(lines(text))
    assert title_of(doc) == "Why?"
    assert title_of(parse(lines(new_document(Meta(), "", "")))) == ""
    assert read_meta("<!-- gpt-lsp chat {bad json -->") == Meta()
    assert read_meta('<!-- gpt-lsp chat {"range": [1, -2, 3, 4]} -->') == Meta()
    assert read_meta("# not a chat") is None


def test_a_fence_is_longer_than_any_backticks_inside() -> None:
    assert fenced("a ```` b", "md").startswith("`````md\n")
    assert fenced("plain") == "```\nplain\n```"


def test_headings_follow_the_ui_language() -> None:
    assert ai_heading("gpt-4", ["1 token", "", "2.0 s"]) == "## AI · gpt-4 · 1 token · 2.0 s"
    set_language("zh_CN")
    try:
        assert new_document(Meta(), "", "问").split("\n")[2] == "## 你"
    finally:
        set_language("en")


# ---------------------------------------------------------------- the budget


def msg(role: str, size: int) -> dict[str, str]:
    return {"role": role, "content": "x" * size}


def test_the_oldest_turns_go_first_and_the_question_always_stays() -> None:
    said = [msg("user", 10), msg("assistant", 10), msg("user", 10), msg("assistant", 10)]
    said.append(msg("user", 5))
    kept = cut(said, 25)
    assert kept.messages == said[2:] and kept.dropped == 2
    alone = cut([msg("user", 10), msg("assistant", 10), msg("user", 100)], 20)
    assert alone.messages == [msg("user", 100)] and alone.dropped == 2
    # What is kept never starts with an answer.
    odd = cut([msg("user", 10), msg("assistant", 10), msg("user", 10)], 20)
    assert odd.messages == [msg("user", 10)] and odd.dropped == 2
    assert cut(said, 10**6).dropped == 0


# ---------------------------------------------------------------- references


def test_references_are_found_outside_code_once_each() -> None:
    text = "see #file:src/a.py and #buffer, `#selection` not\n```\n#diagnostics\n```\n#buffer"
    assert [r.label() for r in find(text)] == ["#file:src/a.py", "#buffer"]
    assert [r.label() for r in find('#file:"my file.py" x#buffer a#b')] == ["#file:my file.py"]
    assert find("## heading #buffering") == []


class FakeSources:
    def file(self, path: str) -> Source:
        if path == ".env":
            raise RequestRefused("excluded")
        return Source(path, "y" * 50, "py")

    def buffer(self) -> Source:
        return Source("app.py", "body", "python")

    def selection(self) -> Source:
        return Source("app.py:1-2", "sel")

    def diagnostics(self) -> Source:
        return Source("diagnostics", "line 1: bad")


def test_expansion_is_bounded_and_says_when_it_was_cut() -> None:
    out = expand("look #file:big.py #buffer", FakeSources(), limit=20)
    assert out.startswith("look #file:big.py #buffer\n\n#file:big.py (big.py):\n```py\n")
    assert "y" * 20 + "\n```" in out and "y" * 21 not in out
    assert "[#file:big.py was cut: the first 20 of 50 characters.]" in out
    assert "#buffer (app.py):\n```python\nbody\n```" in out
    with pytest.raises(RequestRefused):
        expand("and #file:.env", FakeSources())
    assert expand("no references", FakeSources()) == "no references"


def test_more_references_than_allowed_are_said_left_out() -> None:
    text = " ".join(f"#file:f{n}.py" for n in range(10))
    out = expand(text, FakeSources())
    assert "Not included (more than 8 references): #file:f8.py, #file:f9.py." in out


def sources(tmp: Path, **settings: object) -> WorkspaceSources:
    doc = TextDoc((tmp / "app.py").as_uri(), "a = 1\nb = 2\n", 1, "python")
    return WorkspaceSources(
        Settings.model_validate(settings),
        roots=[tmp.as_uri()],
        open_doc=lambda uri: doc if uri == doc.uri else None,
        source=doc.uri,
        selection=None,
        encoding="utf-16",
        diagnostics=["line 1: x"],
        limit=REF_CHARS,
    )


def test_files_are_read_relative_to_the_workspace_and_bounded(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.py").write_text("m = 1\n", "utf-8")
    (tmp_path / "big.txt").write_text("z" * (REF_CHARS * 5), "utf-8")
    found = sources(tmp_path)
    assert found.file("sub/m.py") == Source("sub/m.py", "m = 1\n", "py", 6)
    big = found.file("big.txt")
    assert len(big.text) == REF_CHARS * 4 + 1 and big.total == REF_CHARS * 5
    assert found.file("app.py").text == "a = 1\nb = 2\n"  # the open document's text
    assert found.buffer().text == "a = 1\nb = 2\n"
    assert found.diagnostics().text == "line 1: x"
    with pytest.raises(RequestRefused, match="no such file"):
        found.file("missing.py")
    with pytest.raises(RequestRefused, match="not opened from a selection"):
        found.selection()


def test_excluded_and_binary_files_are_refused_unread(tmp_path: Path) -> None:
    secret = tmp_path / "prod.env"
    secret.write_text("KEY=1\n", "utf-8")
    (tmp_path / "link.py").symlink_to(secret)
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01")
    found = sources(tmp_path, exclude=["*.env"])
    secret.chmod(0)  # unreadable: a refusal that read it would fail otherwise
    try:
        with pytest.raises(RequestRefused, match="exclude"):
            found.file("prod.env")
        with pytest.raises(RequestRefused, match="exclude"):
            found.file("link.py")
    finally:
        secret.chmod(0o600)
    with pytest.raises(RequestRefused, match="binary"):
        found.file("blob.bin")


# ---------------------------------------------------------------- the answer


def think(chunks: list[str]) -> str:
    f = ThinkFilter()
    return "".join(f.feed(c) for c in chunks) + f.finish()


def test_think_blocks_at_a_line_start_are_dropped_in_any_split() -> None:
    text = "Hi\n<think>plan\nmore</think>\n\nAnswer <think> kept\n  <think>x</think>end"
    want = "Hi\nAnswer <think> kept\nend"
    assert think([text]) == want
    for size in range(1, 9):
        assert think([text[i : i + size] for i in range(0, len(text), size)]) == want
    assert think(["<think>never closed"]) == ""
    assert think(["<thi"]) == "<thi"


# ---------------------------------------------------------------- the folder


def test_a_folder_per_workspace_and_the_recent_chats(tmp_path: Path) -> None:
    one = workspace_folder(tmp_path, ["file:///home/u/proj"])
    two = workspace_folder(tmp_path, ["file:///srv/proj"])
    assert one != two and one.name.startswith("proj-") and one.parent == tmp_path
    assert workspace_folder(tmp_path, []).name == "_"
    first = create(one, "file:///home/u/proj/a.py", new_document(Meta(), "", "First question"))
    second = create(one, None, new_document(Meta(), "", "第二个问题\nmore"))
    (one / "other.md").write_text("# not a chat\n", "utf-8")
    assert first != second and first.name.endswith("-a.md")
    listed = recent(one)
    assert {c["title"] for c in listed} == {"First question", "第二个问题"}
    assert all(c["uri"].startswith("file://") and "T" in c["updated"] for c in listed)
    assert recent(tmp_path / "none") == []
