"""Where an answer's code block goes in a source document: the range the chat was opened
with (while it still holds the selected text), else the definition of the same name
(tree-sitter), else nowhere known: the caller then sends an edit job (pure but for parsing)."""

from __future__ import annotations

import re

from gpt_lsp.chat.document import ChatDoc
from gpt_lsp.prompting.definitions import Definitions
from gpt_lsp.text.documents import TextDoc, units_for_chars
from gpt_lsp.text.regions import Encoding, Pos, Span

MAX_NAME_LINES = 2000  # lines of a target searched for a definition's name


def opened_selection(chat: ChatDoc) -> str | None:
    """Returns the code the chat was opened with: the first block of its first turn."""
    if chat.meta is None or chat.meta.range is None or not chat.turns:
        return None
    first = chat.turns[0]
    block = next((b for b in chat.blocks if b.first > first.line), None)
    if block is None or (len(chat.turns) > 1 and block.first > chat.turns[1].line):
        return None
    return block.code


def selection_span(chat: ChatDoc, target: TextDoc, encoding: Encoding) -> Span | None:
    """Returns where the selected code is now: its range, when it still holds it, else the
    one place the code is found."""
    code = opened_selection(chat)
    meta = chat.meta
    if code is None or meta is None or meta.range is None or meta.source != target.uri:
        return None
    l1, c1, l2, c2 = meta.range
    span = Span(target.clamp(Pos(l1, c1), encoding), target.clamp(Pos(l2, c2), encoding))
    if _same(target.text_in(span, encoding), code):
        return span
    source = target.source.replace("\r\n", "\n")
    wanted = code.strip("\n")
    if not wanted.strip() or source.count(wanted) != 1:
        return None
    start = source.index(wanted)
    return Span(_pos(source, start, encoding), _pos(source, start + len(wanted), encoding))


def definition_span(
    code: str, target: TextDoc, definitions: Definitions, encoding: Encoding
) -> Span | None:
    """Returns the target's definition named like the block's first one, or None."""
    name = _first_name(code, target.language_id, target.uri)
    if not name:
        return None
    word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    for number in range(min(len(target.lines), MAX_NAME_LINES)):
        line = target.line_text(number)
        found = word.search(line)
        if found is None:
            continue
        at = Pos(number, units_for_chars(line, found.start(), encoding))
        definition = definitions.find(target, at, encoding)
        if definition is None or definition.first_line > number:
            continue
        if definition.name.split(".")[-1] == name:
            return definition.span(target)
    return None


def _first_name(code: str, language_id: str, uri: str) -> str | None:
    """Returns the name of the first definition in a block (parsed as the target's language)."""
    suffix = uri.rsplit(".", 1)[-1] if "." in uri.rsplit("/", 1)[-1] else "txt"
    doc = TextDoc(f"chat-block:///block.{suffix}", code + "\n", 0, language_id)
    finder = Definitions()
    for number in range(min(len(doc.lines), 200)):
        text = doc.line_text(number)
        if not text.strip() or text.lstrip().startswith(("@", "#[", "//", "#")):
            continue
        found = finder.find(doc, Pos(number, len(text) - len(text.lstrip())), "utf-32")
        if found is not None:
            return found.name.split(".")[-1]
    return None


def _same(shown: str, code: str) -> bool:
    return shown.replace("\r\n", "\n").strip("\n") == code.strip("\n")


def _pos(text: str, offset: int, encoding: Encoding) -> Pos:
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return Pos(line, units_for_chars(text[start:offset], offset - start, encoding))
