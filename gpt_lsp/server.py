"""The language server: a factory and thin handlers; the work lives in other modules."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from . import __version__
from .actions import (
    CHAT_ACTION,
    Action,
    all_actions,
    block_after,
    chat_action,
    find_action,
    markers_in,
)
from .commands import (
    CancelArgs,
    ChatArgs,
    JobArgs,
    RunArgs,
    build_prompt,
    check_document,
    cut_slice,
    describe_diagnostics,
    doc_eol,
    excluded_by,
    parse_args,
    uri_path,
)
from .documents import DocumentStore, TextDoc
from .editing import DocumentChannel
from .errors import GptLspError, RequestRefused, SettingsError, register_secret
from .jobs import Job, JobManager, JobSpec
from .logs import content_logger, set_content_logging
from .output import CodeOutputFilter, ProseOutputFilter
from .protocol import GptProtocol
from .regions import Encoding, Pos, Span, span_from_lsp, span_to_lsp
from .relay.client import ChatRequest
from .relay.pool import RelayPool
from .secrets import SecretMask, StreamUnmasker
from .settings import Settings, load_settings

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
NOTES_OPEN_TIMEOUT = 3.0


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
        self.init_options: Mapping[str, Any] | None = None
        self.client_config: Mapping[str, Any] | None = None
        self.settings, problems = load_settings(environ=environ)
        self.pending_problems = problems
        self.relays = RelayPool(self.settings, transport=transport, environ=environ)
        self.documents = DocumentStore()
        self.channels: dict[str, DocumentChannel] = {}
        self.jobs = JobManager(self, self.channel_for)
        self._opened: dict[str, asyncio.Event] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self.protocol.on_request_cancelled = self.on_request_cancelled  # type: ignore[attr-defined]

    # ------------------------------------------------------------ settings

    def reload_settings(self) -> list[str]:
        """Re-reads every source; returns the problems found (already logged)."""
        settings, problems = load_settings(
            init_options=self.init_options,
            client_config=self.client_config,
            environ=self.environ,
        )
        for relay in settings.relays.values():
            if relay.api_key is not None:
                register_secret(relay.api_key.get_secret_value())
        self.settings = settings
        self.relays.update(settings)
        set_content_logging(settings.log_content)
        for problem in problems:
            log.warning("settings: %s", problem)
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
        self.protocol.notify(JOB_FINISHED, params)
        if "text" in params:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message=params["text"])
            )

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
        encoding = self.encoding
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                span: Span | None = span_from_lsp(change.range)
            else:
                span = None
            if channel is not None and channel.writers:
                channel.on_change(span, change.text)
            doc.apply(span, change.text, encoding)
        doc.version = params.text_document.version

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        """Forgets a document; its jobs are cancelled."""
        uri = params.text_document.uri
        for job in list(self.jobs.jobs.values()):
            if job.uri == uri:
                self.jobs.cancel(job.id)
                self.jobs.accept(job.id)
        channel = self.channels.pop(uri, None)
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

    # ------------------------------------------------------------ code actions

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        """Lists AI actions for a range: instant, no relay contacted."""
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:
            return []
        span = span_from_lsp(params.range)
        span = Span(min(span.start, span.end), max(span.start, span.end))
        only = params.context.only
        diagnostics = [
            self.protocol._converter.unstructure(d)  # plain dicts travel in the command
            for d in params.context.diagnostics
        ]
        excluded = excluded_by(uri, self.settings.exclude_globs)
        actions: list[types.CodeAction] = []
        for marker in markers_in(doc.lines, span.start.line, span.end.line):
            _, last = block_after(doc.lines, marker.line)
            region = _marker_region(doc, marker.line, last)
            actions.append(
                self._code_action(
                    f"AI: {marker.instruction}",
                    types.CodeActionKind.RefactorRewrite,
                    {
                        "action": CHAT_ACTION,
                        "uri": uri,
                        "range": _range_json(region),
                        "instruction": marker.instruction,
                        "marker": True,
                    },
                    excluded,
                )
            )
        for action in all_actions(self.settings.actions):
            if span.is_empty and not (action.needs_diagnostics and diagnostics):
                continue
            target = span if not span.is_empty else _diagnostics_span(doc, diagnostics, span)
            arguments: dict[str, Any] = {
                "action": action.id,
                "uri": uri,
                "range": _range_json(target),
            }
            if action.needs_diagnostics and diagnostics:
                arguments["diagnostics"] = diagnostics
            actions.append(
                self._code_action(f"AI: {action.title}", action.kind, arguments, excluded)
            )
        if only:
            actions = [a for a in actions if any(_kind_matches(a.kind, k) for k in only)]
        return actions

    def _code_action(
        self, title: str, kind: str, arguments: dict[str, Any], excluded: str | None
    ) -> types.CodeAction:
        action = types.CodeAction(
            title=title,
            kind=kind,
            command=types.Command(title=title, command="gptLsp.run", arguments=[arguments]),
        )
        if excluded is not None:
            action.disabled = types.CodeActionDisabled(
                reason=f"matches exclude pattern '{excluded}': never sent to a relay"
            )
        return action

    # ------------------------------------------------------------ commands

    def command_run(self, raw: Any) -> dict[str, Any]:
        """gptLsp.run: starts an action's job; answers {jobId} at once."""
        args = parse_args(RunArgs, "gptLsp.run", raw)
        if args.action == CHAT_ACTION:
            if not args.instruction:
                raise RequestRefused("gptLsp.run: the chat action needs an instruction.")
            action = chat_action(args.instruction)
        else:
            found = find_action(all_actions(self.settings.actions), args.action)
            if found is None:
                known = ", ".join(a.id for a in all_actions(self.settings.actions))
                raise RequestRefused(f"gptLsp.run: unknown action '{args.action}' ({known}).")
            action = found
        diagnostics = describe_diagnostics(args.diagnostics)
        return self._start(
            action,
            args.uri,
            args.range.span(),
            args.instruction or "",
            diagnostics,
            marker=args.marker,
        )

    def command_chat(self, raw: Any) -> dict[str, Any]:
        """gptLsp.chat: rewrites the range following an instruction."""
        args = parse_args(ChatArgs, "gptLsp.chat", raw)
        action = chat_action(args.instruction)
        return self._start(action, args.uri, args.range.span(), args.instruction, [])

    def _start(
        self,
        action: Action,
        uri: str,
        span: Span,
        instruction: str,
        diagnostics: list[str],
        *,
        marker: bool = False,
    ) -> dict[str, Any]:
        doc = self.documents.get(uri)
        if doc is None:
            raise RequestRefused(f"{os.path.basename(uri_path(uri))} is not open in the editor.")
        settings = self.settings
        check_document(uri, settings)
        encoding = self.encoding
        if span.start.line >= len(doc.lines):
            raise RequestRefused(
                f"The range starts at line {span.start.line + 1}, past the end of "
                f"{os.path.basename(uri_path(uri))} ({len(doc.lines)} lines)."
            )
        cut = cut_slice(doc, span, encoding, settings.context_chars, marker=marker)
        if len(cut.selection) > settings.max_selection_chars:
            raise RequestRefused(
                f"The selection has {len(cut.selection):,} characters, more than "
                f"maxSelectionChars ({settings.max_selection_chars:,}): select less."
            )
        mask = SecretMask()
        if settings.mask_secrets:
            cut = replace(
                cut,
                selection=mask.mask(cut.selection),
                before=mask.mask(cut.before),
                after=mask.mask(cut.after),
            )
        relay_name = self.relays.resolve_name(action.relay)
        client = self.relays.get(relay_name)
        model = settings.model_for(relay_name, action.model)
        messages = build_prompt(
            action, doc, cut, settings, instruction=instruction, diagnostics=diagnostics
        )
        if content_logger().isEnabledFor(logging.DEBUG):
            content_logger().debug("prompt for %s: %r", action.id, messages)
        request = ChatRequest(
            messages=messages,
            model=model,
            temperature=settings.temperature,
            presence_penalty=settings.presence_penalty,
            max_tokens=settings.max_tokens,
        )
        notes_uri = None
        if action.output == "notes":
            output: CodeOutputFilter | ProseOutputFilter = ProseOutputFilter(doc.eol)
            notes_uri = self._notes_file(doc, action)
        else:
            # An insertion at a line's start adds whole lines: end them with a break.
            at_line_start = cut.region.is_empty and cut.region.start.character == 0
            output = CodeOutputFilter(
                mask.unmask(cut.selection),
                doc_eol(doc, cut.region),
                base_indent=cut.base_indent,
                indent_first_line=cut.base_indent is None,
                trailing_newline=True if at_line_start else None,
            )
        spec = JobSpec(
            action=action,
            uri=uri,
            messages=messages,
            request=request,
            client=client,
            price=settings.relays[relay_name].price_for(model),
            output=output,
            max_answer_chars=settings.max_answer_chars,
            notes_uri=None,
            unmasker=StreamUnmasker(mask) if mask.count else None,
        )
        if mask.count:
            plural = "s were" if mask.count > 1 else " was"
            spec.notices.append(f"{mask.count} secret{plural} masked before sending.")
        if notes_uri is not None:
            job = self._start_notes(spec, notes_uri)
        else:
            job = self.jobs.start(spec, cut.region, cut.original)
        job.request_id = self.protocol.msg_id
        return {"jobId": job.id}

    def _notes_file(self, doc: TextDoc, action: Action) -> str:
        base = self.notes_dir
        if base is None:
            import platformdirs

            base = Path(platformdirs.user_cache_dir("gpt-lsp", appauthor=False)) / "notes"
        base.mkdir(parents=True, exist_ok=True)
        name = os.path.splitext(os.path.basename(uri_path(doc.uri)))[0] or "notes"
        path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{action.id}.md"
        path.write_text(f"# {action.title}: {os.path.basename(uri_path(doc.uri))}\n\n", "utf-8")
        return path.as_uri()

    def _start_notes(self, spec: JobSpec, notes_uri: str) -> Job:
        """Starts an explain job: opens the notes document, then streams into it."""
        window = self.client_capabilities.window
        can_show = bool(window and window.show_document and window.show_document.support)
        if can_show:
            spec.notes_uri = notes_uri
            event = self._opened.setdefault(notes_uri, asyncio.Event())
            return self.jobs.start(spec, None, "", self._open_notes(notes_uri, event))
        return self.jobs.start(spec, None, "", _no_channel())

    async def _open_notes(self, uri: str, event: asyncio.Event) -> DocumentChannel | None:
        try:
            result = await self.window_show_document_async(
                types.ShowDocumentParams(uri=uri, take_focus=False)
            )
            if result.success:
                await asyncio.wait_for(event.wait(), NOTES_OPEN_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - no notes document means "collect the text"
            log.info("notes document not shown: %s", type(exc).__name__)
        finally:
            self._opened.pop(uri, None)
        return self.channel_for(uri)

    def command_accept(self, raw: Any) -> dict[str, Any]:
        """gptLsp.accept: keeps a job's text."""
        args = parse_args(JobArgs, "gptLsp.accept", raw)
        return {"ok": self.jobs.accept(args.job_id)}

    async def command_reject(self, raw: Any) -> dict[str, Any]:
        """gptLsp.reject: puts back a job's original text."""
        args = parse_args(JobArgs, "gptLsp.reject", raw)
        return {"ok": await self.jobs.reject(args.job_id)}

    def command_cancel(self, raw: Any) -> dict[str, Any]:
        """gptLsp.cancel: stops one job, or all of them."""
        args = parse_args(CancelArgs, "gptLsp.cancel", raw)
        return {"ok": self.jobs.cancel(args.job_id)}

    def command_status(self, raw: Any) -> dict[str, Any]:
        """gptLsp.status: relays, jobs and session usage."""
        settings = self.settings
        active = self.relays.active()
        relays = []
        for name, config in settings.relays.items():
            client = active.get(name)
            relays.append(
                {
                    "name": name,
                    "url": client.current_url if client else config.base_url,
                    "model": settings.model_for(name),
                    "default": name == settings.default_relay_name(),
                    "systemRole": not client.quirks.no_system_role
                    if client
                    else config.system_role,
                }
            )
        jobs = [
            {
                "jobId": job.id,
                "uri": job.spec.uri,
                "action": job.spec.action.id,
                "status": job.status,
                "tokens": job.completion_estimate,
            }
            for job in self.jobs.jobs.values()
        ]
        totals = self.jobs.totals
        internal = {
            # Resource counts, for leak tests and benchmarks.
            "requestFutures": len(self.protocol._request_futures),
            "progressTokens": len(self.work_done_progress.tokens),
            "tasks": len(asyncio.all_tasks()),
            "documents": len(self.documents),
            "channels": len(self.channels),
            "trackedRegions": sum(len(c.writers) for c in self.channels.values()),
        }
        return {
            "version": __version__,
            "internal": internal,
            "relays": relays,
            "jobs": jobs,
            "usage": {
                "jobs": totals.jobs,
                "promptTokens": totals.prompt_tokens,
                "completionTokens": totals.completion_tokens,
                "costUsd": round(totals.cost_usd, 6),
            },
        }

    def on_request_cancelled(self, msg_id: Any) -> None:
        """$/cancelRequest of a gptLsp.run/chat request cancels its job."""
        for job in self.jobs.running():
            if job.request_id is not None and job.request_id == msg_id:
                self.jobs.cancel(job.id)

    def on_progress_cancel(self, token: Any) -> None:
        """Cancelling a job's progress cancels the job."""
        for job in self.jobs.running():
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
        ls.init_options = options if isinstance(options, Mapping) else None
        ls.pending_problems = ls.reload_settings()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GptLanguageServer, params: types.InitializedParams) -> None:
        if ls.supports_configuration():
            await _pull_configuration(ls)
            ls.pending_problems = ls.reload_settings()
        ls.report_problems(ls.pending_problems)
        ls.pending_problems = []

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
        return ls.code_actions(params)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: GptLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.on_progress_cancel(params.token)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: GptLanguageServer, params: None) -> None:
        await ls.jobs.shutdown()
        await ls.relays.aclose()

    handlers = {
        "gptLsp.run": server.command_run,
        "gptLsp.chat": server.command_chat,
        "gptLsp.accept": server.command_accept,
        "gptLsp.reject": server.command_reject,
        "gptLsp.cancel": server.command_cancel,
        "gptLsp.status": server.command_status,
    }
    for name, handler in handlers.items():
        server.protocol.fm.command(name)(_plain_function(handler))
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


