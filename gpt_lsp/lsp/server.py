"""The language server: LSP I/O for one session, and thin handlers that forward to it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gpt_lsp import __version__
from gpt_lsp.i18n import _
from gpt_lsp.lsp.commands import COMMANDS, Command
from gpt_lsp.lsp.context import folders_of as context_folders
from gpt_lsp.lsp.context import start as start_context
from gpt_lsp.lsp.convert import (
    changes_from_lsp,
    code_action,
    code_lens,
    encoding_of,
    span_from_lsp,
    span_to_lsp,
)
from gpt_lsp.lsp.protocol import USER_SETTINGS, GptProtocol
from gpt_lsp.port import ClientFeatures, MessageKind
from gpt_lsp.session.session import Session
from gpt_lsp.text.regions import Span

if TYPE_CHECKING:
    import httpx

# Only what `initialize` needs is imported above; settings (pydantic), the relay client
# (httpx) and the job machinery load after the answer, on first use.

log = logging.getLogger(__name__)

CONFIG_SECTION = "gptLsp"
CONFIGURATION_TIMEOUT = 5.0  # seconds for the client to answer workspace/configuration
_MESSAGE_TYPES: dict[MessageKind, types.MessageType] = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}


class GptLanguageServer(LanguageServer):
    """pygls server for one session; it is the session's port to the client."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        notes_dir: Path | None = None,
        debug: bool = False,
    ) -> None:
        super().__init__("gpt-lsp", __version__, protocol_cls=GptProtocol)
        self.debug = debug
        self.session = Session(
            self,
            transport=transport,
            environ=environ,
            notes_dir=notes_dir,
            counters=self.resource_counts if debug else None,
        )
        self._progress_titles: dict[str, str] = {}  # asked for, not yet accepted
        self._progress_begun: set[str] = set()
        self._lens_refreshes = 0
        self._lens_refresh_id: str | None = None
        self.folders: list[str] = []  # the workspace folders of initialize

    @property
    def gpt_protocol(self) -> GptProtocol:
        """Returns the protocol with gpt-lsp's fixes."""
        return cast(GptProtocol, self.protocol)

    def client_features(
        self, locale: str | None = None, roots: tuple[str, ...] = ()
    ) -> ClientFeatures:
        """Returns what the client declared in its initialize request."""
        caps = self.client_capabilities
        window, workspace = caps.window, caps.workspace
        return ClientFeatures(
            encoding=encoding_of(self.workspace.position_encoding),
            progress=bool(window and window.work_done_progress),
            show_document=bool(window and window.show_document and window.show_document.support),
            configuration=bool(workspace and workspace.configuration),
            code_lens_refresh=bool(
                workspace and workspace.code_lens and workspace.code_lens.refresh_support
            ),
            locale=locale,
            roots=roots,
        )

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Logs pygls-level errors without showing tracebacks to the user."""
        log.error("server error: %s", type(error).__name__)

    # ------------------------------------------------------------ DocumentHooks

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        """Forwards an opened document."""
        item = params.text_document
        self.session.did_open(item.uri, item.text, item.version, item.language_id)

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Forwards a didChange."""
        doc = params.text_document
        self.session.did_change(doc.uri, doc.version, changes_from_lsp(params.content_changes))

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        """Forwards a closed document."""
        self.session.did_close(params.text_document.uri)

    def request_cancelled(self, msg_id: Any) -> None:
        """Forwards $/cancelRequest."""
        self.session.controls.request_cancelled(msg_id)

    # ------------------------------------------------------------ ClientPort

    async def apply_edit(
        self, uri: str, version: int, span: Span, text: str, label: str = "gpt-lsp"
    ) -> bool:
        """Sends one versioned edit; True when the client says it applied it."""
        edit = types.TextEdit(range=span_to_lsp(span), new_text=text)
        # Always versioned documentChanges: they make a stale edit fail instead of landing in
        # the wrong place. Neovim applies them though its capabilities do not declare them.
        change = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=[edit],
                )
            ]
        )
        result = await self.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=change, label=label)
        )
        return bool(result and result.applied)

    def start_progress(self, token: str, title: str) -> None:
        """Sends window/workDoneProgress/create now; begins when the client accepts."""
        self._progress_titles[token] = title
        future = self.protocol.send_request(
            types.WINDOW_WORK_DONE_PROGRESS_CREATE,
            types.WorkDoneProgressCreateParams(token=token),
            msg_id=_progress_request_id(token),
        )
        future.add_done_callback(lambda answer: self._progress_created(token, answer))

    def _progress_created(self, token: str, answer: Any) -> None:
        title = self._progress_titles.pop(token, None)
        if title is None:
            return  # the job ended before the client answered
        if answer.cancelled() or answer.exception() is not None:
            log.info("progress refused by the client")
            return
        self._progress_begun.add(token)
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message=_("starting"))
        )

    def report_progress(self, token: str, message: str) -> None:
        """Reports progress once it has begun."""
        if token in self._progress_begun:
            self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

    def end_progress(self, token: str, message: str) -> None:
        """Ends progress and forgets its token (pygls never does), answered or not."""
        if token in self._progress_begun:
            self._progress_begun.discard(token)
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        elif self._progress_titles.pop(token, None) is not None:
            self.gpt_protocol.forget_request(_progress_request_id(token))
        self.work_done_progress.tokens.pop(token, None)

    def show_message(self, kind: MessageKind, text: str) -> None:
        """Shows one message: the only way errors reach the user."""
        self.window_show_message(types.ShowMessageParams(type=_MESSAGE_TYPES[kind], message=text))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Sends a notification."""
        self.protocol.notify(method, params)

    def show_document(self, uri: str) -> Awaitable[bool]:
        """Sends window/showDocument now; the awaitable says whether the client showed it."""
        future = asyncio.wrap_future(
            self.protocol.send_request(
                types.WINDOW_SHOW_DOCUMENT, types.ShowDocumentParams(uri=uri, take_focus=False)
            )
        )

        async def shown() -> bool:
            result = await future
            return bool(result and result.success)

        return shown()

    def refresh_code_lenses(self) -> None:
        """Sends workspace/codeLens/refresh; the answer (or none) changes nothing."""
        self._lens_refreshes += 1
        msg_id = f"refresh-lenses:{self._lens_refreshes}"
        self.protocol.send_request(types.WORKSPACE_CODE_LENS_REFRESH, None, msg_id=msg_id)
        # A client that never answers must not keep a future per refresh alive.
        if self._lens_refresh_id is not None:
            self.gpt_protocol.forget_request(self._lens_refresh_id)
        self._lens_refresh_id = msg_id

    def resource_counts(self) -> dict[str, int]:
        """Returns the LSP side's resource counts (gptLsp.status with --debug)."""
        return {
            "requestFutures": len(self.gpt_protocol.request_futures),
            "progressTokens": len(self.work_done_progress.tokens),
            "progressPending": len(self._progress_titles) + len(self._progress_begun),
            "tasks": len(asyncio.all_tasks()),
        }


