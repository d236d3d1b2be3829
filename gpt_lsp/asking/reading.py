"""One request's answer read for its caller: the text handed to the caller's sink a network
read at a time; usage, finish reason and a token estimate kept; the answer's size bounded; a
short tail for the usage once the caller has enough; the HTTP stream closed at the end.

The relay's events are already checked (relay/chunks.py: usage believed only as sane whole
numbers, repeats dropped): what is read here is what the caller is billed for.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from gpt_lsp.accounting.usage import chunk_tokens, local_token_count
from gpt_lsp.errors import AnswerTooLong
from gpt_lsp.logs import content_logger
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from gpt_lsp.relay.request import Attempt, Request


class Sink(Protocol):
    """What a caller does with its answer as it comes."""

    def take(self, text: str) -> bool:
        """Takes the answer text of one network read (never ""); True when it has enough."""
        ...

    def read(self) -> None:
        """Called after every network read, the reading's figures current (progress)."""
        return None


class Reading:
    """One request's answer as it is read. `aclose()` (or leaving `async with`) closes the
    HTTP stream; so does cancelling the task that reads."""

    def __init__(
        self,
        client: RelayClient,
        request: Request,
        *,
        label: str,
        max_chars: int | None = None,
    ) -> None:
        self.label = label  # names the answer in the content log
        self.max_chars = max_chars  # past it, AnswerTooLong; the stream's lines bounded too
        self.usage: Usage | None = None  # the relay's, when it sent one
        self.finish_reason: str | None = None
        self.chars = 0  # answer characters read
        self.estimate = 0  # completion tokens counted locally, a chunk at a time
        self.opened = False  # the relay answered
        self.enough = False  # the sink had enough: only usage was read after
        self._stream = client.stream_batches(request, Attempt(), answer_chars=max_chars)

    async def read(self, sink: Sink, *, tail: float = 0.0) -> None:
        """Reads to the answer's end, or until the sink has enough; then for `tail` seconds
        more, for the usage alone (relays send it last). Raises gpt_lsp.errors."""
        # Checked once per answer, not per chunk: logContent changes take effect at the next.
        log = content_logger().isEnabledFor(logging.DEBUG)
        stream = self._stream
        tail_until: float | None = None
        for _batch in itertools.count():  # as long as the stream: the client bounds its time
            try:
                if tail_until is None:
                    batch = await stream.__anext__()
                else:
                    left = tail_until - time.monotonic()
                    batch = await asyncio.wait_for(stream.__anext__(), max(0.001, left))
            except (StopAsyncIteration, asyncio.TimeoutError):
                break
            self.opened = True
            if tail_until is None:
                text = self._take(batch, log)
                # The batch's text in one piece: one call per network read costs less than
                # one per chunk, and the caller's filters give the same for any split.
                if text and sink.take(text):
                    self.enough = True
                    tail_until = time.monotonic() + tail
            else:
                self._take_usage(batch)
            sink.read()
            if tail_until is not None and time.monotonic() >= tail_until:
                break

    def _take(self, batch: Sequence[StreamEvent], log: bool) -> str:
        """Counts a network read's events; returns its answer text."""
        texts: list[str] = []
        for event in batch:
            if isinstance(event, TextDelta):
                self.chars += len(event.text)
                self.estimate += chunk_tokens(event.text)
                if log:
                    content_logger().debug("%s answer: %r", self.label, event.text)
                if self.max_chars is not None and self.chars > self.max_chars:
                    raise AnswerTooLong(self.max_chars)
                texts.append(event.text)
            elif isinstance(event, Usage):
                self.usage = event
            elif isinstance(event, Finish):
                self.finish_reason = event.reason
            elif isinstance(event, ToolCallDelta):
                # Some models answer code through a tool call: its tokens are billed too.
                self.estimate += chunk_tokens(event.arguments)
            elif isinstance(event, ReasoningDelta):
                self.estimate += chunk_tokens(event.text)
        return "".join(texts)

    def _take_usage(self, batch: Sequence[StreamEvent]) -> None:
        """After the sink had enough: the usage and finish reason only."""
        for event in batch:
            if isinstance(event, Usage):
                self.usage = event
            elif isinstance(event, Finish):
                self.finish_reason = event.reason

    def billed(self, sent: Sequence[str]) -> tuple[Usage, bool]:
        """Returns the usage to record and whether it is estimated (the relay sent none):
        `sent` is the prompt's text, counted locally then."""
        if self.usage is not None:
            return self.usage, False
        return Usage(sum(local_token_count(text) for text in sent), self.estimate), True

    async def aclose(self) -> None:
        """Closes the HTTP stream (at once: what was not read is not billed)."""
        await self._stream.aclose()

    async def __aenter__(self) -> Reading:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
