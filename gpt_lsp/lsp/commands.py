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

    return session.controls.cancel(parse_args(CancelArgs, "gptLsp.cancel", raw))


def _select_model(session: Session, raw: Any, request_id: Any) -> Result:
    from gpt_lsp.session.arguments import SelectModelArgs, parse_args

    return session.select_model(parse_args(SelectModelArgs, "gptLsp.selectModel", raw))


def _status(session: Session, raw: Any, request_id: Any) -> Result:
    return session.status()


COMMANDS: tuple[Command, ...] = (
    Command("gptLsp.run", _run),
    Command("gptLsp.chat", _chat),
    Command("gptLsp.accept", _accept),
    Command("gptLsp.reject", _reject),
    Command("gptLsp.cancel", _cancel),
    Command("gptLsp.status", _status),
    Command("gptLsp.selectModel", _select_model),
)
