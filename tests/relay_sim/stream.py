"""The relay simulator's SSE writer: a stream's events with the scenario's framing quirks
(line endings, split writes, compression) and faults (drops, hangs, holds, an endless line)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.relay_sim.errors import new_request_id, scenario_error
from tests.relay_sim.events import events, is_legacy
from tests.relay_sim.scenario import HANG_CAP, RecordedRequest, Scenario

if TYPE_CHECKING:
    from tests.relay_sim.server import RelaySim


class Body:
    """A stream's body writer: compresses each write (and flushes it) when the scenario asks."""

    def __init__(self, resp: web.StreamResponse, encoding: str | None) -> None:
        self.resp = resp
        self._packer = None
        if encoding is not None:
            wbits = 31 if encoding == "gzip" else 15  # gzip header, or zlib's
            self._packer = zlib.compressobj(6, zlib.DEFLATED, wbits)

    async def write(self, data: bytes) -> None:
        """Writes data, compressed and flushed so that it reaches the client now."""
        if self._packer is not None:
            data = self._packer.compress(data) + self._packer.flush(zlib.Z_SYNC_FLUSH)
        await self.resp.write(data)

    async def end(self) -> None:
        """Writes the compressed stream's end."""
        if self._packer is not None:
            await self.resp.write(self._packer.flush())


class Dropped(Exception):
    """The scenario cut the connection; carries the response to hand back to aiohttp."""

    def __init__(self, response: web.StreamResponse) -> None:
        """Keep the response."""
        super().__init__("connection dropped by scenario")
        self.response = response


def encode(sc: Scenario, payload: Any) -> bytes:
    """One SSE event with the scenario's framing."""
    le = sc.line_ending
    prefix = "data: " if sc.space_after_data else "data:"
    if isinstance(payload, str):
        lines = [payload]
    elif sc.multiline_data:
        # indent puts a newline between JSON tokens only, so joining data lines with "\n"
        # gives the same JSON back.
        lines = json.dumps(payload, ensure_ascii=False, indent=1).split("\n")
    else:
        lines = [json.dumps(payload, ensure_ascii=False, separators=(",", ":"))]
    return ("".join(prefix + line + le for line in lines) + le).encode()


def _cuts(data: bytes, le: str) -> list[int]:
    """Where to cut an event: inside 'data:', inside a UTF-8 character, mid-JSON, mid-EOL."""
    cuts = {3, len(data) // 2, len(data) - 1}
    lead = next((i for i, b in enumerate(data) if b >= 0xC0), None)
    if lead is not None:
        cuts.add(lead + 1)
    if le == "\r\n":
        cuts.add(len(data) - 3)  # between the \r and \n that end the last data line
    return sorted(c for c in cuts if 0 < c < len(data))


async def _write(resp: Body, sc: Scenario, data: bytes) -> None:
    """Write one event, in several TCP writes when the scenario splits them."""
    if sc.split_writes:
        start = 0
        for cut in [*_cuts(data, sc.line_ending), len(data)]:
            await resp.write(data[start:cut])
            start = cut
            if cut < len(data):
                await asyncio.sleep(sc.split_pause)
    else:
        await resp.write(data)


def drop(request: web.Request, sc: Scenario) -> None:
    """Close the TCP connection with no terminator (RST if asked)."""
    transport = request.transport
    if transport is None:
        return
    if sc.drop_with_reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


async def hang(sc: Scenario) -> None:
    """Go silent until the client leaves, stop(), or hang_seconds have passed."""
    # stop() and a client disconnect both end this by cancelling the handler.
    await asyncio.sleep(min(sc.hang_seconds, HANG_CAP))


async def _hold(sc: Scenario) -> None:
    """Wait until the test sets sc.release (a threading.Event: polled), at most HANG_CAP; a
    client leaving or stop() cancels the handler."""
    for _ in range(int(HANG_CAP / 0.01)):
        if sc.release is None or sc.release.is_set():
            return
        await asyncio.sleep(0.01)


async def stream(
    sim: RelaySim,
    request: web.Request,
    rec: RecordedRequest,
    sc: Scenario,
    body: dict[str, Any],
    model: str,
) -> web.StreamResponse:
    """Streamed answer."""
    headers = {
        "Content-Type": sc.content_type,
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
        "X-Oneapi-Request-Id": new_request_id(),
    }
    if sc.content_encoding is not None:
        headers["Content-Encoding"] = sc.content_encoding
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)  # a StreamResponse sends its headers right away
    sim._update(rec, status=resp.status, first_byte_at=time.monotonic())
    out = Body(resp, sc.content_encoding)
    answer = events(sc, body, model, legacy=is_legacy(rec))
    await _stream_events(sim, request, rec, sc, out, answer, model)
    await out.end()
    return resp


async def _stream_events(
    sim: RelaySim,
    request: web.Request,
    rec: RecordedRequest,
    sc: Scenario,
    resp: Body,
    events: Iterator[tuple[str, Any]],
    model: str,
) -> None:
    """Writes a stream's events with the scenario's faults."""
    sent = 0
    pieces_sent = 0
    for n, (kind, payload) in enumerate(events):
        if n > 0:
            if sc.keepalive_comments:
                await resp.write(f": PING{sc.line_ending}{sc.line_ending}".encode())
            if sc.pace > 0:
                await asyncio.sleep(sc.pace)
        if kind != "role":
            if sc.endless_line is not None and pieces_sent >= 1:
                await _endless_line(resp, sc.endless_line)
                await hang(sc)
                return
            if sc.drop_after is not None and pieces_sent >= sc.drop_after:
                drop(request, sc)
                raise Dropped(resp.resp)
            if sc.hang_after is not None and pieces_sent >= sc.hang_after:
                await hang(sc)
                return
            if sc.hold_after is not None and pieces_sent >= sc.hold_after:
                await _hold(sc)
            if sc.malformed_after is not None and pieces_sent >= sc.malformed_after:
                await _write(resp, sc, encode(sc, sc.malformed_data))
                sent += 1
                sim._update(rec, chunks_sent=sent)
                return
            if sc.error_event_after is not None and pieces_sent >= sc.error_event_after:
                err = {"error": scenario_error(sc, 500, model)}
                await _write(resp, sc, encode(sc, err))
                sent += 1
                sim._update(rec, chunks_sent=sent)
                if sc.send_done:
                    await _write(resp, sc, encode(sc, "[DONE]"))
                    sent += 1
                    sim._update(rec, chunks_sent=sent)
                return
        await _write(resp, sc, encode(sc, payload))
        sent += 1
        if kind == "piece":
            pieces_sent += 1
        sim._update(rec, chunks_sent=sent)


async def _endless_line(resp: Body, size: int) -> None:
    """Writes the start of a chunk, then `size` bytes of its text, and never ends it."""
    await resp.write(b'data: {"choices": [{"index": 0, "delta": {"content": "')
    block = b"a" * 65536
    for _ in range(size // len(block)):
        await resp.write(block)
