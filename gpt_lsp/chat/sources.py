"""Where a chat's references are read from: open documents first, else files, read bounded;
excluded and binary files refused before a byte of them is read."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from gpt_lsp.chat.references import REF_CHARS, Source
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.prompting.slicing import check_document, uri_path
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Span

BINARY_PROBE = 8192  # bytes looked at for a NUL, the sign of a binary file


class WorkspaceSources:
    """References resolved against the workspace folders and the chat's source document."""

    def __init__(
        self,
        settings: Settings,
        *,
        roots: Sequence[str],
        open_doc: Callable[[str], TextDoc | None],
        source: str | None,
        selection: Span | None,
        encoding: Encoding,
        diagnostics: Sequence[str] = (),
        limit: int = REF_CHARS,
    ) -> None:
        self.settings = settings
        self.roots = [Path(uri_path(r)) for r in roots]
        self.open_doc = open_doc
        self.source = source
        self.selection_span = selection
        self.encoding = encoding
        self.diagnostic_lines = list(diagnostics)
        self.limit = limit

    def file(self, path: str) -> Source:
        """Returns a file's text: the open document's, else up to the limit read from disk."""
        found = self._resolve(path)
        if found is None:
            text = _("#file:{path}: no such file (a path is relative to the workspace folder).")
            raise RequestRefused(text.format(path=path))
        check_document(found.as_uri(), self.settings)
        real = found.resolve() if found.exists() else found
        if real != found:
            check_document(real.as_uri(), self.settings)  # a link into an excluded file
        name = self._shown(found)
        doc = self.open_doc(found.as_uri())
        if doc is not None:
            return Source(name, doc.source, _language(found))
        with found.open("rb") as handle:
            data = handle.read(self.limit * 4 + 1)
        if b"\0" in data[:BINARY_PROBE]:
            raise RequestRefused(_("#file:{path} is a binary file: not sent.").format(path=path))
        text = data.decode("utf-8", errors="replace")
        return Source(name, text, _language(found), max(len(text), found.stat().st_size))

    def buffer(self) -> Source:
        """Returns the source document's text."""
        doc = self._source_doc("#buffer")
        return Source(self._shown(Path(uri_path(doc.uri))), doc.source, doc.language_id)

    def selection(self) -> Source:
        """Returns the source document's text in the range the chat was opened with."""
        doc = self._source_doc("#selection")
        if self.selection_span is None:
            raise RequestRefused(_("#selection: this chat was not opened from a selection."))
        text = doc.text_in(self.selection_span, self.encoding)
        first, last = self.selection_span.start.line + 1, self.selection_span.end.line + 1
        name = f"{self._shown(Path(uri_path(doc.uri)))}:{first}-{last}"
        return Source(name, text, doc.language_id)

    def diagnostics(self) -> Source:
        """Returns the source document's diagnostics, one a line."""
        doc = self._source_doc("#diagnostics")
        text = "\n".join(self.diagnostic_lines) or "(no diagnostics reported)"
        return Source(f"diagnostics of {self._shown(Path(uri_path(doc.uri)))}", text)

    def _source_doc(self, word: str) -> TextDoc:
        if self.source is None:
            text = _("{reference}: this chat was not opened from a document.")
            raise RequestRefused(text.format(reference=word))
        check_document(self.source, self.settings)
        doc = self.open_doc(self.source)
        if doc is None:
            name = os.path.basename(uri_path(self.source))
            text = _("{reference}: {file} is not open in the editor.")
            raise RequestRefused(text.format(reference=word, file=name))
        return doc

    def _resolve(self, path: str) -> Path | None:
        given = Path(os.path.expanduser(path))
        bases = [] if given.is_absolute() else list(self.roots)
        if not given.is_absolute() and self.source is not None:
            bases.append(Path(uri_path(self.source)).parent)
        candidates = [given] if given.is_absolute() else [base / given for base in bases]
        for candidate in candidates:
            candidate = Path(os.path.normpath(candidate))
            if candidate.is_file() or self.open_doc(candidate.as_uri()) is not None:
                return candidate
        return None

    def _shown(self, path: Path) -> str:
        for root in self.roots:
            if path.is_relative_to(root):
                return str(path.relative_to(root))
        return str(path)


def _language(path: Path) -> str:
    return path.suffix.lstrip(".")
