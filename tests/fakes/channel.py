"""The shared editor fake's document with the server's side beside it: a TextDoc and the
DocumentChannel that streams a job's edits to the editor and takes its didChanges."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Pos, Span
from tests.fakes import editor as fake


def position(text: str, offset: int, encoding: Encoding) -> Pos:
    """The position of `offset` in `text`, in `encoding`'s units."""
    return Pos(*fake.position_of(text, offset, encoding))


class FakeEditor:
    """The shared editor fake's document, with the server's side (`doc` + `channel`) beside it."""

    def __init__(self, text: str, profile: str, encoding: Encoding, version: int = 1) -> None:
        delay = 0.003 if fake.PROFILES[profile].delay else 0.0  # fast, with the same ordering
        behaviour = replace(fake.PROFILES[profile], encoding=encoding, delay=delay)
        self.document = fake.FakeDocument("file:///t.py", text, behaviour, self._deliver, version)
        self.doc = TextDoc("file:///t.py", text, version, "python")
        self.channel = DocumentChannel(self.doc, self.apply_edit, encoding, interval=0.002)
        self.before_apply: Any = None

    @property
    def text(self) -> str:
        return self.document.text

    @property
    def pending(self) -> list[fake.Change]:
        return self.document.pending

    async def apply_edit(
        self, uri: str, version: int, span: Span, text: str, label: str = "gpt-lsp"
    ) -> bool:
        await asyncio.sleep(0)  # the round trip to the editor
        if self.before_apply is not None:
            self.before_apply()
        start = (span.start.line, span.start.character)
        end = (span.end.line, span.end.character)
        return self.document.apply_edit(version, [(start, end, text)])

    def replace(self, start: int, end: int, text: str) -> None:
        """The user replaces text[start:end]."""
        self.document.type_at(start, text, end - start)

    def flush(self) -> None:
        self.document.flush()

    def _deliver(self, uri: str, version: int, changes: list[fake.Change]) -> None:
        """The server's didChange handler."""
        spans = [(Span(Pos(*start), Pos(*end)), text) for start, end, text in changes]
        self.channel.apply_changes(spans, version)


# Each editor profile with the position encoding it negotiates.
PROFILES = [("vscode", "utf-16"), ("neovim", "utf-8"), ("eglot", "utf-16"), ("coc", "utf-16")]
