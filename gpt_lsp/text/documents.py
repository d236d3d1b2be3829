"""Open documents as lists of lines: O(changed lines) per edit, LSP line breaks only.

pygls keeps each document as one string, re-splits it on every change and access, and
splits on Unicode line separators that LSP does not count; gpt-lsp keeps its own store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gpt_lsp.text.regions import Encoding, Pos, Span, chars_for_units, text_units

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Splits text into lines that keep their line break; the last line has none (maybe "")."""
    lines = _LINES.findall(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def line_break_of(line: str) -> str:
    """Returns the line break that ends a line ("" for the last line)."""
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


def units_for_chars(line: str, chars: int, encoding: Encoding) -> int:
    """Returns the code units of the first `chars` characters of a line."""
    return text_units(line[:chars], encoding)


@dataclass
class TextDoc:
    """One open document."""

    uri: str
    text: str = ""
    version: int = 0
    language_id: str = ""
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = split_lines(self.text)
        self.text = ""  # the lines are the truth; `source` joins them on demand

    @property
    def source(self) -> str:
        """Returns the whole text (O(document): for job starts, not per keystroke)."""
        return "".join(self.lines)

    @property
    def eol(self) -> str:
        """Returns the document's line break (that of the first line that has one)."""
        for line in self.lines[:1000]:
            brk = line_break_of(line)
            if brk:
                return brk
        return "\n"

    def line_text(self, line: int) -> str:
        """Returns a line without its break ("" past the end)."""
        if not 0 <= line < len(self.lines):
            return ""
        text = self.lines[line]
        return text[: len(text) - len(line_break_of(text))]

    def clamp(self, pos: Pos, encoding: Encoding) -> Pos:
        """Returns the position moved inside the document, as LSP says (past a line's end is
        its end; past the last line is the document's end)."""
        if pos.line < 0:
            return Pos(0, 0)
        if pos.line >= len(self.lines):
            last = len(self.lines) - 1
            return Pos(last, units_for_chars(self.line_text(last), 10**9, encoding))
        text = self.line_text(pos.line)
        index = chars_for_units(text, max(0, pos.character), encoding)
        return Pos(pos.line, units_for_chars(text, index, encoding))

    def index_of(self, pos: Pos, encoding: Encoding) -> tuple[int, int]:
        """Returns (line, character index) of a position, clamped."""
        pos = self.clamp(pos, encoding)
        return pos.line, chars_for_units(self.line_text(pos.line), pos.character, encoding)

    def text_in(self, span: Span, encoding: Encoding) -> str:
        """Returns the text of a span."""
        start_line, start_index = self.index_of(span.start, encoding)
        end_line, end_index = self.index_of(span.end, encoding)
        if (end_line, end_index) < (start_line, start_index):
            return ""
        if start_line == end_line:
            return self.lines[start_line][start_index:end_index]
        parts = [self.lines[start_line][start_index:]]
        parts.extend(self.lines[start_line + 1 : end_line])
        parts.append(self.lines[end_line][:end_index])
        return "".join(parts)

    def end(self, encoding: Encoding) -> Pos:
        """Returns the position at the end of the document."""
        last = len(self.lines) - 1
        return Pos(last, units_for_chars(self.lines[last], len(self.lines[last]), encoding))

    def apply(self, span: Span | None, new_text: str, encoding: Encoding) -> None:
        """Applies one content change (span None: the whole text is replaced)."""
        if span is None:
            self.lines = split_lines(new_text)
            return
        start_line, start_index = self.index_of(span.start, encoding)
        end_line, end_index = self.index_of(span.end, encoding)
        if (end_line, end_index) < (start_line, start_index):
            start_line, start_index, end_line, end_index = (
                end_line,
                end_index,
                start_line,
                start_index,
            )
        head = self.lines[start_line][:start_index]
        tail = self.lines[end_line][end_index:]
        first, last = start_line, end_line + 1
        # A "\r" meeting a "\n" across the edit's edges makes one break: re-split both lines.
        if head == "" and start_line > 0 and self.lines[start_line - 1].endswith("\r"):
            first -= 1
            head = self.lines[first]
        joined = head + new_text + tail
        if joined.endswith("\r") and last < len(self.lines) and self.lines[last].startswith("\n"):
            joined += self.lines[last]
            last += 1
        replacement = split_lines(joined)
        if last < len(self.lines) and replacement[-1] == "":
            # The edited text ended with a break: the next line follows it, not an empty line.
            replacement.pop()
        self.lines[first:last] = replacement


def change_problem(
    doc: TextDoc, changes: Sequence[tuple[Span | None, str]], version: int
) -> str | None:
    """Returns why a didChange cannot be applied to `doc` as it is (None: it can). A change
    past the end, backwards or negative, or a version going back, says the client's copy is
    not the server's: applying it would corrupt the server's copy."""
    if version < doc.version:
        return f"version {version} after {doc.version}"
    lines = len(doc.lines)
    for span, text in changes:
        if span is None:
            lines = len(split_lines(text))
            continue
        start, end = span.start, span.end
        if min(start.line, start.character, end.line, end.character) < 0:
            return "a negative position"
        if end < start:
            return "a range that ends before it starts"
        # One line past the last is where some clients put the document's end.
        if end.line > lines:
            return f"a range past the end (line {end.line} of {lines})"
        lines += text.count("\n") + text.count("\r") - text.count("\r\n")
        lines -= end.line - start.line
    return None


class DocumentStore:
    """The documents the client has open."""

    def __init__(self) -> None:
        self._docs: dict[str, TextDoc] = {}

    def open(self, uri: str, text: str, version: int, language_id: str) -> TextDoc:
        """Adds (or replaces) a document."""
        doc = TextDoc(uri, text, version, language_id)
        self._docs[uri] = doc
        return doc

    def get(self, uri: str) -> TextDoc | None:
        """Returns an open document."""
        return self._docs.get(uri)

    def close(self, uri: str) -> None:
        """Forgets a document."""
        self._docs.pop(uri, None)

    def all(self) -> list[TextDoc]:
        """Returns the open documents."""
        return list(self._docs.values())

    def __len__(self) -> int:
        return len(self._docs)
