"""References in a user turn (`#file:PATH`, `#buffer`, `#selection`, `#diagnostics`) found and
expanded into what is sent: each once, bounded, and marked when cut (pure, given its sources).

The document keeps the reference as typed; only the message sent carries the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from gpt_lsp.chat.document import fenced

REF_CHARS = 12_000  # characters one reference may send
MAX_REFERENCES = 8  # references expanded per turn; more are said to be left out
_REFERENCE = re.compile(
    r"(?<![\w#/])#(?:file:(?P<path>\"[^\"\n]+\"|[^\s`\"]+)|(?P<word>buffer|selection|diagnostics))"
    r"(?![\w-])"
)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_INLINE = re.compile(r"`[^`\n]*`")


@dataclass(frozen=True)
class Reference:
    """One reference: its kind (file, buffer, selection, diagnostics) and a file's path."""

    kind: str
    path: str = ""

    def label(self) -> str:
        """Returns the reference as typed."""
        return f"#file:{self.path}" if self.kind == "file" else f"#{self.kind}"


@dataclass(frozen=True)
class Source:
    """What a reference stands for: a name to show the model, its text and language."""

    name: str
    text: str
    language: str = ""
    total: int = -1  # the whole text's size when only a part was read (-1: the text's)


class Sources(Protocol):
    """Where references are read from; each raises RequestRefused when it may not be sent."""

    def file(self, path: str) -> Source:
        """Returns a file's text (the open document's, else the file's)."""
        ...

    def buffer(self) -> Source:
        """Returns the text of the document the chat was opened from."""
        ...

    def selection(self) -> Source:
        """Returns the range the chat was opened with."""
        ...

    def diagnostics(self) -> Source:
        """Returns the diagnostics of the document the chat was opened from."""
        ...


def find(text: str) -> list[Reference]:
    """Returns the references in a turn, in order, each once: none inside code."""
    found: list[Reference] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened is not None and opened.group(1).startswith(fence):
                fence = None
            continue
        if opened is not None:
            fence = opened.group(1)[0] * 3
            continue
        for match in _REFERENCE.finditer(_INLINE.sub(lambda m: " " * len(m[0]), line)):
            path = (match["path"] or "").strip('"')
            ref = Reference("file", path) if match["path"] else Reference(match["word"])
            if ref not in found:
                found.append(ref)
    return found


def expand(text: str, sources: Sources, limit: int = REF_CHARS) -> str:
    """Returns a turn with its references' text appended; RequestRefused from a source
    (an excluded file) refuses the whole turn."""
    refs = find(text)
    if not refs:
        return text
    parts = [text]
    for ref in refs[:MAX_REFERENCES]:
        source = _read(ref, sources)
        body, total = source.text[:limit], max(source.total, len(source.text))
        parts.append(f"{ref.label()} ({source.name}):\n{fenced(body, source.language)}")
        if total > limit:
            parts.append(f"[{ref.label()} was cut: the first {limit:,} of {total:,} characters.]")
    if len(refs) > MAX_REFERENCES:
        left = ", ".join(r.label() for r in refs[MAX_REFERENCES:])
        parts.append(f"[Not included (more than {MAX_REFERENCES} references): {left}.]")
    return "\n\n".join(parts)


def _read(ref: Reference, sources: Sources) -> Source:
    if ref.kind == "file":
        return sources.file(ref.path)
    if ref.kind == "buffer":
        return sources.buffer()
    if ref.kind == "selection":
        return sources.selection()
    return sources.diagnostics()
