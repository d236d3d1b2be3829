"""Context handlers: the workspace folders, didSave, watched files (registered dynamically where
the client allows), kept apart from server.py so the index's wiring stays in one place."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lsprotocol import types
from pygls.lsp.server import LanguageServer

if TYPE_CHECKING:
    from gpt_lsp.session.session import Session

log = logging.getLogger(__name__)

WATCH_ID = "gpt-lsp-context-watch"
REGISTER_TIMEOUT = 5.0  # seconds for the client to answer client/registerCapability
_EVENT = {types.FileChangeType.Created: 1, types.FileChangeType.Changed: 2}


class Server(Protocol):
    """What the handlers use of the language server."""

    session: Session

    @property
    def client_capabilities(self) -> types.ClientCapabilities: ...

    def client_register_capability_async(self, params: types.RegistrationParams) -> Any: ...


def folders_of(params: types.InitializeParams) -> list[str]:
    """Returns the workspace folders' URIs of an initialize request (rootUri as a fallback)."""
    if params.workspace_folders:
        return [folder.uri for folder in params.workspace_folders]
    if params.root_uri:
        return [params.root_uri]
    if params.root_path:
        return [Path(params.root_path).as_uri()]
    return []


async def start(ls: Server, folders: list[str]) -> None:
    """Starts the index (after the settings), then asks for watched-file events if it can."""
    ls.session.context.start(folders)
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if not folders or watched is None or not watched.dynamic_registration:
        return
    from gpt_lsp.context.symbols import EXTENSIONS  # after initialize: tree-sitter's wheels

    extensions = ",".join(sorted(ext.lstrip(".") for ext in EXTENSIONS))
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=f"**/*.{{{extensions}}}")]
    )
    registration = types.Registration(
        id=WATCH_ID,
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    try:
        await asyncio.wait_for(
            ls.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            ),
            REGISTER_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 - without it, saves still keep the index current
        log.info("client/registerCapability failed: %s", type(exc).__name__)


def register(server: LanguageServer) -> None:
    """Adds didSave, didChangeWatchedFiles and didChangeWorkspaceFolders."""

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: Server, params: types.DidSaveTextDocumentParams) -> None:
        ls.session.context.saved(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: Server, params: types.DidChangeWatchedFilesParams) -> None:
        ls.session.context.watched([(c.uri, _EVENT.get(c.type, 3)) for c in params.changes])

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: Server, params: types.DidChangeWorkspaceFoldersParams) -> None:
        event = params.event
        ls.session.context.folders_changed(
            [f.uri for f in event.added], [f.uri for f in event.removed]
        )
