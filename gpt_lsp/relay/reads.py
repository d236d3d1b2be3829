"""Reading a response body: whole network reads at a time, bounded reads, the end after [DONE].

httpx hands out one piece per HTTP chunk, and relays (Go's one-api and new-api, aiohttp) flush
every SSE event as its own chunk, so a 64 KiB network read arrives as hundreds of pieces. A
`BodyReader` pulls them in a task of its own and hands over, per `read()`, everything that has
arrived: the parser and the job above it wake once per network read, not once per event.

Bodies are decompressed here, not by httpx, in pieces of at most `PIECE` bytes: httpx inflates
a whole network read at once, and 64 KiB of a gzip bomb is 64 MiB (a 2 MB gzip stream took
the server past 4 GB). Only gzip and deflate are asked for (Accept-Encoding); a body in
another encoding is an error, never passed on as if it were text.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Final, cast

import httpx

__all__ = ["ACCEPT_ENCODING", "PIECE", "BodyReader", "byte_chunks", "read_bounded"]

ACCEPT_ENCODING: Final = "gzip, deflate"
PIECE: Final = 64 * 1024
"""The most decompressed bytes handed on at once."""

_READ_AHEAD: Final = 1024 * 1024
"""Bytes the reader task buffers before it waits for the consumer."""
_DRAIN_BYTES: Final = 64 * 1024
_GATHER_SECONDS: Final = 0.002
"""The consumer is woken at most once per this many seconds: events that come faster gather
(in the socket, reading paused) and wait at most this long."""
_DRAIN_SECONDS: Final = 0.05


async def byte_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """Yields the body decoded (Content-Encoding), at most `PIECE` bytes at a time."""
    if response.is_stream_consumed:
        # Read whole already (a response built from bytes, as test transports make them).
        content = response.content
        for start in range(0, len(content), PIECE):
            yield content[start : start + PIECE]
        return
    decoders = [_decoder(name) for name in _encodings(response)]
    async for raw in response.aiter_raw():
        pieces: Iterator[bytes] = iter((raw,))
        for decoder in reversed(decoders):  # the last encoding applied is undone first
            pieces = _through(decoder, pieces)
        for piece in pieces:
            yield piece
    pieces = iter(())
    for decoder in reversed(decoders):
        pieces = _through(decoder, pieces, last=True)
    for piece in pieces:
        yield piece


class _Inflate:
    """zlib, gzip or raw deflate, inflated a bounded piece at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        # deflate is meant to be zlib-wrapped, but servers send raw deflate too (as httpx).
        self._wbits = zlib.MAX_WBITS | 16 if name in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(self._wbits)
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Yields what data inflates to, PIECE bytes at most each."""
        # Each round consumes input or hands on a whole PIECE: it ends with the input.
        while True:
            out = self._inflate(data)
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE:
                return

    def _inflate(self, data: bytes) -> bytes:
        if self._started or not data:
            return self._zlib.decompress(data, PIECE)
        self._started = True
        try:
            return self._zlib.decompress(data, PIECE)
        except zlib.error:
            if self.name != "deflate":
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._zlib.decompress(data, PIECE)

    def flush(self) -> Iterator[bytes]:
        """Yields what is left at the end of the body."""
        yield from self.decode(b"")
        rest = self._zlib.flush()
        if rest:
            yield rest


def _encodings(response: httpx.Response) -> list[str]:
    names = response.headers.get("content-encoding", "").lower().split(",")
    return [n.strip() for n in names if n.strip() and n.strip() != "identity"]


def _decoder(name: str) -> _Inflate:
    if name in ("gzip", "x-gzip", "deflate"):
        return _Inflate(name)
    raise httpx.DecodingError(
        f"the relay sent a body encoded as {name[:40]!r}, which gpt-lsp did not ask for"
    )


def _through(decoder: _Inflate, pieces: Iterator[bytes], *, last: bool = False) -> Iterator[bytes]:
    try:
        for piece in pieces:
            yield from decoder.decode(piece)
        if last:
            yield from decoder.flush()
    except zlib.error as exc:
        raise httpx.DecodingError(f"the relay's {decoder.name} body is corrupt ({exc})") from exc


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


def _pieces(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """Returns the body's pieces: httpx's own when it is not encoded (a layer less per piece,
    and relays send a piece per event), else `byte_chunks`."""
    if response.is_stream_consumed or _encodings(response):
        return byte_chunks(response)
    return cast(AsyncGenerator[bytes, None], response.aiter_raw())  # an async generator


class BodyReader:
    """Reads a streamed body in a task; `read()` returns all that arrived since the last call."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = _pieces(response)
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
                loop = waiter.get_loop()
                wait = self._woken + _GATHER_SECONDS - loop.time()
                if wait > 0:
                    # The consumer keeps up and waits: events come one per network read, and
                    # a read costs more than the events it carries. Let them gather until
                    # _GATHER_SECONDS after the last wake, so that the next read carries many
                    # and the consumer wakes once for them (this piece waits with them).
                    await asyncio.sleep(wait)
                if not waiter.done():
                    waiter.set_result(None)
                self._woken = loop.time()
            if self._size > _READ_AHEAD:
                self._space = asyncio.get_running_loop().create_future()
                await self._space
                self._space = None

    def _wake(self, _task: asyncio.Future[None]) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