def _plain_function(method: Any) -> Any:
    """Wraps a bound method: pygls sets attributes on command handlers."""

    def command(raw: Any) -> Any:
        return method(raw)

    return command


async def _no_channel() -> DocumentChannel | None:
    return None


def _marker_region(doc: TextDoc, marker_line: int, last_line: int) -> Span:
    end_line = max(marker_line, last_line)
    if end_line + 1 < len(doc.lines):
        return Span(Pos(marker_line, 0), Pos(end_line + 1, 0))
    return Span(Pos(marker_line, 0), Pos(end_line, 10**6))


def _diagnostics_span(doc: TextDoc, diagnostics: list[Any], fallback: Span) -> Span:
    lines = [
        d["range"]["start"]["line"] for d in diagnostics if isinstance(d.get("range"), dict)
    ] + [d["range"]["end"]["line"] for d in diagnostics if isinstance(d.get("range"), dict)]
    if not lines:
        return fallback
    first, last = min(lines), max(lines)
    if last + 1 < len(doc.lines):
        return Span(Pos(first, 0), Pos(last + 1, 0))
    return Span(Pos(first, 0), Pos(last, 10**6))


def _range_json(span: Span) -> dict[str, Any]:
    return {
        "start": {"line": span.start.line, "character": span.start.character},
        "end": {"line": span.end.line, "character": span.end.character},
    }


def _kind_matches(kind: str | None, wanted: str) -> bool:
    return kind is not None and (kind == wanted or kind.startswith(wanted + "."))


__all__ = ["COMMANDS", "GptLanguageServer", "JsonRpcInvalidParams", "Settings", "create_server"]
