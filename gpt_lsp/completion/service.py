"""The completion service: from a request at the cursor to a suggestion, at a bounded cost.

No request the user never sees: a request waits until its document has stopped changing
(whatever the editor says triggered it), the document's next change cancels it (its relay
stream closes at once), and per document only the newest request goes on. Answers already
shown, typed through or come back to, come from the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gpt_lsp.completion.asking import Asker
from gpt_lsp.completion.cache import SuggestionCache
from gpt_lsp.completion.context import CompletionContext, cut_context
from gpt_lsp.completion.counts import Counts
from gpt_lsp.completion.policy import Latest, Rhythm, Throttle
from gpt_lsp.errors import GptLspError, RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.text.regions import Pos

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.context.block import ContextPack
    from gpt_lsp.port import ClientFeatures, ClientPort
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.settings import Settings
    from gpt_lsp.text.documents import DocumentStore, TextDoc

log = logging.getLogger(__name__)

RECANCEL_AFTER = (0.05, 0.5)  # seconds
# Definitions from other files for a completion: (document, cursor line, the lines the prompt
# holds, token budget) -> the pack (ContextService.for_completion).
Gather = Callable[["TextDoc", int, tuple[int, int], int], "ContextPack"]


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


class CompletionService:
    """Inline completion for one session."""

    def __init__(self, host: Host, context: Gather | None = None) -> None:
        self.host = host
        self.context = context
        self.cache = SuggestionCache()
        self.counts = Counts()
        self.asker = Asker(host, self.counts)
        self.rhythm = Rhythm()
        self._latest = Latest()
        self._running: dict[str, asyncio.Task[Suggestion | None]] = {}
        self._asked: set[asyncio.Task[Suggestion | None]] = set()  # past the wait
        self._errors = Throttle(60.0)
        self._budget_said = False
        self._warm = False  # the relay's client is built

    def enabled(self) -> bool:
        """True when the user turned completion on."""
        return self.host.settings.completion.enabled

    async def complete(self, uri: str, pos: Pos) -> Suggestion | None:
        """Returns the suggestion at a position, or None (nothing to show)."""
        try:
            return await self._complete(uri, pos)
        except GptLspError as error:  # a settings problem: said once a minute, like relay errors
            self._error(error)
        except Exception:  # the one boundary: a suggestion is never worth a crash or a traceback
            log.exception("inline completion failed unexpectedly")
        return None

    def changed(self, uri: str, *, typing: bool = True) -> None:
        """A document changed: its request can no longer be shown, so it stops now."""
        self.rhythm.changed(uri, typing=typing)
        self._stop(uri)
        if not self._warm:  # while the user types, not at the pause that wants a suggestion
            self._warm = True
            self._warm_relay()

    def _warm_relay(self) -> None:
        """Builds the relay's client (HTTP pool, TLS context) ahead of the first request."""
        relays = self.host.relays
        with contextlib.suppress(GptLspError):  # said by the request that needs it
            relays.get(relays.resolve_name(self.host.settings.completion.relay))

    async def _complete(self, uri: str, pos: Pos) -> Suggestion | None:
        settings = self.host.settings
        config = settings.completion
        doc = self.host.documents.get(uri)
        if not config.enabled or doc is None or self._excluded(uri, doc.language_id, settings):
            return None
        encoding = self.host.client.encoding
        ctx = cut_context(doc, pos, encoding, config.prefix_chars, config.suffix_chars)
        if self._stop(uri):  # a request still running: the user is moving (cursor keys)
            self.rhythm.touched(uri)
        ticket = self._latest.take(uri)
        cached = self.cache.get(uri, ctx.prefix, ctx.suffix)
        if cached is not None:
            self.counts.cache_hits += 1
            self._latest.release(ticket)
            return self._suggest(ctx, cached)
        # Still changing (typing): wait until the user stops, whatever the trigger kind.
        delay = self.rhythm.wait(uri, config.debounce_ms / 1000, in_word=ctx.in_word)
        version = doc.version  # the document object changes in place
        task = asyncio.ensure_future(self._fetch(doc, ctx, delay))
        task.add_done_callback(self._count_debounced)
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

    def _stop(self, uri: str) -> bool:
        """Cancels the document's running request at once (its relay stream closes now);
        True when there was one."""
        older = self._running.pop(uri, None)
        if older is None or older.done():
            return False
        _cancel(older)
        return True

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

    def _count_debounced(self, task: asyncio.Task[Suggestion | None]) -> None:
        if task.cancelled() and task not in self._asked:
            self.counts.debounced += 1  # cancelled before it asked (even before it started)
        self._asked.discard(task)

    async def _fetch(self, doc: TextDoc, ctx: CompletionContext, delay: float) -> Suggestion | None:
        if delay:
            await asyncio.sleep(delay)
        task = asyncio.current_task()
        assert task is not None
        self._asked.add(task)
        settings = self.host.settings
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
        try:
            text = await self.asker.ask(ctx, settings, self._context_for(doc, ctx, settings))
        except GptLspError as error:
            self._error(error)
            return None
        self.cache.put(ctx.uri, ctx.prefix, ctx.suffix, text)
        return Suggestion(text, ctx.line, ctx.character)

    def _context_for(
        self, doc: TextDoc, ctx: CompletionContext, settings: Settings
    ) -> ContextPack | None:
        """Definitions the lines at the cursor use, from other files, in context.completion's
        small budget: gathered once the user stopped, not per keystroke."""
        budget = settings.context.completion
        if self.context is None or budget <= 0:
            return None
        shown = (ctx.line - ctx.prefix.count("\n"), ctx.line + ctx.suffix.count("\n"))
        pack = self.context(doc, ctx.line, shown, budget)
        self.counts.context_tokens += pack.tokens
        return pack

    def forget(self, uri: str) -> None:
        """A document closed: its request stops, its suggestions go."""
        self._stop(uri)
        self.rhythm.forget(uri)
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
        await self.asker.close()


def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancels a request's task, and again a little later: on Python 3.11 asyncio.wait_for
    swallows a cancellation that arrives as the awaited call completes (opening the stream)."""
    task.cancel()
    loop = asyncio.get_running_loop()
    for delay in RECANCEL_AFTER:
        loop.call_later(delay, lambda: None if task.done() else task.cancel())
