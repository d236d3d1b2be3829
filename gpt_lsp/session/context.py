"""A session's hooks into context beyond the selection (gpt_lsp.context), mixed into Session:
the workspace folders, the index's events, and a job's context gatherer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpt_lsp.context.block import ContextPack
    from gpt_lsp.context.service import ContextService
    from gpt_lsp.prompting.slicing import Slice
    from gpt_lsp.settings import Settings
    from gpt_lsp.text.documents import DocumentStore, TextDoc
    from gpt_lsp.text.regions import Span


class ContextHooks:
    """What a session tells context about, and asks of it (mixed into Session)."""

    workspace_folders: Sequence[str] = ()  # file URIs from initialize (the index reads these)

    if TYPE_CHECKING:
        documents: DocumentStore

        @property
        def settings(self) -> Settings: ...

    @functools.cached_property
    def context(self) -> ContextService:
        """Returns the context service: recent edits, open documents' definitions, the index."""
        from gpt_lsp.context.service import ContextService

        return ContextService(self.documents.all, lambda: self.settings)

    def _has_context(self) -> bool:
        return "context" in vars(self)

    def start_context(self, folders: Sequence[str]) -> None:
        """Starts indexing the workspace folders in the background (once settings are read)."""
        self.workspace_folders = list(folders)
        self.context.start(self.workspace_folders)

    def folders_changed(self, added: Sequence[str], removed: Sequence[str]) -> None:
        """workspace/didChangeWorkspaceFolders."""
        self.context.folders_changed(added, removed)
        self.workspace_folders = list(self.context.folders)

    def context_settings_changed(self) -> None:
        """Excludes or sizes may have changed: the index reads anew when they did."""
        if self._has_context():
            self.context.settings_changed()

    def context_changed(self, uri: str, changes: Sequence[tuple[Span | None, str]]) -> None:
        """The user's edits of a document (not a job's), for the recent-edits source."""
        if self._has_context():
            self.context.changed(uri, changes)

    def context_closed(self, uri: str) -> None:
        """A closed document: its edits are forgotten, its file read again."""
        if self._has_context():
            self.context.closed(uri)

    def did_save(self, uri: str) -> None:
        """A saved file: the index reads it again (in the background)."""
        if self._has_context():
            self.context.saved(uri)

    def watched_files(self, events: Sequence[tuple[str, int]]) -> None:
        """workspace/didChangeWatchedFiles: created, changed or deleted files."""
        if self._has_context():
            self.context.watched(events)

    def context_for(self, doc: TextDoc, instruction: str) -> Callable[[Slice], ContextPack]:
        """A job's context from other places, gathered for its slice."""
        from gpt_lsp.context.service import budgets_of

        budgets = budgets_of(self.settings)
        return lambda cut: self.context.gather_slice(doc, cut, instruction, budgets)

    def close_context(self) -> None:
        """Stops the index's thread."""
        if self._has_context():
            self.context.close()
