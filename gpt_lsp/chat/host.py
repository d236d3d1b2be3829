"""What the chat service works with, as the session's parts give it (protocols: the session
is above this layer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.text.documents import DocumentStore

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.context.service import ContextService
    from gpt_lsp.edits.channel import DocumentChannel
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.prompting.definitions import Definitions
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings


class Opener(Protocol):
    """Waits for the editor to open a document (the session's notes documents do it)."""

    def expect(self, uri: str) -> asyncio.Event: ...
    def forget(self, uri: str) -> None: ...


class Documents(Protocol):
    """The open documents: the server's copies and their edit channels."""

    @property
    def store(self) -> DocumentStore: ...
    def channel_for(self, uri: str) -> DocumentChannel | None: ...


class Machinery(Protocol):
    """The other parts a chat uses, each built on first use: jobs take an applied block,
    the context service (the one jobs use) gathers a reply's context."""

    @property
    def jobs(self) -> JobManager: ...
    @property
    def definitions(self) -> Definitions: ...
    @property
    def notes(self) -> Opener: ...
    @property
    def context(self) -> ContextService: ...


@dataclass(frozen=True)
class Host:
    """What the chat service works with."""

    port: ClientPort
    client: Callable[[], ClientFeatures]  # what the client declared, once connected
    documents: Documents
    spending: Spending
    settings: Callable[[], Settings]  # the current settings (loaded on first use)
    relays: Callable[[], RelayPool]  # the relay clients
    parts: Machinery

    def refresh_lenses(self) -> None:
        """Asks the client to fetch lenses again (Cancel while a reply runs, else Reply)."""
        if self.client().code_lens_refresh:
            self.port.refresh_code_lenses()
