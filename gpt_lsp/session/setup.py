"""Builds a session's parts, each with what it works with: the one place that wires them (as
esbonio's server/setup.py builds its server and features). A part is built on first use, so
that nothing heavy (the job machinery, tree-sitter, the completion service) loads before
`initialize` is answered; no part gets a collaborator or a callback after it was made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.session.documents import OpenDocuments

if TYPE_CHECKING:
    from gpt_lsp.chat.service import ChatService
    from gpt_lsp.completion.service import CompletionService, Host
    from gpt_lsp.context.service import ContextService
    from gpt_lsp.jobs.job import Job
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.prompting.definitions import Definitions
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.session.notes import NotesDocuments
    from gpt_lsp.settings import Settings


class Parts:
    """A session's parts: the job manager (with its registry, review board, lifecycle,
    verdicts and turn runner), the notes documents, the definition finder, the completion
    service, the context service (the workspace index) and the chat service, built on first
    use."""

    def __init__(
        self,
        port: ClientPort,
        client: Callable[[], ClientFeatures],
        documents: OpenDocuments,
        spending: Spending,
        completion_host: Host,
        settings: Callable[[], Settings],
        relays: Callable[[], RelayPool],
        *,
        notes_dir: Path | None = None,
    ) -> None:
        self.port = port
        self.client = client  # what the client declared, once connected
        self.documents = documents
        self.spending = spending
        self.completion_host = completion_host  # what completion asks (the session)
        self.settings = settings  # the current settings (context reads its budgets there)
        self.relays = relays  # the relay clients (chat)
        self.notes_dir = notes_dir
        self._jobs: JobManager | None = None
        self._notes: NotesDocuments | None = None
        self._definitions: Definitions | None = None
        self._completion: CompletionService | None = None
        self._context: ContextService | None = None
        self._chat: ChatService | None = None

    @property
    def jobs(self) -> JobManager:
        """The job machinery: registry, review board, lifecycle, verdicts, runner, manager."""
        if self._jobs is None:
            from gpt_lsp.accounting.usage import UsageTotals
            from gpt_lsp.jobs.lifecycle import Lifecycle
            from gpt_lsp.jobs.manager import JobManager
            from gpt_lsp.jobs.registry import JobList
            from gpt_lsp.jobs.review import ReviewBoard
            from gpt_lsp.jobs.runner import TurnRunner
            from gpt_lsp.jobs.verdicts import Verdicts

            client = self.client()
            registry = JobList()
            board = ReviewBoard(self.port, lens_refresh=client.code_lens_refresh)
            life = Lifecycle(self.port, board, registry)
            runner = TurnRunner(
                self.port,
                life,
                board,
                totals=UsageTotals(),
                spending=self.spending,
                keep_answer=self._keep_answer,
                progress=client.progress,
            )
            verdicts = Verdicts(self.port, life)
            self._jobs = JobManager(registry, life, runner, verdicts, self.documents.channel_for)
        return self._jobs

    @property
    def notes(self) -> NotesDocuments:
        """The notes documents of explain jobs (and of answers without code)."""
        if self._notes is None:
            from gpt_lsp.session.notes import NotesDocuments

            self._notes = NotesDocuments(self.port, self.documents.channel_for, self.notes_dir)
        return self._notes

    @property
    def definitions(self) -> Definitions:
        """The definition finder (parsed blocks kept per document version)."""
        if self._definitions is None:
            from gpt_lsp.prompting.definitions import Definitions

            self._definitions = Definitions()
        return self._definitions

    @property
    def completion(self) -> CompletionService:
        """The inline completion service (asks nothing until it is on)."""
        if self._completion is None:
            from gpt_lsp.completion.service import CompletionService

            # Completion's context: definitions from other files, in a small budget.
            self._completion = CompletionService(self.completion_host, self.context.for_completion)
        return self._completion

    @property
    def context(self) -> ContextService:
        """Context beyond the selection: recent edits, open documents' definitions, the
        workspace index (started by the server once the settings are read)."""
        if self._context is None:
            from gpt_lsp.context.service import ContextService

            self._context = ContextService(self.documents.store.all, self.settings)
        return self._context

    def settings_changed(self) -> None:
        """The settings were reloaded: the index reads anew when what it may read changed."""
        if self._context is not None:
            self._context.settings_changed()

    @property
    def chat(self) -> ChatService:
        """The chat documents (their replies, lenses and code actions; applying a block)."""
        if self._chat is None:
            from gpt_lsp.chat.host import Host as ChatHost
            from gpt_lsp.chat.service import ChatService

            host = ChatHost(
                self.port,
                self.client,
                self.documents,
                self.spending,
                self.settings,
                self.relays,
                self,
            )
            self._chat = ChatService(host)
        return self._chat

    def built(self) -> Built:
        """The parts built so far (nothing is built just to find nothing in it)."""
        return Built(
            self._jobs, self._notes, self._definitions, self._completion, self._context, self._chat
        )

    def _keep_answer(self, job: Job, answer: str) -> str | None:
        """Puts an answer a job could not use in a notes document, shown when the client can."""
        from gpt_lsp.session.notes import keep_answer

        return keep_answer(self.notes, job, answer, show=self.client().show_document)


@dataclass(frozen=True)
class Built:
    """The parts built so far; None for those not yet needed."""

    jobs: JobManager | None
    notes: NotesDocuments | None
    definitions: Definitions | None
    completion: CompletionService | None
    context: ContextService | None
    chat: ChatService | None
