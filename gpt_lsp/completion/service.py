"""The completion service: from a request at the cursor to a suggestion, at a bounded cost.

Per document only the newest request goes on: a newer one cancels the older at once (its
relay stream is closed), and a request waits out the debounce before it asks the relay, so a
burst of keystrokes makes one relay request. Answers already shown come from the cache.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gpt_lsp.completion.cache import SuggestionCache
from gpt_lsp.completion.clean import clean, settled
from gpt_lsp.completion.context import CompletionContext, choose_mode, cut_context
from gpt_lsp.completion.policy import Latest, Throttle
from gpt_lsp.completion.prompt import build_messages
from gpt_lsp.errors import GptLspError, RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.logs import content_logger
from gpt_lsp.relay.events import ReasoningDelta, TextDelta, ToolCallDelta, Usage
from gpt_lsp.relay.request import Attempt, ChatRequest
from gpt_lsp.text.regions import Pos

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.port import ClientFeatures, ClientPort
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import CompletionSettings, Settings
    from gpt_lsp.text.documents import DocumentStore

log = logging.getLogger(__name__)

ACTION = "completion"  # the ledger's action of completions
RECANCEL_AFTER = (0.05, 0.5)  # seconds
MAX_ANSWER_CHARS = 4000  # a completion's answer is read no further (maxTokens bounds it too)


class Host(Protocol):
    """What the service uses of the session."""

    @property
    def settings(self) -> Settings: ...
    @property
    def relays(self) -> RelayPool: ...

    documents: DocumentStore
    spending: Spending
    port: ClientPort
    client: ClientFeatures


@dataclass(frozen=True)
class Suggestion:
    """Text to show at a position (in the client's encoding)."""

    text: str
    line: int
    character: int
    prefix: str = ""  # the cursor line's text before the position, for filtering


@dataclass
class Counts:
    """What completion did in this session (gptLsp.status)."""

    requests: int = 0  # relay requests
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0
    debounced: int = 0  # requests that gave way to a newer one before asking the relay
    cancelled: int = 0  # relay requests closed before their end
    dropped: int = 0  # answers that came after the user moved on
    errors: int = 0
    shown: int = 0

    def as_json(self) -> dict[str, Any]:
        """Returns the counts for gptLsp.status."""
        return {
            "requests": self.requests,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "costUsd": round(self.cost_usd, 6),
            "cacheHits": self.cache_hits,
            "debounced": self.debounced,
            "cancelled": self.cancelled,
            "dropped": self.dropped,
            "errors": self.errors,
            "shown": self.shown,
        }


class CompletionService:
    """Inline completion for one session."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.cache = SuggestionCache()
        self.counts = Counts()
        self._latest = Latest()
        self._running: dict[str, asyncio.Task[Suggestion | None]] = {}
        self._streaming: set[asyncio.Task[Any]] = set()  # requests past the debounce
        self._finishing: set[asyncio.Task[None]] = set()  # streams closing, usage recording
        self._errors = Throttle(60.0)
        self._budget_said = False

    def enabled(self) -> bool:
        """True when the user turned completion on."""
        return self.host.settings.completion.enabled

    async def complete(self, uri: str, pos: Pos, *, invoked: bool = False) -> Suggestion | None:
        """Returns the suggestion at a position, or None (nothing to show)."""
        try:
            return await self._complete(uri, pos, invoked)
        except GptLspError as error:  # a settings problem: said once a minute, like relay errors
            self._error(error)
        except Exception:  # the one boundary: a suggestion is never worth a crash or a traceback
            log.exception("inline completion failed unexpectedly")
        return None

    async def _complete(self, uri: str, pos: Pos, invoked: bool) -> Suggestion | None:
        settings = self.host.settings
        config = settings.completion
        doc = self.host.documents.get(uri)
        if not config.enabled or doc is None or self._excluded(uri, doc.language_id, settings):
            return None
        encoding = self.host.client.encoding
        ctx = cut_context(doc, pos, encoding, config.prefix_chars, config.suffix_chars)
        self._supersede(uri)
        ticket = self._latest.take(uri)
        cached = self.cache.get(uri, ctx.prefix, ctx.suffix)
        if cached is not None:
            self.counts.cache_hits += 1
            self._latest.release(ticket)
            return self._suggest(ctx, cached)
        delay = 0.0 if invoked else config.debounce_ms / 1000
        version = doc.version  # the document object changes in place
        task = asyncio.ensure_future(self._fetch(ctx, delay))
        self._running[uri] = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            _cancel(task)  # $/cancelRequest: the relay stream closes with it
            raise
        finally:
            if self._running.get(uri) is task:
                del self._running[uri]
            newest = self._latest.current(ticket)
            self._latest.release(ticket)
        if task.cancelled() or (found := task.result()) is None:
            return None
        current = self.host.documents.get(uri)
        if not newest or current is None or current.version != version:
            self.counts.dropped += 1  # the user moved on: the cache keeps it for coming back
            return None
        return self._suggest(ctx, found.text)

    def _error(self, error: GptLspError) -> None:
        self.counts.errors += 1
        if self._errors.allow(type(error).__name__):
            self.host.port.show_message(
                "error", _("AI completion: {message}").format(message=error.user_message())
            )

    def _supersede(self, uri: str) -> None:
        """Cancels the document's older request at once: its relay stream closes now."""
        older = self._running.pop(uri, None)
        if older is not None and not older.done():
            if older not in self._streaming:
                self.counts.debounced += 1  # it never reached the relay
            _cancel(older)

    def _suggest(self, ctx: CompletionContext, text: str) -> Suggestion | None:
        if not text:
            return None
        self.counts.shown += 1
        return Suggestion(text, ctx.line, ctx.character, ctx.line_before)

    def _excluded(self, uri: str, language: str, settings: Settings) -> bool:
        from gpt_lsp.prompting.slicing import excluded_by

        config = settings.completion
        if language and language in config.exclude_languages:
            return True
        return excluded_by(uri, [*settings.exclude_globs, *config.exclude]) is not None

    async def _fetch(self, ctx: CompletionContext, delay: float) -> Suggestion | None:
        if delay:
            await asyncio.sleep(delay)
        settings = self.host.settings
        config = settings.completion
        try:
            self.host.spending.check(settings.budget)
        except RequestRefused as refusal:
            if not self._budget_said:  # said once; then completion stays quiet
                self._budget_said = True
                self.host.port.show_message(
                    "warning", _("AI completion: {message}").format(message=refusal.user_message())
                )
            return None
        self._budget_said = False
        task = asyncio.current_task()
        assert task is not None
        self._streaming.add(task)
        try:
            text = await self._ask(ctx, settings, config)
        except GptLspError as error:
            self._error(error)
            return None
        finally:
            self._streaming.discard(task)
        self.cache.put(ctx.uri, ctx.prefix, ctx.suffix, text)
        return Suggestion(text, ctx.line, ctx.character)

    async def _ask(
        self, ctx: CompletionContext, settings: Settings, config: CompletionSettings
    ) -> str:
        from gpt_lsp.accounting.usage import local_token_count
        from gpt_lsp.prompting.secrets import SecretMask

        relays = self.host.relays
        name = relays.resolve_name(config.relay)
        client = relays.get(name)
        model = config.model or settings.chosen_model(name) or client.default_model
        mode = choose_mode(ctx, config.multiline)
        mask = SecretMask()
        prefix, suffix = ctx.prefix, ctx.suffix
        if settings.mask_secrets:
            prefix, suffix = mask.mask(prefix), mask.mask(suffix)
        messages = build_messages(ctx, prefix, suffix, mode)
        logged = content_logger().isEnabledFor(logging.DEBUG)
        if logged:
            content_logger().debug("completion prompt: %r", messages)
        request = ChatRequest(messages=messages, model=model, max_tokens=config.max_tokens)
        parts: list[str] = []
        usage: Usage | None = None
        estimate = 0
        opened = False
        status = "cancelled"
        stream = client.stream_batches(request, Attempt())
        self.counts.requests += 1
        try:
            async for batch in stream:
                opened = True
                for event in batch:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        estimate += local_token_count(event.text)
                    elif isinstance(event, (ReasoningDelta, ToolCallDelta)):
                        piece = event.text if isinstance(event, ReasoningDelta) else event.arguments
                        estimate += local_token_count(piece)
                    elif isinstance(event, Usage):
                        usage = event
                answer = mask.unmask("".join(parts)) if mask.count else "".join(parts)
                if len(answer) > MAX_ANSWER_CHARS or settled(answer, ctx, mode):
                    break  # the rest would be cut anyway: stop reading (and being billed)
            status = "done"
        except GptLspError:
            status = "failed"
            raise
        finally:
            # Closed apart from this task: a repeated cancel (see _cancel) must not cut it.
            if status == "cancelled":
                self.counts.cancelled += 1
            # The stream closes and the ledger is written beside this task, after the answer
            # left: neither is on the suggestion's path, and a repeated cancel cannot cut them.
            record = (name, model, settings, request, usage, estimate, status)
            self._background(stream, record if opened or usage is not None else None)
        answer = mask.unmask("".join(parts)) if mask.count else "".join(parts)
        if logged:
            content_logger().debug("completion answer: %r", answer)
        return clean(answer, ctx, mode)

    def _background(self, stream: Any, record: tuple[Any, ...] | None) -> None:
        async def finish() -> None:
            try:
                await stream.aclose()
            finally:
                if record is not None:
                    self._record(*record)

        task = asyncio.ensure_future(finish())
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    def _record(
        self,
        relay: str,
        model: str,
        settings: Settings,
        request: ChatRequest,
        usage: Usage | None,
        estimate: int,
        status: str,
    ) -> None:
        from gpt_lsp.accounting.usage import local_token_count

        estimated = usage is None
        if usage is None:
            prompt = sum(local_token_count(m["content"]) for m in request.messages)
            usage = Usage(prompt, estimate)
        price = settings.relays[relay].price_for(model)
        counts = self.counts
        counts.prompt_tokens += usage.prompt_tokens
        counts.completion_tokens += usage.completion_tokens
        if price is not None:
            counts.cost_usd += price.cost_usd(usage.prompt_tokens, usage.completion_tokens)
        self.host.spending.record_usage(
            relay=relay,
            model=model,
            action=ACTION,
            usage=usage,
            estimated=estimated,
            price=price,
            status=status,
        )

    def forget(self, uri: str) -> None:
        """A document closed: its request stops, its suggestions go."""
        task = self._running.pop(uri, None)
        if task is not None:
            _cancel(task)
        self.cache.forget(uri)

    def status(self) -> dict[str, Any]:
        """Returns the counts for gptLsp.status."""
        return {"enabled": self.enabled(), **self.counts.as_json()}

    async def close(self) -> None:
        """Cancels every request (closing their streams)."""
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        self._running.clear()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self._finishing:
            await asyncio.wait(set(self._finishing), timeout=2.0)


def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancels a request's task, and again a little later: on Python 3.11 asyncio.wait_for
    swallows a cancellation that arrives as the awaited call completes (opening the stream)."""
    task.cancel()
    loop = asyncio.get_running_loop()
    for delay in RECANCEL_AFTER:
        loop.call_later(delay, lambda: None if task.done() else task.cancel())
