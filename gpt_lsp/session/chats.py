"""The chat commands of a session (gptLsp.chatOpen, chatReply, chatCancel, chatList,
chatApply): their arguments validated, the chat service built on first use, its lenses
beside the jobs' (mixed into Session)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from gpt_lsp.session.arguments import PositionArg, RangeArg, _Args, parse_args
from gpt_lsp.session.controls import JobCommands

if TYPE_CHECKING:
    from gpt_lsp.chat.service import ChatService
    from gpt_lsp.jobs.review import Lens


class ChatOpenArgs(_Args):
    """`gptLsp.chatOpen` argument: all optional."""

    uri: str | None = Field(default=None, min_length=1)
    range: RangeArg | None = None
    position: PositionArg | None = None
    instruction: str | None = None
    diagnostics: list[Any] | None = None


class ChatArgs(_Args):
    """`gptLsp.chatReply` / `gptLsp.chatCancel` argument: the chat document."""

    uri: str = Field(min_length=1)
    diagnostics: list[Any] | None = None  # the source document's, for #diagnostics


class ChatCancelArgs(_Args):
    """`gptLsp.chatCancel` argument: a chat document, or nothing for every chat."""

    uri: str | None = Field(default=None, min_length=1)


class ChatApplyArgs(_Args):
    """`gptLsp.chatApply` argument: the chat and a line of the code block; `insert` puts it
    at the last cursor in a source document instead."""

    uri: str = Field(min_length=1)
    line: int = Field(ge=0)
    insert: bool = False


class ChatCommands(JobCommands):
    """What a session does with chat documents."""

    _chats: ChatService | None = None

    @property
    def chats(self) -> ChatService:
        """Returns the chat service (built on first use)."""
        if self._chats is None:
            from gpt_lsp.chat.service import ChatService

            self._chats = ChatService(self)  # type: ignore[arg-type]
        return self._chats

    def chat_open(self, raw: Any) -> dict[str, Any]:
        """gptLsp.chatOpen."""
        args = parse_args(ChatOpenArgs, "gptLsp.chatOpen", {} if raw is None else raw)
        span = args.range.span() if args.range is not None else None
        if span is None and args.position is not None:
            span = RangeArg(start=args.position, end=args.position).span()
        return self.chats.open(args.uri, span, args.instruction, args.diagnostics)

    def chat_reply(self, raw: Any) -> dict[str, Any]:
        """gptLsp.chatReply."""
        args = parse_args(ChatArgs, "gptLsp.chatReply", raw)
        return self.chats.reply(args.uri, args.diagnostics)

    def chat_cancel(self, raw: Any) -> dict[str, Any]:
        """gptLsp.chatCancel."""
        args = parse_args(ChatCancelArgs, "gptLsp.chatCancel", {} if raw is None else raw)
        return self.chats.cancel(args.uri) if self._chats is not None else {"ok": False}

    def chat_list(self, raw: Any) -> dict[str, Any]:
        """gptLsp.chatList."""
        return self.chats.recent()

    def chat_apply(self, raw: Any) -> Awaitable[dict[str, Any]]:
        """gptLsp.chatApply."""
        args = parse_args(ChatApplyArgs, "gptLsp.chatApply", raw)
        return self.chats.apply(args.uri, args.line, args.insert)

    def code_lenses(self, uri: str) -> list[Lens]:
        """The jobs' lenses, and a chat document's (Reply, or Cancel while it replies)."""
        found = super().code_lenses(uri)
        return found + self.chats.lenses(uri)
