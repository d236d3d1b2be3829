"""Builds and keeps the workspace index in a background thread: nothing waits on it.

The thread walks the workspace folders, reads and parses files, and hands finished entries to
the event loop in batches (`post`), where the index changes: the index is only ever touched on
the loop, so it needs no lock. Saves and watched-file events queue single files.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gpt_lsp.context.files import (
    INSTRUCTION_FILES,
    Ignores,
    Limits,
    find_instructions,
    may_index,
    read_source,
    walk,
)
from gpt_lsp.context.index import FileEntry, WorkspaceIndex
from gpt_lsp.context.symbols import extract_symbols, language_of_path

log = logging.getLogger(__name__)

BATCH = 64  # entries handed to the loop at once
Post = Callable[[Callable[[], None]], None]  # loop.call_soon_threadsafe


def path_of(uri: str) -> Path | None:
    """Returns the local path of a file URI, else None."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


@dataclass
class IndexState:
    """What gptLsp.status shows of the index."""

    phase: str = "off"  # off | indexing | ready
    folders: list[str] = field(default_factory=list)
    instructions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # root -> piece
    scans: int = 0


class Indexer:
    """The index's background thread and what it is asked to do."""

    def __init__(self, index: WorkspaceIndex, post: Post, limits: Limits) -> None:
        self.index = index
        self.progress = IndexState()
        self._post = post
        self._limits = limits
        self._jobs: queue.Queue[tuple[str, object]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._generation = 0  # a newer scan makes an older one's leftovers moot
        self._on = False
        self.opened = 0  # files read (for tests and the bench)

    def start(self, folders: Sequence[str], limits: Limits, *, index: bool = True) -> None:
        """(Re)scans the folders with these limits (excludes and sizes may have changed)."""
        self._limits = limits
        self._on = index
        self._generation += 1
        self.progress.folders = list(folders)
        self.progress.phase = "indexing"
        self._jobs.put(("scan", (self._generation, tuple(folders), limits, index)))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gpt-lsp-index", daemon=True)
            self._thread.start()

    def refresh(self, uri: str) -> None:
        """Re-reads one file (saved, created or changed on disk) in the background."""
        if self._thread is not None:
            self._jobs.put(("file", uri))

    def deleted(self, uri: str) -> None:
        """Drops a deleted file (on the loop: now)."""
        self.index.remove(uri)

    def stop(self) -> None:
        """Ends the thread after what it is doing."""
        if self._thread is not None:
            self._jobs.put(("stop", None))
            self._thread = None

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        while True:
            kind, payload = self._jobs.get()
            try:
                if kind == "stop":
                    return
                if kind == "scan":
                    self._scan(*payload)  # type: ignore[misc]
                elif kind == "file" and isinstance(payload, str):
                    self._one(payload)
            except Exception:  # the index is a help: a failure leaves it as it was
                log.exception("indexing failed")

    def _scan(self, generation: int, folders: tuple[str, ...], limits: Limits, on: bool) -> None:
        seen: set[str] = set()
        batch: list[FileEntry] = []
        instructions: dict[str, tuple[str, str, str]] = {}
        for folder in folders:
            root = path_of(folder)
            if root is None or not root.is_dir():
                continue
            found = find_instructions(root, limits.exclude, self._read)
            if found is not None:
                path, text = found
                instructions[folder] = (path.as_uri(), path.relative_to(root).as_posix(), text)
            if not on:
                continue
            for path, stat in walk(root, limits):
                if generation != self._generation:
                    return  # a newer scan started
                entry = self._entry(path, stat.st_mtime_ns, stat.st_size, root, limits)
                if entry is not None:
                    seen.add(entry.uri)
                    batch.append(entry)
                if len(batch) >= BATCH:
                    self._hand(batch)
                    batch = []
                time.sleep(0)  # let the loop's thread have the interpreter
        self._hand(batch)
        self._post(lambda: self._scanned(generation, seen, instructions))

    def _one(self, uri: str) -> None:
        path = path_of(uri)
        if path is None:
            return
        root = self._root_of(uri)
        if root is not None and path.relative_to(root).as_posix() in INSTRUCTION_FILES:
            found = find_instructions(root, self._limits.exclude, self._read)
            self._post(lambda: self._set_instructions(root, found))
            return
        if not self._on:
            return
        try:
            stat = path.stat()
        except OSError:
            self._post(lambda: self.index.remove(uri))
            return
        entry = None
        if root is not None and path.is_file() and may_index(path, stat.st_size, self._limits):
            ignores = Ignores(root)
            for parent in reversed([root, *[p for p in path.parents if root in p.parents]]):
                ignores.load(parent)
            if not ignores.ignored(path, False):
                entry = self._entry(path, stat.st_mtime_ns, stat.st_size, root, self._limits)
        if entry is None:
            self._post(lambda: self.index.remove(uri))
        else:
            self._hand([entry])

    def _root_of(self, uri: str) -> Path | None:
        for folder in self.progress.folders:
            if uri.startswith(folder.rstrip("/") + "/"):
                return path_of(folder)
        return None

    def _entry(
        self, path: Path, mtime_ns: int, size: int, root: Path, limits: Limits
    ) -> FileEntry | None:
        language = language_of_path(path.name)
        data = self._read(path, limits.max_bytes) if language else None
        if data is None or language is None:
            return None
        symbols = tuple(extract_symbols(data, language))
        label = path.relative_to(root).as_posix()
        return FileEntry(path.as_uri(), label, language, mtime_ns, size, symbols)

    def _read(self, path: Path, max_bytes: int | None = None) -> bytes | None:
        self.opened += 1
        return read_source(path, max_bytes or self._limits.max_bytes)

    def _hand(self, batch: list[FileEntry]) -> None:
        if batch:
            entries = list(batch)
            self._post(lambda: self._put_all(entries))

    def _put_all(self, entries: list[FileEntry]) -> None:
        for entry in entries:
            self.index.put(entry)

    def _set_instructions(self, root: Path, found: tuple[Path, str] | None) -> None:
        """On the loop: a workspace folder's instructions file changed."""
        folder = next((f for f in self.progress.folders if path_of(f) == root), None)
        if folder is None:
            return
        if found is None:
            self.progress.instructions.pop(folder, None)
        else:
            path, text = found
            label = path.relative_to(root).as_posix()
            self.progress.instructions[folder] = (path.as_uri(), label, text)

    def _scanned(
        self, generation: int, seen: set[str], instructions: dict[str, tuple[str, str, str]]
    ) -> None:
        """On the loop, after a whole scan: files gone since the last scan are dropped."""
        if generation != self._generation:
            return
        for uri in [u for u in self.index.files if u not in seen]:
            self.index.remove(uri)
        self.progress.instructions = instructions
        self.progress.phase = "ready"
        self.progress.scans += 1
