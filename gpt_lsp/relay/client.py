"""The relay client: one pooled httpx.AsyncClient per relay, retries, failover, timeouts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx

from gpt_lsp import __version__
from gpt_lsp.errors import (
    ModelDeniedError,
    RelayError,
    RelayTimeout,
)
from gpt_lsp.i18n import _
from gpt_lsp.redaction import register_secret
from gpt_lsp.relay import shapes
from gpt_lsp.relay.events import StreamEvent
from gpt_lsp.relay.memory import Learned
from gpt_lsp.relay.models import pick_model
from gpt_lsp.relay.opening import Opener
from gpt_lsp.relay.reads import ACCEPT_ENCODING
from gpt_lsp.relay.request import Attempt, ChatRequest, RelayQuirks, Request
from gpt_lsp.relay.slots import EXTRA_CONNECTIONS, MAX_STREAMS, Slots
from gpt_lsp.relay.stream import event_limit
from gpt_lsp.relay.translate import translate_httpx_error
from gpt_lsp.relay.watchdog import Watchdog
from gpt_lsp.settings import DEFAULT_MODEL, RelayConfig

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_RETRIES = 2
MODELS_TIMEOUT = 5.0  # seconds for /models when a model error wants the list
MAX_RETRY_WAIT = 20.0
SERVER_ERROR_RETRY_STATUSES = frozenset({500, 502, 503})

Sleep = Callable[[float], Awaitable[None]]


class RelayClient:
    """Talks to one relay (its main host and backups) over one connection pool."""

    def __init__(
        self,
        name: str,
        config: RelayConfig,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        learned: Learned | None = None,
        on_learned: Callable[[RelayClient], None] | None = None,
    ) -> None:
        self.name = name
        self.config = config
        known = learned or Learned()
        self.quirks = RelayQuirks(
            no_stream_options=known.no_stream_options,
            max_completion_tokens=known.max_completion_tokens,
            no_system_role=not config.system_role or known.no_system_role,
            fim=dict(known.fim),
        )
        register_secret(api_key)
        self.sleep = sleep
        self._on_learned = on_learned
        urls = config.urls
        self._preferred = urls.index(known.preferred_url) if known.preferred_url in urls else 0
        self.picked_model = known.model
        # Streams wait for a connection in self.slots, each within its own budget; httpx's
        # pool has room for all of them and the extras, so its timeout is a safety net only.
        self.slots = Slots(MAX_STREAMS)
        self._opener = Opener(self)
        timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=max(config.idle_timeout, config.first_byte_timeout),
            write=config.connect_timeout,
            pool=config.connect_timeout,
        )
        headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"gpt-lsp/{__version__}",
            # What reads.py decodes in bounded pieces (never br or zstd, even if installed).
            "Accept-Encoding": ACCEPT_ENCODING,
            **config.headers,
        }
        self.http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers=headers,
            proxy=config.proxy,
            trust_env=config.proxy is None,
            # A redirect could carry the key to another host: never follow one.
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=MAX_STREAMS + EXTRA_CONNECTIONS, max_keepalive_connections=10
            ),
        )

    @property
    def urls(self) -> list[str]:
        """Returns base URLs in the order they are tried now (the one that worked first)."""
        urls = self.config.urls
        return urls[self._preferred :] + urls[: self._preferred]

    @property
    def current_url(self) -> str:
        """Returns the base URL tried first."""
        return self.urls[0]

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self.http.aclose()

    @property
    def default_model(self) -> str:
        """Returns the model of jobs that name none: configured, else picked, else the default."""
        return self.config.model or self.picked_model or DEFAULT_MODEL

    async def list_models(self) -> list[str] | None:
        """Returns the relay's model ids (GET /models), or None when it lists none."""
        from gpt_lsp.relay.billing import fetch_models

        return await fetch_models(self.http, self.current_url)

    async def _choose_model(self, error: ModelDeniedError, request: ChatRequest) -> bool:
        """After a model error: names the relay's models in it; with no model configured,
        picks one of them for this request and the next ones. True when worth a new try."""
        try:
            error.models = await asyncio.wait_for(self.list_models(), MODELS_TIMEOUT)
        except (asyncio.TimeoutError, httpx.HTTPError):
            return False
        if self.config.model is not None or request.model != self.default_model:
            return False  # the user chose this model: say so, do not swap it
        picked = pick_model(error.models or [])
        if picked is None or picked == request.model:
            return False
        log.warning(
            "relay %s does not serve %s; using %s from its list", self.name, request.model, picked
        )
        request.model = picked
        self.picked_model = picked
        self.learned_something()
        return True

    def learned(self) -> Learned:
        """Returns what this client learned of the relay (not what the settings said)."""
        preferred = self.current_url if self._preferred else None
        return Learned(
            no_stream_options=self.quirks.no_stream_options,
            max_completion_tokens=self.quirks.max_completion_tokens,
            no_system_role=self.quirks.no_system_role and self.config.system_role,
            preferred_url=preferred,
            model=self.picked_model if self.config.model is None else None,
            fim=dict(self.quirks.fim),
            learned_at=time.time(),
        )

    def prefer(self, base: str) -> None:
        """Tries `base` first from now on (the host that answered)."""
        preferred = self.config.urls.index(base)
        if preferred != self._preferred:
            self._preferred = preferred
            self.learned_something()

    def learned_something(self) -> None:
        """Tells the owner the relay's learned quirks changed (they are saved)."""
        if self._on_learned is not None:
            self._on_learned(self)

    def build_body(self, request: Request) -> dict[str, Any]:
        """Returns the JSON body for a request, shaped by the relay's known quirks."""
        return shapes.body(request, self.quirks)

    def fim_served(self, model: str) -> bool | None:
        """Returns whether the relay keeps `suffix` on /completions for a model (None: unknown)."""
        return self.quirks.fim.get(model)

    def learn_fim(self, model: str, served: bool) -> None:
        """Remembers whether the relay serves fill-in-the-middle for a model."""
        if self.quirks.fim.get(model) is not served:
            self.quirks.fim[model] = served
            self.learned_something()

    async def stream_batches(
        self,
        request: Request,
        attempt: Attempt | None = None,
        *,
        answer_chars: int | None = None,
    ) -> AsyncGenerator[list[StreamEvent], None]:
        """Yields the answer's events a network read at a time; retries only before the first.

        `answer_chars` (a job's maxAnswerChars) bounds the stream's lines and events.
        Close the generator (or cancel its consumer) to close the HTTP response at once.
        """
        attempt = attempt or Attempt()
        deadline = attempt.started + self.config.timeout
        limit = event_limit(answer_chars)
        try:
            response, batches, first, slot = await self._opener.open(
                request, attempt, deadline, limit
            )
        except ModelDeniedError as error:
            # Another model is picked for chat only: a FIM refusal falls back to chat.
            if not isinstance(request, ChatRequest) or not await self._choose_model(error, request):
                raise
            response, batches, first, slot = await self._opener.open(
                request, attempt, deadline, limit
            )
        # httpx's read timeout is sized for the first byte (the longer wait), and keep-alive
        # comments reset it: a watchdog bounds the silence between reads and the total
        # budget. (asyncio.wait_for per read would cost a task and a timer each.)
        watchdog = Watchdog(self.config.idle_timeout, deadline)
        try:
            yield first
            while True:
                if time.monotonic() > deadline:
                    raise self._stream_timeout(attempt.url, silent=False)
                watchdog.start_read()
                try:
                    batch = await batches.__anext__()
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if watchdog.fired is None:
                        raise
                    watchdog.absorb_cancel()
                    raise self._stream_timeout(
                        attempt.url, silent=watchdog.fired == "silence"
                    ) from None
                except httpx.HTTPError as exc:
                    raise self.translate(exc, attempt.url, started=True) from exc
                finally:
                    watchdog.reading = False
                yield batch
        finally:
            watchdog.stop()
            try:
                await batches.aclose()
                await response.aclose()
            finally:
                slot.release()  # the connection is back in the pool: the next request's

    async def stream_chat(
        self, request: ChatRequest, attempt: Attempt | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Yields the answer's events one by one (stream_batches, flattened)."""
        batches = self.stream_batches(request, attempt)
        async with aclosing(batches):
            async for batch in batches:
                for event in batch:
                    yield event

    def _stream_timeout(self, url: str, *, silent: bool) -> RelayTimeout:
        """Returns the timeout for a stream that went silent, or ran past its total budget."""
        if silent:
            return RelayTimeout(
                _("the relay went silent for {seconds:g} s mid-answer").format(
                    seconds=self.config.idle_timeout
                ),
                phase="silence",
                relay=self.name,
                url=url,
            )
        return RelayTimeout(
            _("the answer took longer than {seconds:g} s").format(seconds=self.config.timeout),
            phase="total",
            relay=self.name,
            url=url,
        )

    def translate(self, exc: httpx.HTTPError, url: str, *, started: bool) -> RelayError:
        """Translates an httpx error; the only place that does."""
        return translate_httpx_error(exc, relay=self.name, url=url, started=started)
