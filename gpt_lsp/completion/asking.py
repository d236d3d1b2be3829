"""One completion put to a relay: the hole as a prompt in its request shape, its answer read
until the suggestion is settled, its usage counted and written to the ledger. Building and
reading the request are the shared way of asking (gpt_lsp/asking/).

Two shapes: fill-in-the-middle (`/completions` with `prompt` and `suffix`) where the relay
serves it for the model, else the chat prompt. With `fim: "auto"` the first completion per
relay and model tries FIM and judges its answer (completion/fim.py); a relay that refuses it
gets the chat prompt within the same completion, one that dropped `suffix` gives its answer
cut where it runs into the text after the cursor. Either is remembered, and so is a relay
that serves FIM. Reading, stopping, cancelling and billing are the same for both shapes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.asking.target import Chat, Fim, Params, Shape, Target, build, target
from gpt_lsp.completion import fim
from gpt_lsp.completion.clean import clean, settled
from gpt_lsp.completion.context import CompletionContext, Mode, choose_mode
from gpt_lsp.completion.prompt import build_messages
from gpt_lsp.errors import GptLspError

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.completion.counts import Counts
    from gpt_lsp.context.block import ContextPack
    from gpt_lsp.prompting.secrets import SecretMask
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.relay.request import FimEndpoint, Request
    from gpt_lsp.settings import Settings

log = logging.getLogger(__name__)

ACTION = "completion"  # the ledger's action of completions
MAX_ANSWER_CHARS = 4000  # a completion's answer is read no further (maxTokens bounds it too)


@dataclass(frozen=True)
class Hole:
    """What a shape asks for: the text around the cursor (secrets masked), how much to fill."""

    ctx: CompletionContext
    prefix: str
    suffix: str
    mode: Mode
    mask: SecretMask
    context: ContextPack | None = None  # definitions from other files, masked when sent
    masking: bool = True  # settings.maskSecrets: the context's snippets are masked too


class Host(Protocol):
    """What asking uses of the session."""

    @property
    def relays(self) -> RelayPool: ...

    spending: Spending


def chat_prompt(hole: Hole) -> Chat:
    """Returns chat messages asking for the hole's text (every relay serves them)."""
    block = hole.context.render(_masker(hole)) if hole.context else ""
    return Chat(build_messages(hole.ctx, hole.prefix, hole.suffix, hole.mode, block))


def fim_prompt(hole: Hole, endpoint: FimEndpoint = "completions") -> Fim:
    """Returns the text before and after the hole, for a code model to fill; definitions from
    other files go first, as comments (as tabby-agent sends them)."""
    marker = comment_marker(hole.ctx.language)
    if not hole.context or marker is None:
        return Fim(hole.prefix, hole.suffix, endpoint)
    lead = hole.context.commented(marker, hole.ctx.eol, _masker(hole))
    return Fim(lead + hole.prefix, hole.suffix, endpoint)


def comment_marker(language: str) -> str | None:
    """The line comment of a language whose definitions are indexed; None for others."""
    from gpt_lsp.context.symbols import COMMENT, EXTENSIONS

    known = set(EXTENSIONS.values())
    return COMMENT.get(language, "//") if language in known else None


def _masker(hole: Hole) -> Callable[[str], str]:
    """The hole's mask, so that a snippet's secret is hidden and an answer quoting it unmasks."""
    return hole.mask.mask if hole.masking else str


class _Settle(Sink):
    """Takes a completion's text until more could no longer change the suggestion."""

    def __init__(self, hole: Hole) -> None:
        self.hole = hole
        self.parts: list[str] = []

    def take(self, text: str) -> bool:
        """True when the suggestion is settled, or the answer longer than any suggestion
        (the rest would be cut anyway: stop reading, and being billed)."""
        self.parts.append(text)
        answer = self.answer()
        return len(answer) > MAX_ANSWER_CHARS or settled(answer, self.hole.ctx, self.hole.mode)

    def answer(self) -> str:
        """Returns the text so far, secrets put back."""
        text = "".join(self.parts)
        mask = self.hole.mask
        return mask.unmask(text) if mask.count else text


