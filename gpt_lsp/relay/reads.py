"""Reading a response body: whole network reads at a time, bounded reads, the end after [DONE].

httpx hands out one piece per HTTP chunk, and relays (Go's one-api and new-api, aiohttp) flush
every SSE event as its own chunk, so a 64 KiB network read arrives as hundreds of pieces. A
`BodyReader` pulls them in a task of its own and hands over, per `read()`, everything that has
arrived: the parser and the job above it wake once per network read, not once per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final, cast

import httpx

__all__ = ["BodyReader", "byte_chunks", "read_bounded"]

_READ_AHEAD: Final = 1024 * 1024
"""Bytes the reader task buffers before it waits for the consumer."""
_DRAIN_BYTES: Final = 64 * 1024
_GATHER_SECONDS: Final = 0.002
"""How long events that come faster than this may gather in the socket before a read."""
_DRAIN_SECONDS: Final = 0.05


def byte_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """Returns the body's byte iterator, typed as the async generator it is (for aclosing)."""
    return cast(AsyncGenerator[bytes, None], response.aiter_bytes())


async def read_bounded(prefix: bytes, chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Returns prefix plus what follows, up to about limit bytes."""
    parts = [prefix]
    size = len(prefix)
    while size < limit:
        chunk = await anext(chunks, None)
        if chunk is None:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)[:limit]


class BodyReader:
    """Reads a streamed body in a task; `read()` returns all that arrived since the last call."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = byte_chunks(response)
        self._parts: list[bytes] = []
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None  # the consumer, waiting for data
        self._space: asyncio.Future[None] | None = None  # the task, waiting for the consumer
        self._draining = False
        self._woken = float("-inf")  # when data last woke the consumer
        self._task = asyncio.get_running_loop().create_task(self._pump(), name="body reader")
        self._task.add_done_callback(self._wake)

    async def read(self) -> bytes:
        """Returns the bytes that arrived (waiting for some); b"" at the end of the body."""
        if not self._parts:
            if self._task.done():
                self._task.result()  # raises what the read raised (httpx errors)
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
            if not self._parts:
                self._task.result()
                return b""
        parts = self._parts
        self._parts = []
        self._size = 0
        if self._space is not None and not self._space.done():
            self._space.set_result(None)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def aclose(self, *, drain: bool = False) -> None:
        """Stops reading; with drain, first reads the rest of the body (bounded) and drops it."""
        # A response closed before its end closes its connection too: after [DONE] the rest
        # (usually the terminating chunk) is read so that the connection goes back to the pool.
        # Some relays keep the body open after [DONE], hence the bounds.
        task = self._task
        try:
            if drain and not task.done():
                self._draining = True
                self._parts = []
                if self._space is not None and not self._space.done():
                    self._space.set_result(None)
                await asyncio.wait({task}, timeout=_DRAIN_SECONDS)
        finally:
            if not task.done():
                task.cancel()
                # asyncio.wait does not raise the task's CancelledError: a cancel of our own
                # caller can never be taken for it and swallowed.
                await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # retrieved: an error after [DONE] or a close is not news
            await self._chunks.aclose()

    async def _pump(self) -> None:
        drained = 0
        async for chunk in self._chunks:
            if self._draining:
                drained += len(chunk)
                if drained > _DRAIN_BYTES:
                    return
                continue
            self._parts.append(chunk)
            self._size += len(chunk)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
                now = waiter.get_loop().time()
                if now - self._woken < _GATHER_SECONDS:
                    # The consumer keeps up and waits: events come one per network read, and
                    # a read costs more than the events it carries. Let them gather for a
                    # moment (never twice in a row), so that the next read carries many.
                    await asyncio.sleep(_GATHER_SECONDS)
                    now = float("-inf")
                self._woken = now
            if self._size > _READ_AHEAD:
                self._space = asyncio.get_running_loop().create_future()
                await self._space
                self._space = None

    def _wake(self, _task: asyncio.Future[None]) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
