"""A job and what it needs to run: the data the job manager and the session share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from gpt_lsp.accounting.usage import format_cost
from gpt_lsp.answer.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.i18n import N_, _, ngettext
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import Usage
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import Price

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


@dataclass
class Job:
    """One running or finished job."""

    id: str
    spec: JobSpec
    region: JobRegion
    channel: DocumentChannel | None
    status: str = "running"  # running | done | cancelled | failed | conflict
    message: str | None = None
    usage: Usage | None = None
    usage_estimated: bool = False
    finish_reason: str | None = None
    answer_chars: int = 0
    completion_estimate: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    task: asyncio.Task[None] | None = None
    cancel_reason: Literal["cancel", "conflict", "shutdown", "closed", "refine"] | None = None
    progress_token: str | None = None
    request_id: Any = None
    collected: list[str] = field(default_factory=list)  # notes text while no document shows it
    notes_written: list[str] = field(default_factory=list)  # a notes job's answer this turn
    attaching: asyncio.Task[None] | None = None  # opening the notes document, beside the stream
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    stream_complete: bool = False  # the answer was read to its end
    last_report: float = 0.0  # when progress was last reported
    # Review of a code job: running, then pending (done, awaiting accept / reject / refine /
    # undo), then ended; "none" for jobs that write notes.
    review: Literal["none", "running", "pending", "ended"] = "none"
    outcome: str | None = None  # how the review ended: accepted, rejected, undone, edited, ...
    accept_when_done: bool = False  # accepted while running: never pending
    reject_wanted: bool = False  # a reject stopped the running turn: restore the original
    turn: int = 1
    history: list[dict[str, str]] = field(default_factory=list)  # the conversation so far
    earlier_usage: Usage | None = None  # the usage of the turns before this one
    answer_notes: str | None = None  # the notes document holding an answer without code

    @property
    def uri(self) -> str:
        """Returns the document the job edits."""
        return self.spec.notes_uri or self.spec.uri

    def cost_text(self) -> str:
        """Returns the cost for messages, or ""."""
        if self.usage is None:
            return ""
        return format_cost(self.spec.price, self.usage)

    def end_message(self) -> str:
        """Returns how the job ended: status, tokens, time, cost."""
        seconds = (self.ended or time.monotonic()) - self.started
        parts = [_(STATUS_TEXT.get(self.status, self.status))]
        if self.usage is not None:
            parts.append(tokens_text(self.usage.total_tokens, self.usage_estimated))
        parts.append(_("{seconds:.1f} s").format(seconds=seconds))
        cost = self.cost_text()
        if cost:
            parts.append(cost)
        return _(", ").join(parts)

    def job_usage(self) -> Usage | None:
        """Returns the usage of every turn so far, summed."""
        if self.earlier_usage is None or self.usage is None:
            return self.usage or self.earlier_usage
        return Usage(
            self.earlier_usage.prompt_tokens + self.usage.prompt_tokens,
            self.earlier_usage.completion_tokens + self.usage.completion_tokens,
        )

    def usage_dict(self) -> dict[str, Any]:
        """Returns the usage for jobFinished: every turn's, summed."""
        usage = self.job_usage()
        assert usage is not None
        out: dict[str, Any] = {
            "promptTokens": usage.prompt_tokens,
            "completionTokens": usage.completion_tokens,
            "totalTokens": usage.total_tokens,
            "estimated": self.usage_estimated,
            "model": self.spec.request.model,
            "relay": self.spec.client.name,
            "seconds": round((self.ended or time.monotonic()) - self.started, 3),
        }
        if self.turn > 1:
            out["turns"] = self.turn
        price = self.spec.price
        if price is not None:
            out["costUsd"] = round(price.cost_usd(usage.prompt_tokens, usage.completion_tokens), 6)
            out["quota"] = price.quota(usage.prompt_tokens, usage.completion_tokens)
        return out
