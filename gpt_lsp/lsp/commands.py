"""The command table: each `workspace/executeCommand` name and what the session does with it.

Argument models (pydantic) load with the first command, not before `initialize` is answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_lsp.session.session import Session

Result = dict[str, Any] | Awaitable[dict[str, Any]]


@dataclass(frozen=True)
class Command:
    """One command: its name and its handler (session, raw argument, request id) -> result."""

    name: str
    call: Callable[[Session, Any, Any], Result]


def _run(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import RunArgs, parse_args

    return session.run(parse_args(RunArgs, "gptLsp.run", raw), request_id)


def _chat(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import ChatArgs, parse_args

    return session.chat(parse_args(ChatArgs, "gptLsp.chat", raw), request_id)


def _accept(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import JobTarget, parse_args

    return session.controls.accept(parse_args(JobTarget, "gptLsp.accept", raw))


def _reject(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import JobTarget, parse_args

    return session.controls.reject(parse_args(JobTarget, "gptLsp.reject", raw))


def _cancel(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import CancelArgs, parse_args

    args = parse_args(CancelArgs, "gptLsp.cancel", raw)
    stopped = session.chats.stop(args)  # a chat's reply stops with the same command
    result = session.controls.cancel(args)
    return {**result, "ok": bool(result["ok"]) or stopped}


def _select_model(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import SelectModelArgs, parse_args

    return session.select_model(parse_args(SelectModelArgs, "gptLsp.selectModel", raw))


def _status(session: Session, raw: Any, request_id: Any) -> Result:
    return session.status()


def _chat_open(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import ChatOpenArgs, parse_args

    return session.chats.open(parse_args(ChatOpenArgs, "gptLsp.chatOpen", raw))


def _chat_reply(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import ChatReplyArgs, parse_args

    return session.chats.reply(parse_args(ChatReplyArgs, "gptLsp.chatReply", raw))


def _chat_cancel(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import ChatCancelArgs, parse_args

    return session.chats.cancel(parse_args(ChatCancelArgs, "gptLsp.chatCancel", raw))


def _chat_list(session: Session, raw: Any, request_id: Any) -> Result:
    return session.chats.recent()


def _chat_apply(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import ChatApplyArgs, parse_args

    return session.chats.apply(parse_args(ChatApplyArgs, "gptLsp.chatApply", raw))


COMMANDS: tuple[Command, ...] = (
    Command("gptLsp.run", _run),
    Command("gptLsp.chat", _chat),
    Command("gptLsp.accept", _accept),
    Command("gptLsp.reject", _reject),
    Command("gptLsp.cancel", _cancel),
    Command("gptLsp.status", _status),
    Command("gptLsp.selectModel", _select_model),
    Command("gptLsp.chatOpen", _chat_open),
    Command("gptLsp.chatReply", _chat_reply),
    Command("gptLsp.chatCancel", _chat_cancel),
    Command("gptLsp.chatList", _chat_list),
    Command("gptLsp.chatApply", _chat_apply),
)
