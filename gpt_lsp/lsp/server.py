"""The language server: a factory and thin handlers; the work lives in other modules."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gpt_lsp import __version__
from gpt_lsp.errors import GptLspError, ProjectSettingsIgnored, SettingsError, register_secret
from gpt_lsp.logs import set_content_logging
from gpt_lsp.lsp.protocol import GptProtocol
from gpt_lsp.text.documents import DocumentStore
from gpt_lsp.text.regions import Encoding, Span, span_from_lsp, span_to_lsp

if TYPE_CHECKING:
    import httpx

    from gpt_lsp.jobs.channel import DocumentChannel
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings

# Only what `initialize` needs is imported above; settings (pydantic), the relay client
# (httpx) and the job machinery load after the answer, on first use.

log = logging.getLogger(__name__)

CONFIG_SECTION = "gptLsp"
COMMANDS = (
    "gptLsp.run",
    "gptLsp.chat",
    "gptLsp.accept",
    "gptLsp.reject",
    "gptLsp.cancel",
    "gptLsp.status",
)
JOB_FINISHED = "gptLsp/jobFinished"
USER_SETTINGS = "gptLsp/didChangeUserSettings"


# pygls turns the params of methods it does not know into namedtuples, renaming keys that are
# no Python names ("gpt-4o" prices, "X-Team" headers, "my-relay"): this type keeps plain JSON.
@attrs.define
class _RawNotification:
    """A notification whose params are left as JSON."""

    method: str
    jsonrpc: str
    params: Any = None


class GptLanguageServer(LanguageServer):
    """pygls server holding gpt-lsp's state: settings, relays, documents and jobs."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        notes_dir: Path | None = None,
    ) -> None:
        super().__init__("gpt-lsp", __version__, protocol_cls=GptProtocol)
        self.environ = environ
        self.notes_dir = notes_dir
        self.transport = transport
        # User-level: initializationOptions, replaced by gptLsp/didChangeUserSettings.
        self.user_options: Mapping[str, Any] | None = None
        # Project-level: the gptLsp section (a project can write it, e.g. .dir-locals.el).
        self.client_config: Mapping[str, Any] | None = None
        self._warned_ignored: set[tuple[str, ...]] = set()
        self._settings: Settings | None = None
        self._relays: RelayPool | None = None
        self._jobs: JobManager | None = None
        self.documents = DocumentStore()
        self.channels: dict[str, DocumentChannel] = {}
        self._opened: dict[str, asyncio.Event] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self.protocol.on_request_cancelled = self.on_request_cancelled  # type: ignore[attr-defined]

    # ------------------------------------------------------------ settings

    @property
    def settings(self) -> Settings:
        """Returns the settings, loading them on first use."""
        if self._settings is None:
            self.reload_settings()
        assert self._settings is not None
        return self._settings

    @property
    def relays(self) -> RelayPool:
        """Returns the relay clients."""
        if self._relays is None:
            from gpt_lsp.relay.pool import RelayPool

            self._relays = RelayPool(self.settings, transport=self.transport, environ=self.environ)
        return self._relays

    @property
    def jobs(self) -> JobManager:
        """Returns the job manager."""
        if self._jobs is None:
            from gpt_lsp.jobs.manager import JobManager

            self._jobs = JobManager(self, self.channel_for)
        return self._jobs

    def reload_settings(self) -> list[str]:
        """Re-reads every source; returns the problems found (already logged)."""
        from gpt_lsp.settings import load_sources

        settings, problems, ignored = load_sources(
            user_options=self.user_options,
            project_options=self.client_config,
            environ=self.environ,
        )
        for relay in settings.relays.values():
            if relay.api_key is not None:
                register_secret(relay.api_key.get_secret_value())
        self._settings = settings
        if self._relays is not None:
            self._relays.update(settings)
        set_content_logging(settings.log_content)
        for problem in problems:
            log.warning("settings: %s", problem)
        if ignored and ignored not in self._warned_ignored:
            # Once per distinct set: every reload would repeat it otherwise.
            self._warned_ignored.add(ignored)
            warning = ProjectSettingsIgnored(ignored)
            log.warning("settings: %s", warning.user_message())
            self.show_error(warning, types.MessageType.Warning)
        return problems

    def report_problems(self, problems: list[str]) -> None:
        """Shows settings problems in one message."""
        if problems:
            self.show_error(SettingsError(problems), types.MessageType.Warning)

    def supports_configuration(self) -> bool:
        """True when the client answers workspace/configuration."""
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    # ------------------------------------------------------------ messages (JobPort)

    def show_error(
        self, error: GptLspError, kind: types.MessageType = types.MessageType.Error
    ) -> None:
        """Shows one error message: the only way errors reach the user."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=error.user_message()))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Logs pygls-level errors without showing tracebacks to the user."""
        log.error("server error: %s", type(error).__name__)

    def job_finished(self, params: dict[str, Any]) -> None:
        """Sends gptLsp/jobFinished."""
        if "text" in params:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message=params["text"])
            )
        self.protocol.notify(JOB_FINISHED, params)

    async def progress_begin(self, token: str, title: str) -> bool:
        """Creates a cancellable progress when the client supports it."""
        window = self.client_capabilities.window
        if not (window and window.work_done_progress):
            return False
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), 5.0)
        except Exception as exc:  # noqa: BLE001 - a client that refuses progress gets none
            log.info("progress refused: %s", type(exc).__name__)
            self.work_done_progress.tokens.pop(token, None)
            return False
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="starting")
        )
        return True

    def progress_report(self, token: str, message: str) -> None:
        """Reports progress."""
        self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

    def progress_end(self, token: str, message: str) -> None:
        """Ends progress and forgets its token (pygls never does)."""
        self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        self.work_done_progress.tokens.pop(token, None)

    # ------------------------------------------------------------ documents

    @property
    def encoding(self) -> Encoding:
        """Returns the negotiated position encoding."""
        kind = str(self.workspace.position_encoding or "utf-16").lower()
        if "8" in kind:
            return "utf-8"
        if "32" in kind:
            return "utf-32"
        return "utf-16"

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        """Stores an opened document."""
        item = params.text_document
        doc = self.documents.open(item.uri, item.text, item.version, item.language_id)
        channel = self.channels.get(item.uri)
        if channel is not None:
            channel.doc = doc
        event = self._opened.get(item.uri)
        if event is not None:
            event.set()

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Applies each change, letting running jobs see it first."""
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:
            return
        channel = self.channels.get(uri)
        changes: list[tuple[Span | None, str]] = [
            (
                span_from_lsp(change.range)
                if isinstance(change, types.TextDocumentContentChangePartial)
                else None,
                change.text,
            )
            for change in params.content_changes
        ]
        if channel is not None and (channel.writers or channel.in_flight is not None):
            channel.apply_changes(changes, params.text_document.version)
            return
        encoding = self.encoding
        for span, text in changes:
            doc.apply(span, text, encoding)
        doc.version = params.text_document.version

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        """Forgets a document; its jobs are cancelled."""
        uri = params.text_document.uri
        channel = self.channels.pop(uri, None)
        if channel is not None:
            channel.closed = True  # before the jobs stop: no restore goes to a closed file
        if self._jobs is not None:
            self._jobs.close_document(uri)
        if channel is not None:
            self._closing.add(asyncio.ensure_future(channel.close()))
            self._closing = {t for t in self._closing if not t.done()}
        self.documents.close(uri)

    def channel_for(self, uri: str) -> DocumentChannel | None:
        """Returns the edit channel of an open document."""
        doc = self.documents.get(uri)
        if doc is None:
            return None
        channel = self.channels.get(uri)
        if channel is None:
            from gpt_lsp.jobs.channel import DocumentChannel

            channel = DocumentChannel(doc, self.apply_edit, self.encoding)
            self.channels[uri] = channel
        return channel

    async def apply_edit(self, uri: str, version: int, span: Span, text: str) -> bool:
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
            types.ApplyWorkspaceEditParams(edit=change, label="gpt-lsp")
        )
        return bool(result and result.applied)

    # ------------------------------------------------------------ cancelling

    def on_request_cancelled(self, msg_id: Any) -> None:
        """$/cancelRequest of a gptLsp.run/chat request cancels its job."""
        if self._jobs is None:
            return
        for job in self._jobs.running():
            if job.request_id is not None and job.request_id == msg_id:
                self.jobs.cancel(job.id)

    def on_progress_cancel(self, token: Any) -> None:
        """Cancelling a job's progress cancels the job."""
        if self._jobs is None:
            return
        for job in self._jobs.running():
            if job.progress_token == token:
                self.jobs.cancel(job.id)


