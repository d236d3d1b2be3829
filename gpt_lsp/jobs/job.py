"""A job and what it needs to run: the data the job manager and the session share."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from gpt_lsp.i18n import N_, _, ngettext
from gpt_lsp.jobs.channel import DocumentChannel
from gpt_lsp.jobs.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.jobs.region import JobRegion
from gpt_lsp.jobs.usage import format_cost
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.secrets import StreamUnmasker
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
    cancel_reason: Literal["cancel", "conflict", "shutdown", "closed"] | None = None
    progress_token: str | None = None
    request_id: Any = None
    collected: list[str] = field(default_factory=list)  # notes text while no document shows it
    attaching: asyncio.Task[None] | None = None  # opening the notes document, beside the stream
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    stream_complete: bool = False  # the answer was read to its end

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

    def usage_dict(self) -> dict[str, Any]:
        """Returns the usage for jobFinished."""
        usage = self.usage
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
        price = self.spec.price
        if price is not None:
            out["costUsd"] = round(price.cost_usd(usage.prompt_tokens, usage.completion_tokens), 6)
            out["quota"] = price.quota(usage.prompt_tokens, usage.completion_tokens)
        return out
