"""What the job pipeline needs from the editor connection (the LSP layer implements it)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gpt_lsp.text.regions import Encoding, Span

MessageKind = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class ClientFeatures:
    """What the client said it can do, from its initialize request."""

    encoding: Encoding = "utf-16"
    progress: bool = False
    show_document: bool = False
    configuration: bool = False
    code_lens_refresh: bool = False
    locale: str | None = None  # the UI language the client asked for, e.g. zh-CN
    roots: tuple[str, ...] = ()  # the workspace folders' URIs (chat folders, #file paths)


class ClientPort(Protocol):
    """Requests and notifications to the client. Nothing here may wait on the client before
    a job starts: requests are sent at once and their answers arrive by callback or await."""

    async def apply_edit(
        self, uri: str, version: int, span: Span, text: str, label: str = "gpt-lsp"
    ) -> bool:
        """Sends one versioned edit; True when the client says it applied it."""

    def start_progress(self, token: str, title: str) -> None:
        """Asks for a progress at once; it begins when (if ever) the client accepts."""

    def report_progress(self, token: str, message: str) -> None:
        """Reports on a progress that has begun (nothing before the client accepted)."""

    def end_progress(self, token: str, message: str) -> None:
        """Ends a progress, or forgets it when the client never accepted it."""

    def show_message(self, kind: MessageKind, text: str) -> None:
        """Shows one message."""

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Sends a notification."""

    def show_document(self, uri: str) -> Awaitable[bool]:
        """Asks the client to show a document (sent at once); True when it did."""

    def refresh_code_lenses(self) -> None:
        """Asks the client to request code lenses again (workspace/codeLens/refresh)."""
