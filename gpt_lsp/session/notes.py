"""Notes documents: where explain jobs write, files in the user cache dir shown beside the code."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_lsp.port import ClientPort
from gpt_lsp.prompting.slicing import uri_path

if TYPE_CHECKING:
    from gpt_lsp.edits.channel import DocumentChannel
    from gpt_lsp.jobs.job import Job

log = logging.getLogger(__name__)

SHOW_TIMEOUT = 5.0  # seconds for the client to answer showDocument
OPEN_TIMEOUT = 3.0  # seconds for the didOpen of a shown notes document


class NotesDocuments:
    """Creates notes files and opens them in the client; a client that never answers costs
    the notes document, never the job (its text then travels in jobFinished)."""

    def __init__(
        self,
        port: ClientPort,
        channel_for: Callable[[str], DocumentChannel | None],
        folder: Path | None = None,
    ) -> None:
        self._port = port
        self._channel_for = channel_for
        self._folder = folder
        self._opened: dict[str, asyncio.Event] = {}
        self._showing: set[asyncio.Future[None]] = set()

    def create(self, source_uri: str, action_id: str, title: str) -> str:
        """Writes a new notes file for a job and returns its URI."""
        folder = self._folder
        if folder is None:
            import platformdirs

            folder = Path(platformdirs.user_cache_dir("gpt-lsp", appauthor=False)) / "notes"
        folder.mkdir(parents=True, exist_ok=True)
        base = os.path.basename(uri_path(source_uri))
        # Only the source's base name and our own words make the file name: nothing from a
        # relay answer decides where a file is written.
        name = os.path.splitext(base)[0] or "notes"
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{action_id}.md"
        # A blank line under the heading, and the line break the answer is written before.
        path.write_text(f"# {title}: {base}\n\n\n", "utf-8")
        return path.as_uri()

    def keep(self, source_uri: str, action_id: str, title: str, text: str) -> str:
        """Writes an answer that could not be used to a new notes file; returns its URI."""
        uri = self.create(source_uri, action_id, title)
        path = Path(uri_path(uri))
        with path.open("a", encoding="utf-8") as out:
            out.write(text)
        return uri

    def show(self, uri: str) -> None:
        """Asks the client to show a notes document, without waiting for its answer."""
        task = asyncio.ensure_future(self._show(uri))
        self._showing.add(task)
        task.add_done_callback(self._showing.discard)

    async def _show(self, uri: str) -> None:
        try:
            await asyncio.wait_for(self._port.show_document(uri), SHOW_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - the file stays; only showing it failed
            log.info("notes document not shown: %s", type(exc).__name__)

    def did_open(self, uri: str) -> None:
        """Notes a document the client opened (it may be a notes document we showed)."""
        event = self._opened.get(uri)
        if event is not None:
            event.set()

    async def open(self, uri: str) -> DocumentChannel | None:
        """Shows a notes document and returns its edit channel once the client opened it."""
        event = self._opened.setdefault(uri, asyncio.Event())
        try:
            shown = await asyncio.wait_for(self._port.show_document(uri), SHOW_TIMEOUT)
            if shown:
                await asyncio.wait_for(event.wait(), OPEN_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - no notes document means "collect the text"
            log.info("notes document not shown: %s", type(exc).__name__)
        finally:
            self._opened.pop(uri, None)
        return self._channel_for(uri)

    def expect(self, uri: str) -> asyncio.Event:
        """Returns an event set when the client opens the document (`forget` it after)."""
        return self._opened.setdefault(uri, asyncio.Event())

    def forget(self, uri: str) -> None:
        """Stops waiting for a document to open."""
        self._opened.pop(uri, None)

    def __len__(self) -> int:
        return len(self._opened)


def keep_answer(notes: NotesDocuments, job: Job, answer: str, *, show: bool) -> str | None:
    """Puts an answer a job could not use in a notes document (shown when the client can);
    returns its URI, or None when it could not be written."""
    action = job.spec.action
    try:
        uri = notes.keep(job.spec.uri, action.id, action.title, answer)
    except OSError as exc:
        log.warning("could not write the notes document: %s", type(exc).__name__)
        return None
    if show:
        notes.show(uri)
    return uri