def _progress_request_id(token: str) -> str:
    return f"create-progress:{token}"


def create_server(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
    notes_dir: Path | None = None,
    debug: bool = False,
) -> GptLanguageServer:
    """Builds the server with its handlers registered."""
    server = GptLanguageServer(
        transport=transport, environ=environ, notes_dir=notes_dir, debug=debug
    )

    @server.feature(types.INITIALIZE)
    def initialize(ls: GptLanguageServer, params: types.InitializeParams) -> None:
        roots = tuple(f.uri for f in params.workspace_folders or ()) or (
            (params.root_uri,) if params.root_uri else ()
        )
        ls.session.connect(ls.client_features(params.locale, roots), params.initialization_options)
        ls.folders = context_folders(params)  # indexed once the settings are read

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GptLanguageServer, params: types.InitializedParams) -> None:
        # Settings load after the initialize answer: the editor is not kept waiting.
        if ls.session.client.configuration:
            await _pull_configuration(ls)
        ls.session.config.report(ls.session.config.reload())
        await start_context(ls, ls.folders)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: GptLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if ls.session.client.configuration:
            await _pull_configuration(ls)
        elif isinstance(params.settings, Mapping):
            ls.session.config.set_project(params.settings.get(CONFIG_SECTION, params.settings))
        ls.session.config.report(ls.session.config.reload())

    @server.feature(USER_SETTINGS)
    async def did_change_user_settings(ls: GptLanguageServer, params: Any) -> None:
        # Sent by a shim from the user's own editor configuration, which no project file
        # reaches: it replaces initializationOptions as the user-level editor source.
        settings = params.get("settings") if isinstance(params, Mapping) else None
        if not ls.session.config.set_user(settings):
            return
        if ls.session.client.configuration:  # shims answer the section from the same settings
            await _pull_configuration(ls)
        ls.session.config.report(ls.session.config.reload())

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.RefactorRewrite,
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.Refactor,
            ]
        ),
    )
    def code_actions(ls: GptLanguageServer, params: types.CodeActionParams) -> Any:
        # Plain dicts travel in the command's argument.
        diagnostics = [ls.protocol._converter.unstructure(d) for d in params.context.diagnostics]
        offers = ls.session.code_actions(
            params.text_document.uri,
            span_from_lsp(params.range),
            diagnostics,
            params.context.only,
        )
        return [code_action(offer) for offer in offers]

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def code_lenses(ls: GptLanguageServer, params: types.CodeLensParams) -> Any:
        uri = params.text_document.uri
        found = ls.session.controls.code_lenses(uri) + ls.session.chats.code_lenses(uri)
        return [code_lens(lens) for lens in found]

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: GptLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.session.controls.progress_cancelled(params.token)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: GptLanguageServer, params: None) -> None:
        await ls.session.close()

    # Inline completion: its handlers live in lsp/completion.py.
    from gpt_lsp.lsp.completion import register as register_completion
    from gpt_lsp.lsp.context import register as register_context

    register_completion(server)
    register_context(server)
    for command in COMMANDS:
        server.protocol.fm.command(command.name)(_command_handler(server, command))
    return server


async def _pull_configuration(ls: GptLanguageServer) -> None:
    """Asks for the gptLsp section; a client that fails or never answers keeps the old one."""
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
            ),
            CONFIGURATION_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 - any client failure means "no client config"
        log.info("workspace/configuration failed: %s", type(exc).__name__)
        return
    ls.session.config.set_project(result[0] if result else None)


def _command_handler(server: GptLanguageServer, command: Command) -> Any:
    """Returns the pygls handler of a command: one object argument, the request's id."""

    def handler(raw: Any) -> Any:
        return command.call(server.session, raw, server.protocol.msg_id)

    return handler
