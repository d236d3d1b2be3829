"""The session: owns documents, edit channels, notes, jobs, relays and settings for one client.

The LSP layer forwards document events and commands here and implements `ClientPort`; the
session never imports the LSP layer. Heavy modules (pydantic settings, the httpx client, the
job machinery) load on first use, so that `initialize` is answered before any of it loads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.errors import RequestRefused
from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.session.chats import ChatCommands
from gpt_lsp.session.configuration import Configuration
from gpt_lsp.session.controls import JobControls
from gpt_lsp.session.documents import Change, OpenDocuments
from gpt_lsp.session.setup import Parts
from gpt_lsp.text.regions import Span

if TYPE_CHECKING:
    import httpx

    from gpt_lsp.completion.service import CompletionService
    from gpt_lsp.context.service import ContextService
    from gpt_lsp.jobs.job import Job
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.prompting.actions import Action
    from gpt_lsp.prompting.offers import Offer
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.session.arguments import (
        ChatArgs,
        RunArgs,
        SelectModelArgs,
    )
    from gpt_lsp.settings import Settings
    from gpt_lsp.text.documents import TextDoc

log = logging.getLogger(__name__)


class Session:
    """One client's gpt-lsp: what the language server forwards requests to."""

    def __init__(
        self,
        port: ClientPort,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        notes_dir: Path | None = None,
        state_dir: Path | None = None,
        counters: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.port = port
        self.client = ClientFeatures()
        ledger = state_dir / "usage.sqlite3" if state_dir else None
        self.spending = Spending(port, ledger, environ)
        self.open_documents = OpenDocuments(port, self._client)
        self.documents = self.open_documents.store  # the server's copies (completion reads)
        self.channels = self.open_documents.channels
        self.parts = Parts(
            port,
            self._client,
            self.open_documents,
            self.spending,
            self,
            lambda: self.config.settings,
            lambda: self.config.relays,
            notes_dir=notes_dir,
        )
        self.config = Configuration(
            port,
            transport=transport,
            environ=environ,
            state_dir=state_dir,
            reloaded=self.parts.settings_changed,
        )
        self.controls = JobControls(self.parts, self.config, self.spending, self.open_documents)
        self.chats = ChatCommands(self.parts)
        # Resource counts of the layers around the session, shown by gptLsp.status when the
        # server runs with --debug (leak tests, benchmarks); None for users.
        self.counters = counters

    def connect(self, client: ClientFeatures, init_options: Any) -> None:
        """Takes what the client's initialize request said."""
        self.client = client
        self.config.connect(init_options, client.locale)

    def _client(self) -> ClientFeatures:
        return self.client

    @property
    def settings(self) -> Settings:
        """Returns the settings, loading them on first use."""
        return self.config.settings

    @property
    def relays(self) -> RelayPool:
        """Returns the relay clients."""
        return self.config.relays

    @property
    def jobs(self) -> JobManager:
        """Returns the job manager."""
        return self.parts.jobs

    @property
    def completion(self) -> CompletionService:
        """Returns the inline completion service (built on first use; asks nothing until on)."""
        return self.parts.completion

    @property
    def context(self) -> ContextService:
        """Returns the context service (the workspace index, recent edits, open documents)."""
        return self.parts.context

    # ------------------------------------------------------------ documents

    def did_open(self, uri: str, text: str, version: int, language_id: str) -> None:
        """Stores an opened document."""
        self.open_documents.open(uri, text, version, language_id)
        if (notes := self.parts.built().notes) is not None:
            notes.did_open(uri)

    def did_change(self, uri: str, version: int, changes: Sequence[Change]) -> None:
        """Applies a didChange, letting running jobs see each change first."""
        doc = self.open_documents.checked(uri, version, changes)
        if doc is None:
            return  # not open, or a change that cannot apply: the server's copy stays
        built = self.parts.built()
        typing = not self.open_documents.tracking(uri)  # no job's region sees it
        if built.context is not None and typing and not _is_chat(doc):
            # The user's edits (a job's are not; a chat's question is sent as the question).
            built.context.changed(uri, changes)
        if built.completion is not None or self.settings.completion.enabled:  # ends stale asks
            self.parts.completion.changed(uri, typing=typing)
        self.open_documents.apply(doc, version, changes)

    def did_close(self, uri: str) -> None:
        """Forgets a document; its jobs stop without editing it."""
        channel = self.open_documents.closing(uri)  # before the jobs stop: no restore goes out
        built = self.parts.built()
        if built.jobs is not None:
            built.jobs.close_document(uri)
        self.open_documents.close(uri, channel)
        if built.definitions is not None:
            built.definitions.forget(uri)
        if built.completion is not None:  # its request stops, its suggestions go
            built.completion.forget(uri)
        if built.context is not None:  # its edits forgotten, its file read again
            built.context.closed(uri)

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
        if (chat := self.chats.code_actions(doc, span, diagnostics)) is not None:
            return chat  # a chat document's: Reply, Cancel, Apply, Insert
        definition = None
        if span.is_empty:
            definition = self.parts.definitions.find(doc, span.start, self.client.encoding)
        offers = list_offers(
            doc, span, diagnostics, settings, excluded=excluded, only=only, definition=definition
        )
        if (jobs := self.parts.built().jobs) is not None:
            from gpt_lsp.jobs.review import review_offers

            offers = review_offers(jobs.jobs.values(), uri, span, only) + offers
        return offers

    # ------------------------------------------------------------ commands

    def run(self, args: RunArgs, request_id: Any = None) -> dict[str, Any]:
        """gptLsp.run: starts an action's job; answers {jobId} at once."""
        from gpt_lsp.prompting.actions import CHAT_ACTION, all_actions, chat_action, find_action
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
        if span.is_empty and not args.marker and action.id != CHAT_ACTION:
            span = self._definition_at(args.uri, span, bool(diagnostics))
        job = self._start(
            action,
            args.uri,
            span,
            args.instruction or "",
            diagnostics,
            marker=args.marker,
            request_id=request_id,
        )
        return {"jobId": job.id}

    def _definition_at(self, uri: str, cursor: Span, has_diagnostics: bool) -> Span:
        """The definition around a bare cursor, as its code action covers."""
        from gpt_lsp.prompting.offers import bare_cursor_target

        doc = self.documents.get(uri)
        if doc is None:
            return cursor  # _start says the document is not open
        definition = self.parts.definitions.find(doc, cursor.start, self.client.encoding)
        return bare_cursor_target(doc, cursor, definition, has_diagnostics)

    def chat(
        self, args: ChatArgs, request_id: Any = None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """gptLsp.chat: rewrites the range following an instruction, or refines a job."""
        from gpt_lsp.prompting.actions import chat_action

        if args.follow_up:
            return self.controls.refine(args, request_id)
        assert args.uri is not None and args.range is not None
        action = chat_action(args.instruction)
        job = self._start(
            action, args.uri, args.range.span(), args.instruction, [], request_id=request_id
        )
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
        request_id: Any = None,
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
            context=self.parts.context.for_job(doc, instruction),
        )
        if action.writes_code:
            return self.jobs.start(launch.spec, launch.region, launch.original, None, request_id)
        if not self.client.show_document:
            return self.jobs.start(launch.spec, None, "", None, request_id)
        notes = self.parts.notes
        notes_uri = notes.create(uri, action.id, action.label)
        launch.spec.notes_uri = notes_uri
        return self.jobs.start(launch.spec, None, "", notes.open(notes_uri), request_id)

    async def select_model(self, args: SelectModelArgs) -> dict[str, Any]:
        """gptLsp.selectModel: lists a relay's models, or sets the model of its jobs."""
        from gpt_lsp.session.models import select

        answer = await select(self.config.model_choices, self.settings, self.relays, args)
        self.config.models_chosen()
        return answer

    def status(self) -> dict[str, Any]:
        """gptLsp.status: version, actions, relays, jobs and usage."""
        from gpt_lsp.session.status import completion_status, status_of

        internal = None
        if self.counters is not None:
            notes = self.parts.built().notes
            opening = {"notesOpening": len(notes) if notes is not None else 0}
            internal = {**self.counters(), **self.open_documents.counts(), **opening}
        built = self.parts.built()
        completion = completion_status(built.completion, self.settings)
        index = built.context.status() if built.context is not None else None
        return status_of(
            self.settings, self.relays, self.jobs, completion, self.spending, internal, index=index
        )

    async def close(self) -> None:
        """Cancels every job (closing their HTTP requests) and the relay connection pools."""
        built = self.parts.built()
        if built.jobs is not None:
            await built.jobs.shutdown()
        if built.completion is not None:
            await built.completion.close()  # its streams closed, its usage recorded
        if built.context is not None:
            built.context.close()  # the index's thread stops
        if built.chat is not None:
            await built.chat.close()  # replies stopped, what came billed
        await self.config.close()


def _is_chat(doc: TextDoc) -> bool:
    """True for a chat document (its first line is the chat's marker)."""
    from gpt_lsp.chat.document import is_chat

    return bool(doc.lines) and is_chat(doc.lines[0])
