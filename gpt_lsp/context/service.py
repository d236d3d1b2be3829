"""The session's context: recent edits, the open documents' definitions, the workspace index,
and `gather_for`, which a job (or a completion) calls for its context pack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from gpt_lsp.context.block import ContextPack
from gpt_lsp.context.edits import RecentEdits
from gpt_lsp.context.files import Limits
from gpt_lsp.context.gather import Budgets, Doc, Here, Sources, gather
from gpt_lsp.context.index import WorkspaceIndex
from gpt_lsp.context.indexer import Indexer, path_of
from gpt_lsp.context.symbols import Symbol, extract_symbols, language_of_path
from gpt_lsp.prompting.definitions import language_of
from gpt_lsp.prompting.slicing import Slice, excluded_by
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc, split_lines
from gpt_lsp.text.regions import Span

log = logging.getLogger(__name__)

MAX_OPEN_PARSED = 64  # open documents whose definitions are kept
MAX_PARSE_CHARS = 1_000_000  # an open document larger than this is not parsed
NEAR_LINES = 12  # at an empty selection, lines around the cursor whose names are looked up


class ContextService:
    """What context is made of, kept current from the editor's events."""

    def __init__(
        self, documents: Callable[[], Sequence[TextDoc]], settings: Callable[[], Settings]
    ) -> None:
        self._documents = documents
        self._settings = settings
        self.edits = RecentEdits()
        self.index = WorkspaceIndex()
        self.indexer: Indexer | None = None
        self.folders: list[str] = []
        self._parsed = OpenParses()
        self._started: tuple[Limits, bool] | None = None  # what the last scan read with

    # ------------------------------------------------------------ events

    def start(self, folders: Sequence[str], loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Starts (or restarts) indexing the workspace folders in the background."""
        self.folders = [f for f in folders if path_of(f) is not None]
        if not self.folders:
            return
        loop = loop or asyncio.get_running_loop()
        settings = self._settings()
        limits = _limits(settings)
        if self.indexer is None:
            self.indexer = Indexer(self.index, _poster(loop), limits)
        self._started = (limits, settings.context.index)
        self.indexer.start(self.folders, limits, index=settings.context.index)

    def settings_changed(self) -> None:
        """Rescans when what may be read changed (excludes, sizes, the index switch)."""
        if self.indexer is None or self._started is None:
            return
        settings = self._settings()
        if self._started != (_limits(settings), settings.context.index):
            self.start(self.folders)

    def folders_changed(self, added: Sequence[str], removed: Sequence[str]) -> None:
        """workspace/didChangeWorkspaceFolders: rescans the folders as they are now."""
        folders = [f for f in self.folders if f not in removed]
        folders += [f for f in added if f not in folders]
        for folder in removed:
            self.index.remove_under(folder)
        if self._started is not None or folders:
            self.start(folders)

    def changed(self, uri: str, changes: Sequence[tuple[Span | None, str]]) -> None:
        """Takes a didChange's content changes (O(changes): no parsing here)."""
        for span, text in changes:
            self.edits.record(uri, span, text)

    def saved(self, uri: str) -> None:
        """A saved file is re-read in the background."""
        if self.indexer is not None:
            self.indexer.refresh(uri)

    def watched(self, events: Sequence[tuple[str, int]]) -> None:
        """workspace/didChangeWatchedFiles: 1 created, 2 changed, 3 deleted."""
        if self.indexer is None:
            return
        for uri, kind in events:
            if kind == 3:
                self.indexer.deleted(uri)
            else:
                self.indexer.refresh(uri)

    def closed(self, uri: str) -> None:
        """A closed document: its hunks go (it may never be saved), its file is read again."""
        self.edits.forget(uri)
        self._parsed.forget(uri)
        self.saved(uri)

    def close(self) -> None:
        """Stops the index's thread."""
        if self.indexer is not None:
            self.indexer.stop()

    # ------------------------------------------------------------ context

    def for_job(self, doc: TextDoc, instruction: str) -> Callable[[Slice], ContextPack]:
        """A job's context gatherer: called with the slice cut from the document."""
        budgets = budgets_of(self._settings())
        return lambda cut: self.gather_slice(doc, cut, instruction, budgets)

    def gather_slice(
        self, doc: TextDoc, cut: Slice, instruction: str, budgets: Budgets
    ) -> ContextPack:
        """Returns a job's context: the names of its selection (or, at an empty selection, of
        the lines at the cursor and the instruction) looked up; never fails the job."""
        region = cut.region
        shown = (
            region.start.line - cut.before.count("\n"),
            region.end.line + cut.after.count("\n"),
        )
        code = cut.selection
        if not code.strip():
            near = "".join(cut.before.splitlines(keepends=True)[-NEAR_LINES:])
            code = near + "".join(cut.after.splitlines(keepends=True)[:NEAR_LINES]) + instruction
        try:
            return self.gather_for(doc, shown, code, budgets)
        except Exception:  # context helps; a failure here must not stop the job
            log.exception("gathering context failed")
            return ContextPack()

    def for_chat(self, doc: TextDoc, shown: tuple[int, int], code: str) -> ContextPack:
        """Returns a chat reply's context: the names of the code the conversation is about,
        looked up from the document it is about, in the jobs' budgets; never fails the reply."""
        try:
            return self.gather_for(doc, shown, code, budgets_of(self._settings()))
        except Exception:  # context helps; a failure here must not stop the reply
            log.exception("gathering chat context failed")
            return ContextPack()

    def for_completion(
        self, doc: TextDoc, line: int, shown: tuple[int, int], budget: int
    ) -> ContextPack:
        """Returns an inline completion's context: definitions only, within a small budget, of
        the names on the lines at the cursor. Nothing is parsed per keystroke: the document's
        own definitions are left out (its last parse only says which names it defines)."""
        if budget <= 0:
            return ContextPack()
        first = max(0, line - NEAR_LINES)
        code = "".join(doc.lines[first : line + 1])
        cached = self._parsed.last(doc.uri)
        local = frozenset(s.name for s in cached) if cached is not None else frozenset()
        exclude = self._settings().exclude_globs
        here = Doc(doc.uri, self._label(doc.uri), language_of(doc) or "", doc.lines, ())
        sources = Sources(
            open_docs=[
                self._doc(d)  # parsed once per version: only the typed-in one changes
                for d in self._documents()
                if d.uri != doc.uri and excluded_by(d.uri, exclude) is None
            ],
            index=self._lookup(exclude) if len(self.index) else None,
            load=lambda uri: self._load(uri, exclude),
        )
        try:
            return gather(Here(here, shown, code, local), sources, Budgets(definitions=budget))
        except Exception:  # a completion goes on without context
            log.exception("gathering completion context failed")
            return ContextPack()

    def gather_for(
        self, doc: TextDoc, shown: tuple[int, int], code: str, budgets: Budgets
    ) -> ContextPack:
        """Returns the context pack for code in a document; `shown` are the lines the prompt
        already holds. Files excluded by the settings are never used."""
        exclude = self._settings().exclude_globs
        here = self._doc(doc)
        edited = {h.uri for h in self.edits.hunks()}
        open_docs = [
            self._doc(d)
            for d in self._documents()
            if d.uri != doc.uri and excluded_by(d.uri, exclude) is None
        ]
        sources = Sources(
            open_docs=[d for d in open_docs if d.symbols or d.uri in edited],
            index=self._lookup(exclude) if len(self.index) else None,
            load=lambda uri: self._load(uri, exclude),
            hunks=[h for h in self.edits.hunks() if excluded_by(h.uri, exclude) is None],
            instructions=self._instructions(doc.uri, exclude),
        )
        return gather(Here(here, shown, code), sources, budgets)

    def _doc(self, doc: TextDoc) -> Doc:
        return Doc(
            doc.uri, self._label(doc.uri), language_of(doc) or "", doc.lines, self._parsed.of(doc)
        )

    def _lookup(self, exclude: Sequence[str]) -> Callable[[str], Any]:
        def lookup(name: str) -> Any:
            return [f for f in self.index.lookup(name) if excluded_by(f.uri, exclude) is None]

        return lookup

    def _load(self, uri: str, exclude: Sequence[str]) -> Doc | None:
        """An indexed file's text, read now (it was checked when indexed, and again here)."""
        entry = self.index.files.get(uri)
        path = path_of(uri)
        if entry is None or path is None or excluded_by(uri, exclude) is not None:
            return None
        from gpt_lsp.context.files import read_source

        data = read_source(path, _limits(self._settings()).max_bytes)
        if data is None:
            return None
        text = data.decode("utf-8", "replace")
        language = language_of_path(path.name) or entry.language
        symbols = entry.symbols
        if entry.size != len(data):  # changed since it was indexed: its definitions moved
            symbols = tuple(extract_symbols(data, language))
        return Doc(uri, entry.path, language, split_lines(text), symbols)

    def _instructions(self, uri: str, exclude: Sequence[str]) -> tuple[str, str, str] | None:
        if self.indexer is None:
            return None
        for folder, piece in self.indexer.progress.instructions.items():
            if uri.startswith(folder.rstrip("/") + "/") and excluded_by(piece[0], exclude) is None:
                return piece
        return None

    def _label(self, uri: str) -> str:
        """A file as the prompt names it: relative to its workspace folder."""
        for folder in self.folders:
            prefix = folder.rstrip("/") + "/"
            if uri.startswith(prefix):
                path = path_of(uri)
                root = path_of(folder)
                if path is not None and root is not None:
                    return path.relative_to(root).as_posix()
        path = path_of(uri)
        return path.name if path is not None else uri.rsplit("/", 1)[-1]

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """The index state for gptLsp.status: files, symbols, last update."""
        state = self.indexer.progress.phase if self.indexer is not None else "off"
        updated = self.index.updated
        return {
            "state": state,
            "folders": len(self.folders),
            "files": len(self.index),
            "symbols": self.index.symbols,
            "updated": (
                datetime.fromtimestamp(updated, timezone.utc).isoformat(timespec="seconds")
                if updated is not None
                else None
            ),
            "recentEdits": len(self.edits),
        }


class OpenParses:
    """The open documents' definitions, parsed once per version (the last few documents)."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[int, tuple[Symbol, ...]]] = {}

    def of(self, doc: TextDoc) -> tuple[Symbol, ...]:
        """An open document's definitions, parsed unless this version already was."""
        cached = self._parsed.get(doc.uri)
        if cached is not None and cached[0] == doc.version:
            return cached[1]
        language = language_of(doc)
        symbols: tuple[Symbol, ...] = ()
        if language is not None and sum(len(line) for line in doc.lines) <= MAX_PARSE_CHARS:
            source = "".join(doc.lines).encode("utf-8", "surrogatepass")
            symbols = tuple(extract_symbols(source, language))
        self._parsed[doc.uri] = (doc.version, symbols)
        while len(self._parsed) > MAX_OPEN_PARSED:
            del self._parsed[next(iter(self._parsed))]
        return symbols

    def last(self, uri: str) -> tuple[Symbol, ...] | None:
        """A document's definitions at its last parse (whatever version that was), or None."""
        cached = self._parsed.get(uri)
        return cached[1] if cached is not None else None

    def forget(self, uri: str) -> None:
        """A closed document's definitions go."""
        self._parsed.pop(uri, None)

    def __contains__(self, uri: str) -> bool:
        return uri in self._parsed


def budgets_of(settings: Settings, *, completion: bool = False) -> Budgets:
    """The budgets a job (or a completion: definitions only) gathers with."""
    context = settings.context
    if completion:
        return Budgets(definitions=context.completion)
    return Budgets(context.definitions, context.documents, context.edits, context.instructions)


def _poster(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], None]], None]:
    """Hands a callback from the index's thread to the loop; none once the loop is closed."""

    def post(callback: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is ending
            loop.call_soon_threadsafe(callback)

    return post


def _limits(settings: Settings) -> Limits:
    context = settings.context
    return Limits(tuple(settings.exclude_globs), context.max_file_kb * 1024, context.max_files)