def create_server(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
    notes_dir: Path | None = None,
) -> GptLanguageServer:
    """Builds the server with its handlers registered."""
    server = GptLanguageServer(transport=transport, environ=environ, notes_dir=notes_dir)

    @server.feature(types.INITIALIZE)
    def initialize(ls: GptLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.user_options = options if isinstance(options, Mapping) else None

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GptLanguageServer, params: types.InitializedParams) -> None:
        # Settings load after the initialize answer: the editor is not kept waiting.
        if ls.supports_configuration():
            await _pull_configuration(ls)
        ls.report_problems(ls.reload_settings())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: GptLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if ls.supports_configuration():
            await _pull_configuration(ls)
        elif isinstance(params.settings, Mapping):
            section = params.settings.get(CONFIG_SECTION, params.settings)
            ls.client_config = section if isinstance(section, Mapping) else None
        ls.report_problems(ls.reload_settings())

    @server.feature(USER_SETTINGS)
    async def did_change_user_settings(ls: GptLanguageServer, params: Any) -> None:
        # Sent by a shim from the user's own editor configuration, which no project file
        # reaches: it replaces initializationOptions as the user-level editor source.
        settings = params.get("settings") if isinstance(params, Mapping) else None
        if not isinstance(settings, Mapping):
            log.warning("%s without a settings object: ignored", USER_SETTINGS)
            return
        ls.user_options = settings
        # The section too: shims answer it from the same user settings (model, actions...).
        if ls.supports_configuration():
            await _pull_configuration(ls)
        ls.report_problems(ls.reload_settings())

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
    def code_action(ls: GptLanguageServer, params: types.CodeActionParams) -> Any:
        from gpt_lsp.lsp import features

        return features.code_actions(ls, params)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: GptLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.on_progress_cancel(params.token)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: GptLanguageServer, params: None) -> None:
        if ls._jobs is not None:
            await ls._jobs.shutdown()
        if ls._relays is not None:
            await ls._relays.aclose()

    for name in COMMANDS:
        server.protocol.fm.command(name)(_command(server, name))
    message_type = server.protocol.get_message_type
    server.protocol.get_message_type = lambda method: (  # type: ignore[assignment]
        _RawNotification if method == USER_SETTINGS else message_type(method)
    )
    return server


async def _pull_configuration(ls: GptLanguageServer) -> None:
    """Asks the client for the gptLsp section; a client that fails it keeps the old one."""
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
        )
    except Exception as exc:  # noqa: BLE001 - any client failure means "no client config"
        log.info("workspace/configuration failed: %s", type(exc).__name__)
        return
    first = result[0] if result else None
    ls.client_config = first if isinstance(first, Mapping) else None


def _command(server: GptLanguageServer, name: str) -> Any:
    """Returns the handler of a command; the features module loads on the first call."""
    function_name = "command_" + name.split(".", 1)[1]

    def command(raw: Any) -> Any:
        from gpt_lsp.lsp import features

        return getattr(features, function_name)(server, raw)

    return command
