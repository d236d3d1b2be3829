"""What the chat service uses of the session (a protocol: the session is above this layer)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.text.documents import DocumentStore

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.edits.channel import DocumentChannel
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.prompting.definitions import Definitions
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings


class Opener(Protocol):
    """Waits for the editor to open a document (the session's notes documents do it)."""

    def expect(self, uri: str) -> asyncio.Event: ...
    def forget(self, uri: str) -> None: ...


class Host(Protocol):
    """What the chat service uses of the session."""

    port: ClientPort
    client: ClientFeatures
    documents: DocumentStore
    spending: Spending

    @property
    def settings(self) -> Settings: ...
    @property
    def relays(self) -> RelayPool: ...
    @property
    def jobs(self) -> JobManager: ...
    @property
    def definitions(self) -> Definitions: ...
    @property
    def notes(self) -> Opener: ...
    def channel_for(self, uri: str) -> DocumentChannel | None: ...
