"""The session: owns documents, edit channels, notes, jobs, relays and settings for one client.

The LSP layer forwards document events and commands here and implements `ClientPort`; the
session never imports the LSP layer. Heavy modules (pydantic settings, the httpx client, the
job machinery) load on first use, so that `initialize` is answered before any of it loads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.errors import RequestRefused, SettingsError
from gpt_lsp.i18n import set_language
from gpt_lsp.logs import set_content_logging
from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.redaction import register_secret
from gpt_lsp.session.context import ContextHooks
from gpt_lsp.session.controls import JobCommands
from gpt_lsp.text.documents import DocumentStore, change_problem
from gpt_lsp.text.regions import Span

if TYPE_CHECKING:
    import httpx

    from gpt_lsp.completion.service import CompletionService
    from gpt_lsp.edits.channel import DocumentChannel
    from gpt_lsp.jobs.job import Job
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.prompting.actions import Action
    from gpt_lsp.prompting.definitions import Definitions
    from gpt_lsp.prompting.offers import Offer
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.session.arguments import (
        ChatArgs,
        RunArgs,
        SelectModelArgs,
    )
    from gpt_lsp.session.models import ModelChoices
    from gpt_lsp.session.notes import NotesDocuments
    from gpt_lsp.settings import Settings

log = logging.getLogger(__name__)

Change = tuple[Span | None, str]


class Session(JobCommands, ContextHooks):
    """One client's gpt-lsp: what the language server forwards requests to."""

    def __init__(
        self,
        port: ClientPort,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        notes_dir: Path | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.port = port
        self.client = ClientFeatures()
        self.environ = environ
        self.transport = transport
        self.notes_dir = notes_dir
        self.init_options: Mapping[str, Any] | None = None  # user-level
        self._warned_ignored: set[tuple[str, ...]] = set()
        self.client_config: Mapping[str, Any] | None = None
        self.documents = DocumentStore()
        self.channels: dict[str, DocumentChannel] = {}
        self._settings: Settings | None = None
        self._relays: RelayPool | None = None
        self._jobs: JobManager | None = None
        self._notes: NotesDocuments | None = None
        self._definitions: Definitions | None = None
        self._models: ModelChoices | None = None
        self.state_dir = state_dir  # None: the user state dir (platformdirs)
        ledger = state_dir / "usage.sqlite3" if state_dir else None
        self.spending = Spending(port, ledger, environ)
        self._closing: set[asyncio.Future[None]] = set()
        # Resource counts of the layers around the session, shown by gptLsp.status when the
        # server runs with --debug (leak tests, benchmarks); None for users.
        self.counters: Callable[[], dict[str, int]] | None = None

    def connect(self, client: ClientFeatures, init_options: Any) -> None:
        """Takes what the client's initialize request said."""
        self.client = client
        self.init_options = init_options if isinstance(init_options, Mapping) else None
        set_language(client.locale)  # until the settings (`language`) load

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
            from gpt_lsp.relay.memory import RelayMemory, default_path
            from gpt_lsp.relay.pool import RelayPool

            path = self.state_dir / "relays.json" if self.state_dir else default_path(self.environ)
            self._relays = RelayPool(
                self.settings,
                transport=self.transport,
                environ=self.environ,
                memory=RelayMemory(path),
            )
        return self._relays

    @property
    def jobs(self) -> JobManager:
        """Returns the job manager."""
        if self._jobs is None:
            from gpt_lsp.jobs.manager import JobManager

            self._jobs = JobManager(
                self.port,
                self.channel_for,
                spending=self.spending,
                progress=self.client.progress,
                lens_refresh=self.client.code_lens_refresh,
            )
            self._jobs.keep_answer = self._keep_answer
        return self._jobs

    def _keep_answer(self, job: Job, answer: str) -> str | None:
        """Puts an answer a job could not use in a notes document, shown when the client can."""
        action = job.spec.action
        try:
            uri = self.notes.keep(job.spec.uri, action.id, action.title, answer)
        except OSError as exc:
            log.warning("could not write the notes document: %s", type(exc).__name__)
            return None
        if self.client.show_document:
            self.notes.show(uri)
        return uri

    @functools.cached_property
    def completion(self) -> CompletionService:
        """Returns the inline completion service (built on first use; asks nothing until on)."""
        from gpt_lsp.completion.service import CompletionService

        return CompletionService(self)

    @property
    def notes(self) -> NotesDocuments:
        """Returns the notes documents of explain jobs."""
        if self._notes is None:
            from gpt_lsp.session.notes import NotesDocuments

            self._notes = NotesDocuments(self.port, self.channel_for, self.notes_dir)
        return self._notes

    @property
    def definitions(self) -> Definitions:
        """Returns the definition finder (parsed blocks kept per document version)."""
        if self._definitions is None:
            from gpt_lsp.prompting.definitions import Definitions

            self._definitions = Definitions()
        return self._definitions

    def set_user_settings(self, settings: Any) -> bool:
        """Takes gptLsp/didChangeUserSettings: they replace initializationOptions."""
        if not isinstance(settings, Mapping):
            log.warning("gptLsp/didChangeUserSettings without a settings object: ignored")
            return False
        self.init_options = settings
        return True

    @property
    def model_choices(self) -> ModelChoices:
        """Returns the models chosen with gptLsp.selectModel (kept through settings reloads)."""
        if self._models is None:
            from gpt_lsp.session.models import ModelChoices, default_path

            path = self.state_dir / "models.json" if self.state_dir else default_path(self.environ)
            self._models = ModelChoices(path)
        return self._models

    def set_client_config(self, section: Any) -> None:
        """Takes the client's `gptLsp` configuration section (None: none)."""
        self.client_config = section if isinstance(section, Mapping) else None

    def reload_settings(self) -> list[str]:
        """Re-reads every source; returns the problems found (already logged)."""
        from gpt_lsp.errors import ProjectSettingsIgnored
        from gpt_lsp.settings import load_sources

        # initializationOptions (and gptLsp/didChangeUserSettings) are the user's own; the
        # gptLsp section is project-level: a project can write it (.dir-locals.el, workspace).
        settings, problems, ignored = load_sources(
            user_options=self.init_options,
            project_options=self.client_config,
            environ=self.environ,
        )
        # One setting for both: who wants explanations in Chinese reads the menus in Chinese.
        set_language(settings.language, self.client.locale)
        if ignored and ignored not in self._warned_ignored:
            self._warned_ignored.add(ignored)  # once per distinct set, not at every reload
            warning = ProjectSettingsIgnored(ignored).user_message()
            log.warning("settings: %s", warning)
            self.port.show_message("warning", warning)
        settings = settings.with_chosen_models(self.model_choices.effective(settings))
        for relay in settings.relays.values():
            if relay.api_key is not None:
                register_secret(relay.api_key.get_secret_value())
        self._settings = settings
        if self._relays is not None:
            self._relays.update(settings)
        self.context_settings_changed()
        set_content_logging(settings.log_content)
        for problem in problems:
            log.warning("settings: %s", problem)
        return problems

    def report_problems(self, problems: list[str]) -> None:
        """Shows settings problems in one message."""
        if problems:
            self.port.show_message("warning", SettingsError(problems).user_message())

    # ------------------------------------------------------------ documents

    def did_open(self, uri: str, text: str, version: int, language_id: str) -> None:
        """Stores an opened document."""
        doc = self.documents.open(uri, text, version, language_id)
        channel = self.channels.get(uri)
        if channel is not None:
            channel.doc = doc
        if self._notes is not None:
            self._notes.did_open(uri)

    def did_change(self, uri: str, version: int, changes: Sequence[Change]) -> None:
        """Applies a didChange, letting running jobs see each change first."""
        doc = self.documents.get(uri)
        if doc is None:
            return
        if (problem := change_problem(doc, changes, version)) is not None:
            log.warning("didChange ignored (%s): %s", problem, os.path.basename(uri))
            return  # the server's copy stays: jobs then see their edits refused, and end
        channel = self.channels.get(uri)
        if channel is None or not channel.regions:
            self.context_changed(uri, changes)  # the user's edits (a job's are not)
        if "completion" in vars(self) or self.settings.completion.enabled:  # ends stale asks
            self.completion.changed(uri, typing=channel is None or not channel.regions)
        if channel is not None and (channel.regions or channel.in_flight is not None):
            channel.apply_changes(changes, version)
            return
        encoding = self.client.encoding
        for span, text in changes:
            doc.apply(span, text, encoding)
        doc.version = version

    def did_close(self, uri: str) -> None:
        """Forgets a document; its jobs stop without editing it."""
        channel = self.channels.pop(uri, None)
        if channel is not None:
            channel.closed = True  # before the jobs stop: no restore goes to a closed file
        if self._jobs is not None:
            self._jobs.close_document(uri)
        if channel is not None:
            self._closing.add(asyncio.ensure_future(channel.close()))
            self._closing = {t for t in self._closing if not t.done()}
        self.documents.close(uri)
        if self._definitions is not None:
            self._definitions.forget(uri)
        if "completion" in vars(self):  # its request stops, its suggestions go
            self.completion.forget(uri)
        self.context_closed(uri)

    def channel_for(self, uri: str) -> DocumentChannel | None:
        """Returns the edit channel of an open document."""
        doc = self.documents.get(uri)
        if doc is None:
            return None
        channel = self.channels.get(uri)
        if channel is None:
            from gpt_lsp.edits.channel import DocumentChannel

            channel = DocumentChannel(doc, self.port.apply_edit, self.client.encoding)
            self.channels[uri] = channel
        return channel

    # ------------------------------------------------------------ code actions

    def code_actions(
        self,
        uri: str,
        span: Span,
        diagnostics: Sequence[dict[str, Any]],
        only: Sequence[str] | None = None,
    ) -> list[Offer]:
        """Lists the AI actions for a range: instant, no relay contacted."""
        doc = self.documents.get(uri)
        if doc is None:
            return []
        from gpt_lsp.prompting.offers import list_offers
        from gpt_lsp.prompting.slicing import excluded_by

        settings = self.settings
        excluded = excluded_by(uri, settings.exclude_globs)
        definition = None
        if span.is_empty:
            definition = self.definitions.find(doc, span.start, self.client.encoding)
        offers = list_offers(
            doc, span, diagnostics, settings, excluded=excluded, only=only, definition=definition
        )
        if self._jobs is not None:
            from gpt_lsp.jobs.review import review_offers

            offers = review_offers(self._jobs.jobs.values(), uri, span, only) + offers
        return offers

    # ------------------------------------------------------------ commands

    def run(self, args: RunArgs, request_id: Any = None) -> dict[str, Any]:
        """gptLsp.run: starts an action's job; answers {jobId} at once."""
        from gpt_lsp.prompting.actions import CHAT_ACTION, all_actions, chat_action, find_action
        from gpt_lsp.prompting.offers import bare_cursor_target
        from gpt_lsp.prompting.slicing import describe_diagnostics

        actions = all_actions(self.settings.actions)
        if args.action == CHAT_ACTION:
            if not args.instruction:
                raise RequestRefused("gptLsp.run: the chat action needs an instruction.")
            action = chat_action(args.instruction)
        else:
            found = find_action(actions, args.action)
            if found is None:
                known = ", ".join(a.id for a in actions)
                raise RequestRefused(f"gptLsp.run: unknown action '{args.action}' ({known}).")
            action = found
        diagnostics = describe_diagnostics(args.diagnostics)
        span = args.range.span()
        doc = self.documents.get(args.uri)
        if span.is_empty and not args.marker and action.id != CHAT_ACTION and doc is not None:
            around = self.definitions.find(doc, span.start, self.client.encoding)  # a bare cursor
            span = bare_cursor_target(doc, span, around, bool(diagnostics))
        instruction = args.instruction or ""
        job = self._start(action, args.uri, span, instruction, diagnostics, marker=args.marker)
        job.request_id = request_id
        return {"jobId": job.id}

    def chat(
        self, args: ChatArgs, request_id: Any = None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """gptLsp.chat: rewrites the range following an instruction, or refines a job."""
        from gpt_lsp.prompting.actions import chat_action

        if args.follow_up:
            return self._refine(args, request_id)
        assert args.uri is not None and args.range is not None
        action = chat_action(args.instruction)
        job = self._start(action, args.uri, args.range.span(), args.instruction, [])
        job.request_id = request_id
        return {"jobId": job.id}

    def _start(
        self,
        action: Action,
        uri: str,
        span: Span,
        instruction: str,
        diagnostics: list[str],
        *,
        marker: bool = False,
    ) -> Job:
        from gpt_lsp.jobs.launch import prepare
        from gpt_lsp.prompting.slicing import uri_path

        doc = self.documents.get(uri)
        if doc is None:
            raise RequestRefused(f"{os.path.basename(uri_path(uri))} is not open in the editor.")
        self.spending.check(self.settings.budget)
        launch = prepare(
            action,
            doc,
            span,
            settings=self.settings,
            relays=self.relays,
            encoding=self.client.encoding,
            instruction=instruction,
            diagnostics=diagnostics,
            marker=marker,
            context=self.context_for(doc, instruction),
        )
        if action.writes_code:
            return self.jobs.start(launch.spec, launch.region, launch.original)
        if not self.client.show_document:
            return self.jobs.start(launch.spec, None, "")
        notes_uri = self.notes.create(uri, action.id, action.label)
        launch.spec.notes_uri = notes_uri
        return self.jobs.start(launch.spec, None, "", self.notes.open(notes_uri))

    async def select_model(self, args: SelectModelArgs) -> dict[str, Any]:
        """gptLsp.selectModel: lists a relay's models, or sets the model of its jobs."""
        from gpt_lsp.session.models import select

        answer = await select(self.model_choices, self.settings, self.relays, args)
        self._settings = self.settings.with_chosen_models(
            self.model_choices.effective(self.settings)
        )
        return answer

    def status(self) -> dict[str, Any]:
        """gptLsp.status: version, actions, relays, jobs and usage."""
        from gpt_lsp.session.status import status_of

        return status_of(self)

    def resource_counts(self) -> dict[str, int]:
        """Returns the session's resource counts (for leak tests and benchmarks)."""
        return {
            "documents": len(self.documents),
            "channels": len(self.channels),
            "trackedRegions": sum(len(c.regions) for c in self.channels.values()),
            "notesOpening": len(self._notes) if self._notes is not None else 0,
        }

    async def release_documents(self, timeout: float) -> None:
        """Stops sending edits (the client is gone): jobs waiting on an edit end at once."""
        channels = list(self.channels.values())
        if channels:
            await asyncio.wait(
                [asyncio.ensure_future(c.close()) for c in channels], timeout=timeout
            )

    async def close(self) -> None:
        """Cancels every job (closing their HTTP requests) and the relay connection pools."""
        if self._jobs is not None:
            await self._jobs.shutdown()
        if "completion" in vars(self):  # built on first use (a cached property)
            await self.completion.close()  # its streams closed, its usage recorded
        self.close_context()
        if self._relays is not None:
            await self._relays.aclose()
