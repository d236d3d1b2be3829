"""One completion put to a relay: the request in its shape (the chat prompt today), the
stream read until the suggestion is settled, its usage counted and written to the ledger.

The shape is the only part that knows how the relay is asked: the chat prompt here, a
fill-in-the-middle endpoint later. Reading, stopping, cancelling and billing are the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gpt_lsp.completion.clean import clean, settled
from gpt_lsp.completion.context import CompletionContext, Mode, choose_mode
from gpt_lsp.completion.prompt import build_messages
from gpt_lsp.errors import GptLspError
from gpt_lsp.logs import content_logger
from gpt_lsp.relay.events import ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, Usage
from gpt_lsp.relay.request import Attempt, ChatRequest

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.completion.counts import Counts
    from gpt_lsp.relay.client import RelayClient
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings

ACTION = "completion"  # the ledger's action of completions
MAX_ANSWER_CHARS = 4000  # a completion's answer is read no further (maxTokens bounds it too)


@dataclass(frozen=True)
class Hole:
    """What a shape asks for: the text around the cursor (secrets masked), how much to fill."""

    ctx: CompletionContext
    prefix: str
    suffix: str
    mode: Mode
    model: str
    max_tokens: int


@dataclass(frozen=True)
class Opened:
    """A request on its way: its events, and the text sent (for the token estimate)."""

    stream: AsyncGenerator[list[StreamEvent], None]
    sent: tuple[str, ...]


class Host(Protocol):
    """What asking uses of the session."""

    @property
    def relays(self) -> RelayPool: ...

    spending: Spending


class Shape(Protocol):
    """How a completion is put to a relay."""

    def open(self, client: RelayClient, hole: Hole) -> Opened:
        """Starts the request (nothing is sent before the stream is read)."""
        ...


class ChatShape:
    """The hole described to a chat model (every relay serves it)."""

    def open(self, client: RelayClient, hole: Hole) -> Opened:
        """Starts a chat request asking for the hole's text."""
        messages = build_messages(hole.ctx, hole.prefix, hole.suffix, hole.mode)
        if content_logger().isEnabledFor(logging.DEBUG):
            content_logger().debug("completion prompt: %r", messages)
        request = ChatRequest(messages=messages, model=hole.model, max_tokens=hole.max_tokens)
        sent = tuple(m["content"] for m in messages)
        return Opened(client.stream_batches(request, Attempt()), sent)


@dataclass
class Asked:
    """What one request cost so far (recorded when its stream has closed)."""

    relay: str
    model: str
    sent: tuple[str, ...]
    usage: Usage | None = None
    estimate: int = 0  # tokens counted locally from what streamed
    opened: bool = False
    status: str = "cancelled"


class Asker:
    """Asks relays for completions; closes their streams and records their usage beside
    the answer (neither is on the suggestion's path, and a repeated cancel cannot cut them)."""

    def __init__(self, host: Host, counts: Counts, shape: Shape | None = None) -> None:
        self.host = host
        self.counts = counts
        self.shape: Shape = shape or ChatShape()
        self._finishing: set[asyncio.Task[None]] = set()

    async def ask(self, ctx: CompletionContext, settings: Settings) -> str:
        """Returns the cleaned suggestion at the context's cursor ("" for nothing)."""
        from gpt_lsp.accounting.usage import local_token_count
        from gpt_lsp.prompting.secrets import SecretMask

        config = settings.completion
        relays = self.host.relays
        name = relays.resolve_name(config.relay)
        client = relays.get(name)
        model = config.model or settings.chosen_model(name) or client.default_model
        mode = choose_mode(ctx, config.multiline)
        mask = SecretMask()
        prefix, suffix = ctx.prefix, ctx.suffix
        if settings.mask_secrets:
            prefix, suffix = mask.mask(prefix), mask.mask(suffix)
        opened = self.shape.open(client, Hole(ctx, prefix, suffix, mode, model, config.max_tokens))
        asked = Asked(name, model, opened.sent)
        parts: list[str] = []
        self.counts.requests += 1
        try:
            async for batch in opened.stream:
                asked.opened = True
                for event in batch:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        asked.estimate += local_token_count(event.text)
                    elif isinstance(event, (ReasoningDelta, ToolCallDelta)):
                        piece = event.text if isinstance(event, ReasoningDelta) else event.arguments
                        asked.estimate += local_token_count(piece)
                    elif isinstance(event, Usage):
                        asked.usage = event
                answer = mask.unmask("".join(parts)) if mask.count else "".join(parts)
                if len(answer) > MAX_ANSWER_CHARS or settled(answer, ctx, mode):
                    break  # the rest would be cut anyway: stop reading (and being billed)
            asked.status = "done"
        except GptLspError:
            asked.status = "failed"
            raise
        finally:
            if asked.status == "cancelled":
                self.counts.cancelled += 1
            self._finish(opened.stream, asked, settings)
        answer = mask.unmask("".join(parts)) if mask.count else "".join(parts)
        if content_logger().isEnabledFor(logging.DEBUG):
            content_logger().debug("completion answer: %r", answer)
        return clean(answer, ctx, mode)

    def _finish(self, stream: Any, asked: Asked, settings: Settings) -> None:
        """Closes the stream and records what it cost, apart from the asking task."""

        async def finish() -> None:
            try:
                await stream.aclose()
            finally:
                if asked.opened or asked.usage is not None:
                    self._record(asked, settings)

        task = asyncio.ensure_future(finish())
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    def _record(self, asked: Asked, settings: Settings) -> None:
        from gpt_lsp.accounting.usage import local_token_count

        usage = asked.usage
        estimated = usage is None
        if usage is None:
            usage = Usage(sum(local_token_count(text) for text in asked.sent), asked.estimate)
        price = settings.relays[asked.relay].price_for(asked.model)
        counts = self.counts
        counts.prompt_tokens += usage.prompt_tokens
        counts.completion_tokens += usage.completion_tokens
        if price is not None:
            counts.cost_usd += price.cost_usd(usage.prompt_tokens, usage.completion_tokens)
        self.host.spending.record_usage(
            relay=asked.relay,
            model=asked.model,
            action=ACTION,
            usage=usage,
            estimated=estimated,
            price=price,
            status=asked.status,
        )

    async def close(self) -> None:
        """Waits (bounded) for the streams still closing and their usage records."""
        if self._finishing:
            await asyncio.wait(set(self._finishing), timeout=2.0)
