"""A job and its turns: the data the job's parts share (its state is jobs/lifecycle.py's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpt_lsp.accounting.usage import format_cost
from gpt_lsp.answer.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.i18n import N_, _, ngettext
from gpt_lsp.jobs.state import State, StopReason, TurnStatus
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import Usage
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import Price
from gpt_lsp.text.regions import Span

# How a job ended, in the words the user reads (the protocol's status stays English).
STATUS_TEXT = {
    "running": N_("running"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
    "failed": N_("failed"),
    "conflict": N_("conflict"),
}


def tokens_text(count: int, approx: bool = False) -> str:
    """Returns "123 tokens" in the UI language; "~123 tokens" for an estimate."""
    text = ngettext("{count} token", "{count} tokens", count).format(count=count)
    return f"~{text}" if approx else text


@dataclass
class JobSpec:
    """Everything needed to run a job, resolved by the server before it starts."""

    action: Action
    uri: str
    messages: list[dict[str, str]]
    request: ChatRequest
    client: RelayClient
    price: Price | None
    output: CodeOutputFilter | ProseOutputFilter
    max_answer_chars: int
    notes_uri: str | None = None  # explain: the notes document written instead of `uri`
    notices: list[str] = field(default_factory=list)
    unmasker: StreamUnmasker | None = None  # puts masked secrets back into the answer
    mask: SecretMask | None = None  # the secrets masked in the prompt (follow-ups mask the same)
    make_output: Callable[[], CodeOutputFilter | ProseOutputFilter] | None = None  # next turns'
    context: list[dict[str, object]] = field(default_factory=list)  # receipts: what was sent
    given: str | None = None  # the first turn's answer, known already (a chat's code applied)


@dataclass(eq=False)
class Turn:
    """One turn of a job: what it asked, what the relay answered, how it ended. A follow-up
    is a new Turn; the job keeps them all. `status`, `stop` and `message` are written by
    jobs/lifecycle.py only; the rest is what the stream read."""

    number: int
    spec: JobSpec
    request_id: Any = None  # the gptLsp.run / gptLsp.chat request that started it
    status: TurnStatus = "running"
    stop: StopReason | None = None
    message: str | None = None
    usage: Usage | None = None
    usage_estimated: bool = False
    finish_reason: str | None = None
    answer_chars: int = 0
    completion_estimate: int = 0
    stream_complete: bool = False  # the answer was read to its end
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    answer_notes: str | None = None  # the notes document holding an answer without code
    collected: list[str] = field(default_factory=list)  # notes text no document shows yet
    notes_written: list[str] = field(default_factory=list)  # a notes job's answer
    task: asyncio.Task[None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    progress_token: str | None = None
    last_report: float = 0.0  # when progress was last reported

    @property
    def running(self) -> bool:
        """True while the turn's task can still be stopped."""
        return self.status == "running" and self.task is not None and not self.task.done()


@dataclass(eq=False)
class Job:
    """One running or finished job: its region of a document, its turns, its state."""

    id: str
    region: JobRegion
    channel: DocumentChannel | None
    turns: list[Turn]
    state: State  # changed by jobs/lifecycle.py only
    attaching: asyncio.Task[None] | None = None  # opening the notes document, beside the stream

    @property
    def turn(self) -> Turn:
        """Returns the current (last) turn."""
        return self.turns[-1]

    @property
    def spec(self) -> JobSpec:
        """Returns the current turn's spec."""
        return self.turns[-1].spec

    @property
    def status(self) -> TurnStatus:
        """Returns how the current turn stands (the protocol's job status)."""
        return self.turns[-1].status

    @property
    def review(self) -> str:
        """Returns the protocol's review word: running, pending, ended or none."""
        return self.state.review

    @property
    def uri(self) -> str:
        """Returns the document the job edits."""
        return self.spec.notes_uri or self.spec.uri

    def attach(self, channel: DocumentChannel, at: Span) -> None:
        """Points a notes job's region at `at` in the notes document, tracked by its channel."""
        self.region.span = at
        self.channel = channel
        channel.add(self.region)

    def last_answer(self) -> str:
        """Returns what the last turn left: the region's text, or the notes it wrote."""
        if not self.state.reviewed:
            return "".join(self.turn.notes_written)
        if self.channel is None:
            return ""
        return self.channel.doc.text_in(self.region.span, self.channel.encoding)

    def cost_text(self) -> str:
        """Returns the current turn's cost for messages, or ""."""
        turn = self.turn
        if turn.usage is None:
            return ""
        return format_cost(turn.spec.price, turn.usage)

    @property
    def usage_estimated(self) -> bool:
        """True once any turn's usage was estimated."""
        return any(turn.usage_estimated for turn in self.turns)

    def end_message(self) -> str:
        """Returns how the current turn ended: status, tokens, time, cost."""
        turn = self.turn
        seconds = (turn.ended or time.monotonic()) - turn.started
        parts = [_(STATUS_TEXT.get(turn.status, turn.status))]
        if turn.usage is not None:
            parts.append(tokens_text(turn.usage.total_tokens, self.usage_estimated))
        parts.append(_("{seconds:.1f} s").format(seconds=seconds))
        cost = self.cost_text()
        if cost:
            parts.append(cost)
        return _(", ").join(parts)

    def job_usage(self) -> Usage | None:
        """Returns the usage of every turn so far, summed."""
        known = [turn.usage for turn in self.turns if turn.usage is not None]
        if len(known) < 2:
            return known[0] if known else None
        return Usage(
            sum(usage.prompt_tokens for usage in known),
            sum(usage.completion_tokens for usage in known),
        )

    def usage_dict(self) -> dict[str, Any]:
        """Returns the usage for jobFinished: every turn's, summed."""
        usage = self.job_usage()
        assert usage is not None
        turn = self.turn
        out: dict[str, Any] = {
            "promptTokens": usage.prompt_tokens,
            "completionTokens": usage.completion_tokens,
            "totalTokens": usage.total_tokens,
            "estimated": self.usage_estimated,
            "model": turn.spec.request.model,
            "relay": turn.spec.client.name,
            "seconds": round((turn.ended or time.monotonic()) - turn.started, 3),
        }
        if len(self.turns) > 1:
            out["turns"] = len(self.turns)
        price = turn.spec.price
        if price is not None:
            out["costUsd"] = round(price.cost_usd(usage.prompt_tokens, usage.completion_tokens), 6)
            out["quota"] = price.quota(usage.prompt_tokens, usage.completion_tokens)
        return out
