"""The chat commands of a session (gptLsp.chatOpen, chatReply, chatCancel, chatList,
chatApply), their arguments checked by lsp/commands.py: the chat service (a part, built on
first use) does them; its code actions and lenses."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from gpt_lsp.session.setup import Parts

if TYPE_CHECKING:
    from gpt_lsp.jobs.review import Lens
    from gpt_lsp.prompting.offers import Offer
    from gpt_lsp.session.arguments import (
        CancelArgs,
        ChatApplyArgs,
        ChatCancelArgs,
        ChatOpenArgs,
        ChatReplyArgs,
    )
    from gpt_lsp.text.documents import TextDoc
    from gpt_lsp.text.regions import Span


class ChatCommands:
    """What a session does with chat documents: the commands' arguments checked, then the
    chat service (a part built on first use) does it."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def open(self, args: ChatOpenArgs) -> dict[str, Any]:
        """gptLsp.chatOpen: a new chat (the selection in it), shown; with a question, replied."""
        return self.parts.chat.open(args.uri, args.span(), args.instruction, args.diagnostics)

    def reply(self, args: ChatReplyArgs) -> dict[str, Any]:
        """gptLsp.chatReply: the conversation sent, the answer streamed into it."""
        return self.parts.chat.reply(args.uri, args.diagnostics)

    def cancel(self, args: ChatCancelArgs) -> dict[str, Any]:
        """gptLsp.chatCancel: a chat's reply stopped (every chat's without a uri)."""
        chat = self.parts.built().chat
        return chat.cancel(args.uri) if chat is not None else {"ok": False}

    def stop(self, args: CancelArgs) -> bool:
        """gptLsp.cancel stops replies too: `{}` every chat's, a chat document's position its
        own (the shims' one cancel key works in a chat); True when one stopped."""
        chat = self.parts.built().chat
        if chat is None or args.job_id is not None:
            return False
        return bool(chat.cancel(args.uri)["ok"])

    def recent(self) -> dict[str, Any]:
        """gptLsp.chatList: this workspace's chats, newest first."""
        return self.parts.chat.recent()

    def apply(self, args: ChatApplyArgs) -> Awaitable[dict[str, Any]]:
        """gptLsp.chatApply: an answer's code block as a pending job in its source."""
        return self.parts.chat.apply(args.uri, args.line, args.insert)

    def code_actions(
        self, doc: TextDoc, span: Span, diagnostics: Sequence[Any]
    ) -> list[Offer] | None:
        """A chat document's actions (Reply, Cancel, Apply, Insert); None for any other
        document, whose cursor and diagnostics the chats keep (Insert at cursor, #diagnostics)."""
        return self.parts.chat.code_actions(doc, span, diagnostics)

    def code_lenses(self, uri: str) -> list[Lens]:
        """A chat document's lenses (Reply, or Cancel while it replies)."""
        chat = self.parts.built().chat
        return chat.lenses(uri) if chat is not None else []
