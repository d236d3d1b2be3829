"""What a chat reply's context is about, and that context fitted into the conversation's
budget (pure).

The subject is the code the chat was opened from: its source document (definitions there come
first) and the selection, plus the latest question as sent, so the names it asks about and
those of its `#selection`, `#buffer` and `#file` references are looked up too. A chat without
an open source document looks the question's names up from the chat document itself (the
workspace's files and the open documents, nothing of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gpt_lsp.chat.document import Meta
from gpt_lsp.chat.references import find
from gpt_lsp.context.block import ContextPack
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Pos, Span

NOTHING_SHOWN = (-1, -1)  # no line of the document is in the prompt


@dataclass(frozen=True)
class Subject:
    """The document context is looked up from, its lines the prompt holds, and the code
    whose names are looked up."""

    doc: TextDoc
    shown: tuple[int, int]
    code: str


def subject_of(
    chat_doc: TextDoc,
    meta: Meta | None,
    source: TextDoc | None,
    question: tuple[str, str],
    encoding: Encoding,
) -> Subject:
    """Returns what the reply's context is about. `source`: the chat's source document when
    it is open and may be sent; `question`: the latest turn as typed and as sent."""
    typed, sent = question
    if source is None:
        return Subject(chat_doc, (0, len(chat_doc.lines) - 1), sent)
    if any(ref.kind == "buffer" for ref in find(typed)):
        return Subject(source, (0, len(source.lines) - 1), sent)  # all of it is in the prompt
    if meta is None or meta.range is None:
        return Subject(source, NOTHING_SHOWN, sent)
    l1, c1, l2, c2 = meta.range
    last = min(l2, len(source.lines) - 1)
    span = Span(Pos(min(l1, last), c1), Pos(last, c2))
    selection = source.text_in(span, encoding)
    return Subject(source, (span.start.line, span.end.line), f"{selection}\n{sent}")


def fit(pack: ContextPack, render: Callable[[ContextPack], str], room: int) -> ContextPack:
    """Returns the pack without its last pieces (edits, outlines, then the weakest
    definitions go first) until its rendered block has at most `room` characters."""
    pieces = list(pack.pieces)
    while pieces and len(render(ContextPack(tuple(pieces)))) > room:
        pieces.pop()
    return ContextPack(tuple(pieces))