class _Probe(_Settle):
    """Takes a first FIM answer to its end (maxTokens bounds it), or until it runs into the
    text after the cursor: only the whole answer tells whether the relay kept `suffix`."""

    def take(self, text: str) -> bool:
        """True when the answer repeats the text after the cursor, or is too long."""
        self.parts.append(text)
        answer = self.answer()
        repeats = fim.repeat_at(answer, self.hole.ctx.suffix) is not None
        return repeats or len(answer) > MAX_ANSWER_CHARS


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

    def __init__(self, host: Host, counts: Counts) -> None:
        self.host = host
        self.counts = counts
        self._finishing: set[asyncio.Task[None]] = set()
        self._unsure: Counter[tuple[str, str]] = Counter()  # inconclusive FIM probes

    async def ask(
        self, ctx: CompletionContext, settings: Settings, context: ContextPack | None = None
    ) -> str:
        """Returns the cleaned suggestion at the context's cursor ("" for nothing); `context`:
        definitions from other files, sent before the text."""
        from gpt_lsp.prompting.secrets import SecretMask

        config = settings.completion
        where = target(self.host.relays, settings, config.relay, config.model)
        mask = SecretMask()
        prefix, suffix = ctx.prefix, ctx.suffix
        if settings.mask_secrets:
            prefix, suffix = mask.mask(prefix), mask.mask(suffix)
        mode = choose_mode(ctx, config.multiline)
        hole = Hole(ctx, prefix, suffix, mode, mask, context, settings.mask_secrets)
        params = Params(max_tokens=config.max_tokens)
        setting = settings.completion_fim(where.relay)
        way = fim.path(setting, where.client.fim_served(where.model))
        if way != "chat":
            try:
                shape = fim_prompt(hole, fim.endpoint(setting))
                return await self._fim(where, hole, shape, params, probe=way == "probe")
            except GptLspError as error:
                if way == "forced" or not fim.refused(error):
                    raise
                # No FIM here: said once (remembered), and this completion goes on by chat.
                where.client.learn_fim(where.model, False)
                log.info(
                    "relay %s has no fill-in-the-middle for %s (%s): using the chat prompt",
                    where.relay,
                    where.model,
                    type(error).__name__,
                )
        sink = _Settle(hole)
        await self._read(where, chat_prompt(hole), params, sink)
        return clean(sink.answer(), ctx, hole.mode)

    async def _fim(
        self, where: Target, hole: Hole, shape: Fim, params: Params, *, probe: bool
    ) -> str:
        """Asks by FIM; a probe reads the whole answer and learns from it."""
        ctx = hole.ctx
        sink = _Probe(hole) if probe else _Settle(hole)
        reading = await self._read(where, shape, params, sink)
        answer = sink.answer()
        if not probe:
            return clean(answer, ctx, hole.mode)
        judged = fim.verdict(answer, ctx.suffix, reading.finish_reason)
        key = (where.relay, where.model)
        if judged == "unknown" and fim.anchor(ctx.suffix) is not None:
            # Took `suffix` and never ran into the text after the cursor, yet never ended by
            # itself either: after a few such answers, taken as served.
            self._unsure[key] += 1
            judged = "kept" if self._unsure[key] >= fim.UNKNOWN_PROBES else "unknown"
        if judged == "ignored":
            where.client.learn_fim(where.model, False)
            log.info("relay %s drops `suffix` for %s: using the chat prompt", *key)
            answer = answer[: fim.repeat_at(answer, ctx.suffix)]  # the part before the echo
        elif judged == "kept":
            where.client.learn_fim(where.model, True)
        return clean(answer, ctx, hole.mode)

    async def _read(
        self, where: Target, shape: Shape[Request], params: Params, sink: Sink
    ) -> Reading:
        """Sends one request and reads its answer into the sink; returns the reading."""
        request = build(where, shape, params, label=ACTION)
        reading = Reading(where.client, request, label=ACTION)
        asked = Asked(where, shape.sent(), reading)
        self.counts.requests += 1
        if isinstance(shape, Fim):
            self.counts.fim += 1
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
        return reading

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
