"""One completion put to a relay: the hole as a prompt in its request shape (the chat prompt
today), its answer read until the suggestion is settled, its usage counted and written to
the ledger. Building and reading the request are the shared way of asking (gpt_lsp/asking/).

The shape is the only part that knows how the relay is asked: the chat prompt here, a
fill-in-the-middle endpoint later. Reading, stopping, cancelling and billing are the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.asking.target import Chat, Params, Shape, Target, build, target
from gpt_lsp.completion.clean import clean, settled
from gpt_lsp.completion.context import CompletionContext, Mode, choose_mode
from gpt_lsp.completion.prompt import build_messages
from gpt_lsp.errors import GptLspError

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.completion.counts import Counts
    from gpt_lsp.prompting.secrets import SecretMask
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


class Host(Protocol):
    """What asking uses of the session."""

    @property
    def relays(self) -> RelayPool: ...

    spending: Spending


class Prompter(Protocol):
    """How a completion is put to a relay: its hole as a prompt in one request shape."""

    def prompt(self, hole: Hole) -> Shape:
        """Returns the prompt asking for the hole's text."""
        ...


class ChatPrompter:
    """The hole described to a chat model (every relay serves it)."""

    def prompt(self, hole: Hole) -> Shape:
        """Returns chat messages asking for the hole's text."""
        return Chat(build_messages(hole.ctx, hole.prefix, hole.suffix, hole.mode))


class _Settle(Sink):
    """Takes a completion's text until more could no longer change the suggestion."""

    def __init__(self, ctx: CompletionContext, mode: Mode, mask: SecretMask) -> None:
        self.ctx = ctx
        self.mode = mode
        self.mask = mask
        self.parts: list[str] = []

    def take(self, text: str) -> bool:
        """True when the suggestion is settled, or the answer longer than any suggestion
        (the rest would be cut anyway: stop reading, and being billed)."""
        self.parts.append(text)
        answer = self.answer()
        return len(answer) > MAX_ANSWER_CHARS or settled(answer, self.ctx, self.mode)

    def answer(self) -> str:
        """Returns the text so far, secrets put back."""
        text = "".join(self.parts)
        return self.mask.unmask(text) if self.mask.count else text


@dataclass
class Asked:
    """One request: where it went, what it sent, its reading (recorded once closed)."""

    target: Target
    sent: tuple[str, ...]
    reading: Reading
    status: str = "cancelled"


class Asker:
    """Asks relays for completions; closes their streams and records their usage beside
    the answer (neither is on the suggestion's path, and a repeated cancel cannot cut them)."""

    def __init__(self, host: Host, counts: Counts, prompter: Prompter | None = None) -> None:
        self.host = host
        self.counts = counts
        self.prompter: Prompter = prompter or ChatPrompter()
        self._finishing: set[asyncio.Task[None]] = set()

    async def ask(self, ctx: CompletionContext, settings: Settings) -> str:
        """Returns the cleaned suggestion at the context's cursor ("" for nothing)."""
        from gpt_lsp.prompting.secrets import SecretMask

        config = settings.completion
        where = target(self.host.relays, settings, config.relay, config.model)
        mode = choose_mode(ctx, config.multiline)
        mask = SecretMask()
        prefix, suffix = ctx.prefix, ctx.suffix
        if settings.mask_secrets:
            prefix, suffix = mask.mask(prefix), mask.mask(suffix)
        shape = self.prompter.prompt(Hole(ctx, prefix, suffix, mode))
        request = build(where, shape, Params(max_tokens=config.max_tokens), label=ACTION)
        reading = Reading(where.client, request, label=ACTION)
        asked = Asked(where, shape.sent(), reading)
        sink = _Settle(ctx, mode, mask)
        self.counts.requests += 1
        try:
            await reading.read(sink)
            asked.status = "done"
        except GptLspError:
            asked.status = "failed"
            raise
        finally:
            if asked.status == "cancelled":
                self.counts.cancelled += 1
            self._finish(asked)
        return clean(sink.answer(), ctx, mode)

    def _finish(self, asked: Asked) -> None:
        """Closes the stream and records what it cost, apart from the asking task."""

        async def finish() -> None:
            try:
                await asked.reading.aclose()
            finally:
                if asked.reading.opened or asked.reading.usage is not None:
                    self._record(asked)

        task = asyncio.ensure_future(finish())
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    def _record(self, asked: Asked) -> None:
        usage, estimated = asked.reading.billed(asked.sent)
        where = asked.target
        counts = self.counts
        counts.prompt_tokens += usage.prompt_tokens
        counts.completion_tokens += usage.completion_tokens
        if where.price is not None:
            counts.cost_usd += where.price.cost_usd(usage.prompt_tokens, usage.completion_tokens)
        self.host.spending.record_usage(
            relay=where.relay,
            model=where.model,
            action=ACTION,
            usage=usage,
            estimated=estimated,
            price=where.price,
            status=asked.status,
        )

    async def close(self) -> None:
        """Waits (bounded) for the streams still closing and their usage records."""
        if self._finishing:
            await asyncio.wait(set(self._finishing), timeout=2.0)
