"""The stream parser alone, in process: CPU time to turn 3,000 chunks into events (the figure
tests/unit/relay/test_stream.py asserted as a wall-clock limit; here it is measured, never a
failure)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx

from bench.scenarios import Context, Report
from gpt_lsp.relay.stream import iter_events

CHUNKS = 3000
URL = "https://relay.example/v1/chat/completions"


class _Reads(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def _body(count: int) -> bytes:
    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        obj = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
        obj["choices"][0]["finish_reason"] = finish  # type: ignore[index]
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    body = b"".join(chunk({"content": f"tok{i} "}) for i in range(count))
    return body + chunk({}, "stop") + b"data: [DONE]\n\n"


async def _parse_ms(body: bytes, read: int) -> float:
    reads = [body[i : i + read] for i in range(0, len(body), read)]
    response = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=_Reads(reads),
        request=httpx.Request("POST", URL),
    )
    started = time.process_time()
    events = [event async for event in iter_events(response, relay="bench")]
    elapsed = time.process_time() - started
    if len(events) != CHUNKS + 1:
        raise RuntimeError(f"parsed {len(events)} events, not {CHUNKS + 1}")
    return elapsed * 1000


async def parse(ctx: Context) -> Report:
    report = Report("parse")
    body = _body(CHUNKS)
    for read, label in ((512, "512 B reads"), (64 * 1024, "64 KiB reads")):
        times = [await _parse_ms(body, read) for _ in range(ctx.runs + 1)][1:]
        report.add(f"[{label}] {CHUNKS:,} chunks, CPU", "ms", times, "< 500 ms", 500.0)
    return report
