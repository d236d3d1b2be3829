"""A chat reply's context, the pure part: what it is about (the source and its selection, or
the whole buffer a `#buffer` sends, or only the question), and the pack fitted to the room the
question leaves in the conversation's budget."""

from __future__ import annotations

from gpt_lsp.chat.document import Meta
from gpt_lsp.chat.subject import NOTHING_SHOWN, fit, subject_of
from gpt_lsp.context.block import ContextPack
from gpt_lsp.context.packing import Piece
from gpt_lsp.text.documents import TextDoc

SOURCE = TextDoc(
    "file:///w/app.py",
    "import os\n\ndef total(items):\n    return price_of(items)\n\nprint(1)\n",
    1,
    "python",
)
CHAT = TextDoc("file:///d/chats/c.md", "<!-- gpt-lsp chat {} -->\n\n## You\n\nq\n", 1, "markdown")
META = Meta(SOURCE.uri, (2, 0, 4, 0))


def test_the_subject_is_the_selection_the_chat_was_opened_with_and_the_question() -> None:
    subject = subject_of(CHAT, META, SOURCE, ("Why?", "Why?"), "utf-16")
    assert subject.doc is SOURCE and subject.shown == (2, 4)
    assert subject.code == "def total(items):\n    return price_of(items)\n\nWhy?"


def test_a_buffer_reference_shows_the_whole_source() -> None:
    sent = "See #buffer\n\n#buffer (app.py):\n```py\n...\n```"
    subject = subject_of(CHAT, META, SOURCE, ("See #buffer", sent), "utf-8")
    assert subject.shown == (0, 6) and subject.code == sent


def test_without_a_range_no_source_line_is_shown() -> None:
    subject = subject_of(CHAT, Meta(SOURCE.uri), SOURCE, ("What does total do?",) * 2, "utf-8")
    assert subject.doc is SOURCE and subject.shown == NOTHING_SHOWN
    assert subject.code == "What does total do?"


def test_without_an_open_source_the_question_is_looked_up_from_the_chat() -> None:
    subject = subject_of(CHAT, META, None, ("How is price_of rounded?",) * 2, "utf-8")
    assert subject.doc is CHAT and subject.shown == (0, 5)
    assert subject.code == "How is price_of rounded?"


def test_a_range_past_the_end_is_clamped() -> None:
    subject = subject_of(CHAT, Meta(SOURCE.uri, (40, 0, 90, 3)), SOURCE, ("q", "q"), "utf-8")
    assert subject.shown == (6, 6) and subject.code == "\nq"


def _piece(source: str, n: int) -> Piece:
    return Piece(f"file:///w/{n}.py", f"{n}.py", n, n + 1, f"x{n} = 1\n" * 20, source, f"x{n}")


def test_the_last_pieces_go_first_until_the_block_fits() -> None:
    pack = ContextPack((_piece("instructions", 1), _piece("definition", 2), _piece("edit", 3)))
    render = ContextPack.render
    whole = len(render(pack))
    assert fit(pack, render, whole) == pack
    smaller = fit(pack, render, whole - 1)
    assert [p.source for p in smaller.pieces] == ["instructions", "definition"]
    assert len(render(smaller)) <= whole - 1
    assert fit(pack, render, 10).pieces == ()
    assert fit(pack, render, -5).pieces == ()
