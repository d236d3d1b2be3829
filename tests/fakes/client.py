"""An in-process client for a Session: the editor fake behind gpt-lsp's ClientPort."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from gpt_lsp.port import ClientFeatures, MessageKind
from gpt_lsp.session.session import Session
from gpt_lsp.text.regions import Pos, Span
from tests.fakes.editor import PROFILES, Change, FakeDocument


class FakeClient:
    """An editor of one profile, connected to a Session in the same process.

    `answers=False` is a client that never answers the server's own requests (progress,
    showDocument): a job must not wait on them.
    """

    def __init__(self, profile: str = "vscode", *, answers: bool = True) -> None:
        self.profile = PROFILES[profile]
        self.answers = answers
        self.session: Session | None = None
        self.docs: dict[str, FakeDocument] = {}
        self.messages: list[tuple[MessageKind, str]] = []
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self.progress: list[tuple[str, str, str]] = []  # (token, create|begin|report|end, text)
        self.shown: list[str] = []
        self.lens_refreshes = 0
        self.labels: list[str] = []  # of the edits the server sent
        self.refuse_edits = False  # answers every edit `applied: false` (a read-only document)
        self._never: list[asyncio.Future[bool]] = []

    def connect(self, session: Session, init_options: dict[str, Any]) -> None:
        """Plays initialize: tells the session what this client can do."""
        self.session = session
        features = ClientFeatures(
            encoding=self.profile.encoding,
            progress=True,
            show_document=True,
            configuration=False,
            code_lens_refresh=True,
        )
        session.connect(features, init_options)

    @property
    def _session(self) -> Session:
        assert self.session is not None, "connect() first"
        return self.session

    # ------------------------------------------------------------ documents

    def open(self, uri: str, text: str, language: str = "python") -> FakeDocument:
        """Opens a document in the editor and tells the session."""
        doc = FakeDocument(uri, text, self.profile, self._report)
        self.docs[uri] = doc
        self._session.did_open(uri, text, doc.version, language)
        return doc

    def _report(self, uri: str, version: int, changes: list[Change]) -> None:
        spans = [(Span(Pos(*start), Pos(*end)), text) for start, end, text in changes]
        self._session.did_change(uri, version, spans)

    # ------------------------------------------------------------ ClientPort

    async def apply_edit(
        self, uri: str, version: int, span: Span, text: str, label: str = "gpt-lsp"
    ) -> bool:
        """Applies the server's edit as the profile's editor does."""
        self.labels.append(label)
        await asyncio.sleep(0)  # the round trip
        doc = self.docs.get(uri)
        if doc is None or self.refuse_edits:
            return False
        start = (span.start.line, span.start.character)
        end = (span.end.line, span.end.character)
        return doc.apply_edit(version, [(start, end, text)])

    def start_progress(self, token: str, title: str) -> None:
        """Records the create request; a client that answers accepts it at once."""
        self.progress.append((token, "create", title))
        if self.answers:
            self.progress.append((token, "begin", title))

    def report_progress(self, token: str, message: str) -> None:
        """Records a report (only once begun, as the port promises)."""
        if (token, "begin") in {(t, e) for t, e, _ in self.progress}:
            self.progress.append((token, "report", message))

    def end_progress(self, token: str, message: str) -> None:
        """Records the end (only once begun)."""
        if (token, "begin") in {(t, e) for t, e, _ in self.progress}:
            self.progress.append((token, "end", message))

    def show_message(self, kind: MessageKind, text: str) -> None:
        """Records a message."""
        self.messages.append((kind, text))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Records a notification."""
        self.notifications.append((method, params))

    def show_document(self, uri: str) -> Awaitable[bool]:
        """Opens the document (as editors do), or never answers."""
        self.shown.append(uri)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not self.answers:
            self._never.append(future)  # kept, so it is never collected half-awaited
            return future
        path = Path(uri.removeprefix("file://"))
        self.open(uri, path.read_text("utf-8"), "markdown")
        future.set_result(True)
        return future

    def refresh_code_lenses(self) -> None:
        """Counts lens refresh requests."""
        self.lens_refreshes += 1

    # ------------------------------------------------------------ waiting

    def finished(self, job_id: str) -> dict[str, Any] | None:
        """Returns the jobFinished of a job, if it came."""
        for method, params in self.notifications:
            if method == "gptLsp/jobFinished" and params.get("jobId") == job_id:
                return params
        return None

    async def wait_finished(self, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Waits for the jobFinished of a job."""
        async with asyncio.timeout(timeout):
            while (params := self.finished(job_id)) is None:  # noqa: ASYNC110 - a notification list
                await asyncio.sleep(0.005)
        return params
