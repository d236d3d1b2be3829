"""The chat service: opens chat documents, replies in them, lists them, offers their code
actions and lenses. It asks a relay only when the user asks for a reply (no titles, no
summaries); the reply itself is reply.py, applying an answer's code is applying.py."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.chat.document import (
    Meta,
    block_at,
    fenced,
    is_chat,
    last_user_line,
    messages,
    new_document,
    parse,
)
from gpt_lsp.chat.host import Host
from gpt_lsp.errors import GptLspError, RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.prompting.offers import Offer
from gpt_lsp.prompting.slicing import check_document, describe_diagnostics, uri_path
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span

if TYPE_CHECKING:
    from gpt_lsp.chat.reply import Reply
    from gpt_lsp.jobs.review import Lens

log = logging.getLogger(__name__)

OPEN_WAIT = 10.0  # seconds for the editor to open a new chat before its first reply
SHOW_TIMEOUT = 5.0
KIND = "refactor.rewrite"


class ChatService:
    """One session's chats."""

    def __init__(self, host: Host, base: Path | None = None) -> None:
        self.host = host
        self.base = base  # None: the user's data directory
        self.replies: dict[str, Reply] = {}  # running, by chat document
        self.diagnostics: dict[str, list[str]] = {}  # the last seen of each source document
        self.last_source: tuple[str, Pos] | None = None  # the last source document used
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def folder(self) -> Path:
        """Returns this workspace's chat folder."""
        from gpt_lsp.chat.folder import default_base, workspace_folder

        return workspace_folder(self.base or default_base(), self.host.client().roots)

    # ------------------------------------------------------------ commands

    def open(
        self,
        source: str | None,
        span: Span | None,
        question: str | None,
        diagnostics: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """gptLsp.chatOpen: writes a new chat (with the selection, the question) and shows
        it; with a question the first reply starts once the editor opened it."""
        from gpt_lsp.chat.folder import create

        host, settings = self.host, self.host.settings()
        selection, meta = "", Meta()
        if source is not None:
            check_document(source, settings)  # an excluded file never goes into a chat
            doc = host.documents.store.get(source)
            if doc is None:
                name = os.path.basename(uri_path(source))
                raise RequestRefused(_("{file} is not open in the editor.").format(file=name))
            if diagnostics is not None:
                self.diagnostics[source] = describe_diagnostics(diagnostics)
            if span is not None and not span.is_empty:
                selection = self._selection(doc, span, settings.max_selection_chars)
                start, end = span.start, span.end
                meta = Meta(source, (start.line, start.character, end.line, end.character))
            else:
                meta = Meta(source)
            self.last_source = (source, span.start if span is not None else Pos(0, 0))
        path = create(self.folder, source, new_document(meta, selection, question or ""))
        uri = path.as_uri()
        opened = host.parts.notes.expect(
            uri
        )  # before the editor is asked: its didOpen may be quick
        self._spawn(self._show(uri, opened, bool(question and question.strip())))
        return {"uri": uri}

    def _selection(self, doc: TextDoc, span: Span, limit: int) -> str:
        encoding = self.host.client().encoding
        text = doc.text_in(span, encoding)
        if len(text) > limit:
            message = _(
                "The selection has {count} characters, more than maxSelectionChars ({limit}): "
                "select less."
            )
            raise RequestRefused(message.format(count=f"{len(text):,}", limit=f"{limit:,}"))
        name = os.path.basename(uri_path(doc.uri))
        first, last = span.start.line + 1, span.end.line + (1 if span.end.character else 0)
        caption = _("`{file}` lines {first}-{last}:").format(
            file=name, first=first, last=max(first, last)
        )
        language = doc.language_id if doc.language_id.isidentifier() else ""
        code = text.replace("\r\n", "\n").replace("\r", "\n")  # the chat's own line breaks
        return f"{caption}\n\n{fenced(code, language)}"

    async def _show(self, uri: str, opened: asyncio.Event, reply: bool) -> None:
        """Shows a new chat; replies once it is open when it came with a question."""
        host = self.host
        try:
            if host.client().show_document:
                try:
                    await asyncio.wait_for(host.port.show_document(uri), SHOW_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - the shim opens it itself then
                    log.info("chat document not shown: %s", type(exc).__name__)
            if not reply:
                return
            if host.documents.store.get(uri) is None:
                await asyncio.wait_for(opened.wait(), OPEN_WAIT)
            self.reply(uri)
        except asyncio.TimeoutError:
            log.info("the new chat was not opened in time: no reply")
        except GptLspError as error:
            host.port.show_message("error", error.user_message())
        finally:
            host.parts.notes.forget(uri)

    def reply(self, uri: str, diagnostics: Sequence[Any] | None = None) -> dict[str, Any]:
        """gptLsp.chatReply: sends the conversation and streams the answer into it."""
        from gpt_lsp.chat.asking import start_reply

        doc = self._chat_doc(uri)
        if uri in self.replies:
            raise RequestRefused(
                _("A reply is already being written in this chat: wait for it, or cancel it.")
            )
        chat = parse(doc.lines)
        if last_user_line(chat) is None or not messages(chat.turns[-1:]):
            raise RequestRefused(_("Write your question under the last heading, then reply."))
        source = chat.meta.source if chat.meta is not None else None
        if source is not None and diagnostics is not None:
            self.diagnostics[source] = describe_diagnostics(diagnostics)
        diagnostics_seen = self.diagnostics.get(source or "", [])
        reply = start_reply(self.host, doc, chat, f"chat-{next(self._ids)}", diagnostics_seen)
        self.replies[uri] = reply
        assert reply.task is not None
        reply.task.add_done_callback(lambda _task: self._ended(uri, reply))
        self.host.refresh_lenses()  # the lenses: Cancel instead of Reply
        return {"replyId": reply.id}

    def _ended(self, uri: str, reply: Reply) -> None:
        if self.replies.get(uri) is reply:
            del self.replies[uri]
        self.host.refresh_lenses()

    def cancel(self, uri: str | None) -> dict[str, Any]:
        """gptLsp.chatCancel: stops a chat's reply (every chat's without a uri), keeping
        what came."""
        hit = False
        for key, reply in list(self.replies.items()):
            if (uri is None or key == uri) and reply.task is not None and not reply.task.done():
                reply.task.cancel()
                hit = True
        return {"ok": hit}

    def recent(self) -> dict[str, Any]:
        """gptLsp.chatList: this workspace's chats, newest first (read from the files)."""
        from gpt_lsp.chat.folder import recent

        return {"chats": recent(self.folder)}

    def apply(self, uri: str, line: int, insert: bool) -> Awaitable[dict[str, Any]]:
        """gptLsp.chatApply: an answer's code block as a pending job in its source."""
        from gpt_lsp.chat.applying import apply_block

        chat = parse(self._chat_doc(uri).lines)
        if insert:
            target = self.last_source
        else:
            source = self.target_of(chat.meta.source if chat.meta is not None else None)
            target = (source, Pos(0, 0)) if source is not None else None
        return apply_block(self.host, chat, line, target, insert)

    # ------------------------------------------------------------ in the editor

    def code_actions(
        self, doc: TextDoc, span: Span, diagnostics: Sequence[Any]
    ) -> list[Offer] | None:
        """Returns the actions of a chat document; None for any other document (whose
        cursor and diagnostics are kept: `Insert at cursor`, `#diagnostics`)."""
        if not doc.lines or not is_chat(doc.lines[0]):
            self.last_source = (doc.uri, span.start)
            if diagnostics:
                self.diagnostics[doc.uri] = describe_diagnostics(diagnostics)
            return None
        argument: dict[str, Any] = {"uri": doc.uri}
        if doc.uri in self.replies:
            offers = [Offer(_("AI: Cancel reply"), KIND, argument, command="gptLsp.chatCancel")]
        else:
            offers = [Offer(_("AI: Reply"), KIND, argument, command="gptLsp.chatReply")]
        chat = parse(doc.lines)
        block = block_at(chat, span.start.line)
        if block is None or block.role != "assistant" or not block.code.strip():
            return offers
        target = self.target_of(chat.meta.source if chat.meta is not None else None)
        at = {"uri": doc.uri, "line": block.first}
        if target is not None:
            title = _("AI: Apply to {file}").format(file=os.path.basename(uri_path(target)))
            offers.append(Offer(title, KIND, at, command="gptLsp.chatApply"))
        if self.last_source is not None:
            name = os.path.basename(uri_path(self.last_source[0]))
            title = _("AI: Insert at cursor in {file}").format(file=name)
            offers.append(Offer(title, KIND, {**at, "insert": True}, command="gptLsp.chatApply"))
        return offers

    def target_of(self, source: str | None) -> str | None:
        """Returns where an answer's code goes: the chat's source, else the last source."""
        if source is not None:
            return source
        return self.last_source[0] if self.last_source is not None else None

    def lenses(self, uri: str) -> list[Lens]:
        """`AI: Cancel` on a running reply's heading; `AI: Reply` on the last question."""
        from gpt_lsp.jobs.review import Lens

        doc = self.host.documents.store.get(uri)
        if doc is None or not doc.lines or not is_chat(doc.lines[0]):
            return []
        argument = {"uri": uri}
        reply = self.replies.get(uri)
        if reply is not None:
            line = reply.region.span.start.line + reply.lead.count(reply.eol)
            at = Span(Pos(line, 0), Pos(line, 0))
            return [Lens(at, _("AI: Cancel"), "gptLsp.chatCancel", argument)]
        line_of = last_user_line(parse(doc.lines))
        if line_of is None:
            return []
        at = Span(Pos(line_of, 0), Pos(line_of, 0))
        return [Lens(at, _("AI: Reply"), "gptLsp.chatReply", argument)]

    # ------------------------------------------------------------ helpers

    def _chat_doc(self, uri: str) -> TextDoc:
        doc = self.host.documents.store.get(uri)
        name = os.path.basename(uri_path(uri))
        if doc is None:
            raise RequestRefused(_("{file} is not open in the editor.").format(file=name))
        if not doc.lines or not is_chat(doc.lines[0]):
            text = _("{file} is not a chat document (gptLsp.chatOpen makes one).")
            raise RequestRefused(text.format(file=name))
        return doc

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stops every reply (what came is billed) and waits, bounded."""
        self.cancel(None)
        waiting = [r.task for r in self.replies.values() if r.task is not None]
        if waiting or self._tasks:
            await asyncio.wait([*waiting, *self._tasks], timeout=2.0)
