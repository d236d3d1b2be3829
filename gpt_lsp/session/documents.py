"""The documents a client has open and the edit channels on them: didOpen, didChange and
didClose taken in, each change shown to the jobs' regions before it is applied."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gpt_lsp.port import ClientFeatures, ClientPort
from gpt_lsp.text.documents import DocumentStore, TextDoc, change_problem
from gpt_lsp.text.regions import Span

if TYPE_CHECKING:
    from gpt_lsp.edits.channel import DocumentChannel

log = logging.getLogger(__name__)

Change = tuple[Span | None, str]


class OpenDocuments:
    """The client's open documents (the server's copies) and their edit channels."""

    def __init__(self, port: ClientPort, client: Callable[[], ClientFeatures]) -> None:
        self.port = port
        self.client = client  # what the client declared (its encoding), once connected
        self.store = DocumentStore()
        self.channels: dict[str, DocumentChannel] = {}
        self._closing: set[asyncio.Future[None]] = set()

    def open(self, uri: str, text: str, version: int, language_id: str) -> None:
        """Stores an opened document."""
        doc = self.store.open(uri, text, version, language_id)
        channel = self.channels.get(uri)
        if channel is not None:
            channel.doc = doc

    def checked(self, uri: str, version: int, changes: Sequence[Change]) -> TextDoc | None:
        """Returns the open document a didChange can apply to; None (logged) when it is not
        open or the change is malformed (the server's copy then stays: jobs see their edits
        refused, and end)."""
        doc = self.store.get(uri)
        if doc is None:
            return None
        if (problem := change_problem(doc, changes, version)) is not None:
            log.warning("didChange ignored (%s): %s", problem, os.path.basename(uri))
            return None
        return doc

    def tracking(self, uri: str) -> bool:
        """True while a job's region in the document follows its changes."""
        channel = self.channels.get(uri)
        return channel is not None and bool(channel.regions)

    def apply(self, doc: TextDoc, version: int, changes: Sequence[Change]) -> None:
        """Applies a checked didChange, letting running jobs see each change first."""
        channel = self.channels.get(doc.uri)
        if channel is not None and (channel.regions or channel.in_flight is not None):
            channel.apply_changes(changes, version)
            return
        encoding = self.client().encoding
        for span, text in changes:
            doc.apply(span, text, encoding)
        doc.version = version

    def closing(self, uri: str) -> DocumentChannel | None:
        """Takes a closed document's channel away, sending nothing more: no restore goes to a
        closed file (the jobs stop after this)."""
        channel = self.channels.pop(uri, None)
        if channel is not None:
            channel.closed = True
        return channel

    def close(self, uri: str, channel: DocumentChannel | None) -> None:
        """Forgets a closed document, once its jobs have stopped."""
        if channel is not None:
            self._closing.add(asyncio.ensure_future(channel.close()))
            self._closing = {t for t in self._closing if not t.done()}
        self.store.close(uri)

    def channel_for(self, uri: str) -> DocumentChannel | None:
        """Returns the edit channel of an open document."""
        doc = self.store.get(uri)
        if doc is None:
            return None
        channel = self.channels.get(uri)
        if channel is None:
            from gpt_lsp.edits.channel import DocumentChannel

            channel = DocumentChannel(doc, self.port.apply_edit, self.client().encoding)
            self.channels[uri] = channel
        return channel

    async def release(self, timeout: float) -> None:
        """Stops sending edits (the client is gone): jobs waiting on an edit end at once."""
        channels = list(self.channels.values())
        if channels:
            await asyncio.wait(
                [asyncio.ensure_future(c.close()) for c in channels], timeout=timeout
            )

    def counts(self) -> dict[str, int]:
        """Returns the resource counts of the documents (for leak tests and benchmarks)."""
        return {
            "documents": len(self.store),
            "channels": len(self.channels),
            "trackedRegions": sum(len(c.regions) for c in self.channels.values()),
        }
