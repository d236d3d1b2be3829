"""Opening a relay's stream: its hosts in order, the bounded retries that status codes allow,
a 400 naming a request feature learned from, the first batch within the first-byte timeout."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, NamedTuple, Protocol

import httpx

from gpt_lsp.errors import (
    GatewayError,
    ModelDeniedError,
    RateLimitError,
    RelayConnectError,
    RelayError,
    RelayProtocolError,
    RelayStatusError,
    RelayTimeout,
)
from gpt_lsp.relay import shapes
from gpt_lsp.relay.bodies import status_error
from gpt_lsp.relay.events import StreamEvent
from gpt_lsp.relay.request import Attempt, RelayQuirks, Request, adapt
from gpt_lsp.relay.slots import Slot, Slots
from gpt_lsp.relay.stream import iter_batches
from gpt_lsp.settings import RelayConfig
from gpt_lsp.urls import host_of

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_RETRIES = 2
MAX_RETRY_WAIT = 20.0
SERVER_ERROR_RETRY_STATUSES = frozenset({500, 502, 503})


class Opened(NamedTuple):
    """A stream that gave its first batch, and the connection slot it holds until closed."""

    response: httpx.Response
    batches: AsyncGenerator[list[StreamEvent], None]
    first: list[StreamEvent]
    slot: Slot


class Host(Protocol):
    """What opening a stream uses of its relay client (relay/client.py)."""

    name: str
    config: RelayConfig
    quirks: RelayQuirks
    http: httpx.AsyncClient
    slots: Slots
    sleep: Callable[[float], Awaitable[None]]

    @property
    def urls(self) -> list[str]: ...

    def build_body(self, request: Request) -> dict[str, Any]: ...

    def prefer(self, base: str) -> None: ...

    def learned_something(self) -> None: ...

    def translate(self, exc: httpx.HTTPError, url: str, *, started: bool) -> RelayError: ...


class Opener:
    """Opens one client's streams."""

    def __init__(self, client: Host) -> None:
        self.client = client

    async def open(self, request: Request, attempt: Attempt, deadline: float, limit: int) -> Opened:
        """Sends the request until some host yields a first batch, or raises the last error."""
        last_error: RelayError | None = None
        urls = self.client.urls
        for offset, base in enumerate(urls):
            attempt.failovers = offset
            try:
                opened = await self._on_host(base, request, attempt, deadline, limit)
            except (RelayConnectError, GatewayError) as exc:
                last_error = exc
            except RelayTimeout as exc:
                if exc.phase not in ("connect", "first_byte"):
                    raise
                last_error = exc
            else:
                self.client.prefer(base)
                return opened
            if offset + 1 < len(urls):
                log.warning(
                    "relay %s: %s failed (%s); trying %s",
                    self.client.name,
                    host_of(base),
                    type(last_error).__name__,
                    host_of(urls[offset + 1]),
                )
        assert last_error is not None
        if len(urls) > 1:
            last_error.detail += f" (all {len(urls)} hosts of the relay failed; this was the last)"
            last_error.args = (last_error.detail,)
        raise last_error

    async def _on_host(
        self, base: str, request: Request, attempt: Attempt, deadline: float, limit: int
    ) -> Opened:
        """Opens the stream on one host, with the bounded retries that status codes allow."""
        url = shapes.endpoint(base, request)
        attempt.url = url
        rate_retries = 0
        server_retries = 0
        adapted: set[str] = set()
        for _try in range(10):  # adaptations (3) + rate-limit (2) + server-error (1) retries
            try:
                return await self._first_event(url, request, attempt, deadline, limit)
            except RateLimitError as exc:
                if rate_retries >= MAX_RATE_LIMIT_RETRIES:
                    raise
                rate_retries += 1
                wait = exc.retry_after if exc.retry_after is not None else 2.0**rate_retries
                if wait > MAX_RETRY_WAIT or time.monotonic() + wait > deadline:
                    raise
                await self.client.sleep(max(0.0, wait))
            except GatewayError as exc:
                # The next host is the cure for a CDN page; a lone host gets one retry on a
                # 502/503 (a 524 already waited 100 s at the CDN: retrying doubles that).
                if (
                    len(self.client.config.urls) > 1
                    or server_retries >= 1
                    or exc.status not in SERVER_ERROR_RETRY_STATUSES
                ):
                    raise
                server_retries += 1
                await self.client.sleep(_backoff(server_retries))
            except RelayStatusError as exc:
                if exc.status == 400 and self._adapt(exc, request, adapted):
                    self.client.learned_something()
                    continue
                # A missing channel for the model (503 无可用渠道) does not heal in a second.
                retry_helps = not isinstance(exc, ModelDeniedError)
                if (
                    not retry_helps
                    or exc.status not in SERVER_ERROR_RETRY_STATUSES
                    or server_retries >= 1
                ):
                    raise
                server_retries += 1
                await self.client.sleep(_backoff(server_retries))
            attempt.retries += 1
        raise RelayProtocolError("too many retries", relay=self.client.name, url=url)

    def _adapt(self, exc: RelayStatusError, request: Request, adapted: set[str]) -> bool:
        """Learns from a 400 that names a request feature; True when a retry may help."""
        learned = adapt(self.client.quirks, exc.relay_message, request, adapted)
        if learned:
            log.info("relay %s rejects %s; sending without", self.client.name, learned)
        return learned is not None

    async def _first_event(
        self, url: str, request: Request, attempt: Attempt, deadline: float, limit: int
    ) -> Opened:
        """Sends once (when a connection is free) and waits for the first batch of events
        within the first-byte timeout."""
        body = self.client.build_body(request)
        http_request = self.client.http.build_request(
            "POST", url, json=body, headers={"Accept": "text/event-stream"}
        )
        slot = await self.client.slots.take(
            deadline - time.monotonic(), relay=self.client.name, url=url
        )
        sent_at = time.monotonic()
        budget = min(self.client.config.first_byte_timeout, max(0.0, deadline - sent_at))
        response: httpx.Response | None = None
        events: AsyncGenerator[list[StreamEvent], None] | None = None
        try:
            response = await asyncio.wait_for(
                self.client.http.send(http_request, stream=True), budget
            )
            if response.status_code >= 300:
                raise await status_error(response, relay=self.client.name, url=url)
            events = iter_batches(response, relay=self.client.name, url=url, frame_limit=limit)
            remaining = max(0.0, budget - (time.monotonic() - sent_at))
            first = await asyncio.wait_for(events.__anext__(), remaining or 0.001)
        except StopAsyncIteration:
            await _close(events, response)
            raise RelayProtocolError(
                "the relay closed the stream without an answer", relay=self.client.name, url=url
            ) from None
        except asyncio.TimeoutError:
            await _close(events, response)
            raise RelayTimeout(
                f"no answer within {budget:g} s",
                phase="first_byte",
                relay=self.client.name,
                url=url,
            ) from None
        except httpx.HTTPError as exc:
            await _close(events, response)
            raise self.client.translate(exc, url, started=False) from exc
        except BaseException:
            await _close(events, response)
            raise
        finally:
            if events is None or response is None or response.is_closed:
                slot.release()  # failed (a retry waits in line again)
        attempt.first_token_at = time.monotonic()
        return Opened(response, events, first, slot)


def _backoff(attempt: int) -> float:
    base: float = min(MAX_RETRY_WAIT, 0.5 * 2.0 ** (attempt - 1))
    return base * (0.8 + 0.4 * random.random())


async def _close(
    events: AsyncGenerator[list[StreamEvent], None] | None, response: httpx.Response | None
) -> None:
    if events is not None:
        await events.aclose()
    if response is not None:
        await response.aclose()
