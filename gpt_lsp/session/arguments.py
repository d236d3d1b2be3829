"""The commands' arguments, validated: what a client may ask of the session."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gpt_lsp.errors import RequestRefused
from gpt_lsp.text.regions import Pos, Span


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PositionArg(_Args):
    """An LSP position."""

    line: int = Field(ge=0)
    character: int = Field(ge=0)

    def pos(self) -> Pos:
        """Returns the position as a Pos."""
        return Pos(self.line, self.character)


class RangeArg(_Args):
    """An LSP range."""

    start: PositionArg
    end: PositionArg

    def span(self) -> Span:
        """Returns the range as a Span, start before end."""
        a, b = self.start.pos(), self.end.pos()
        return Span(min(a, b), max(a, b))


class RunArgs(_Args):
    """`gptLsp.run` argument."""

    action: str = Field(min_length=1)
    uri: str = Field(min_length=1)
    range: RangeArg
    instruction: str | None = None
    diagnostics: list[Any] | None = None
    marker: bool = False


class ChatArgs(_Args):
    """`gptLsp.chat` argument: `{uri, range, instruction}` starts a job; `{jobId, instruction}`
    or `{uri, position, instruction}` (no range) is a follow-up turn of a job."""

    job_id: str | None = Field(default=None, alias="jobId", min_length=1)
    uri: str | None = Field(default=None, min_length=1)
    range: RangeArg | None = None
    position: PositionArg | None = None
    instruction: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> ChatArgs:
        if self.job_id is None and self.uri is None:
            raise ValueError("give uri and range, or jobId, or uri and position")
        if self.job_id is None and self.range is None and self.position is None:
            raise ValueError("give a range (a new job) or a position (a follow-up turn)")
        return self

    @property
    def follow_up(self) -> bool:
        """True when the argument names a job to refine rather than a range to rewrite."""
        return self.job_id is not None or self.range is None

    def target(self) -> JobTarget:
        """Returns the job a follow-up means."""
        return JobTarget(jobId=self.job_id, uri=self.uri, position=self.position)


class JobTarget(_Args):
    """Which job a command means: `{jobId}`, or `{uri, position}` (the job whose region holds
    the position, else the document's most recent job)."""

    job_id: str | None = Field(default=None, alias="jobId", min_length=1)
    uri: str | None = Field(default=None, min_length=1)
    position: PositionArg | None = None

    @model_validator(mode="after")
    def _one_form(self) -> JobTarget:
        if self.job_id is None and self.uri is None:
            raise ValueError("give jobId, or uri and position")
        return self


class CancelArgs(_Args):
    """`gptLsp.cancel` argument: a job target, or nothing for every job."""

    job_id: str | None = Field(default=None, alias="jobId", min_length=1)
    uri: str | None = Field(default=None, min_length=1)
    position: PositionArg | None = None

    @property
    def every_job(self) -> bool:
        """True for `{}` (or no argument): cancel every job."""
        return self.job_id is None and self.uri is None

    def target(self) -> JobTarget:
        """Returns the job target this argument names."""
        return JobTarget(jobId=self.job_id, uri=self.uri, position=self.position)


class SelectModelArgs(_Args):
    """`gptLsp.selectModel` argument: without `model`, list the relay's models."""

    relay: str | None = Field(default=None, min_length=1)
    model: str | None = Field(default=None, min_length=1)
    refresh: bool = False
    persist: bool = False


class ChatOpenArgs(_Args):
    """`gptLsp.chatOpen` argument: all optional (a selection, a cursor, a first question)."""

    uri: str | None = Field(default=None, min_length=1)
    range: RangeArg | None = None
    position: PositionArg | None = None
    instruction: str | None = None
    diagnostics: list[Any] | None = None

    def span(self) -> Span | None:
        """The selection, or the cursor as an empty span; None without either."""
        if self.range is not None:
            return self.range.span()
        return None if self.position is None else Span(self.position.pos(), self.position.pos())


class ChatReplyArgs(_Args):
    """`gptLsp.chatReply` argument: the chat document."""

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


def parse_args(model: type[_Args], command: str, raw: Any) -> Any:
    """Validates a command argument; raises RequestRefused with a readable reason."""
    if raw is None and model in (CancelArgs, SelectModelArgs, ChatOpenArgs, ChatCancelArgs):
        return model()
    if not isinstance(raw, dict):
        raise RequestRefused(f"{command}: expected one object argument, got {_kind(raw)}.")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "argument"
        problem = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RequestRefused(f"{command}: {where}: {problem}{more}.") from None


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
