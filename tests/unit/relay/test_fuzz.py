"""Fuzzing the stream parser (gpt_lsp/relay/chunks.py, stream.py): only gpt-lsp errors, in
linear time. The settings loader: settings/test_fuzz.py; didChange: session/test_fuzz.py."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.errors import GptLspError
from gpt_lsp.relay.chunks import ChunkState, decode_chunk, finish_stream
from gpt_lsp.relay.stream import iter_events

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SSE_BITS = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"event: error\n",
        b": PING\n\n",
        b"\n",
        b"\r",
        b"\r\n",
        b"[DONE]",
        b'{"choices":[{"delta":{"content":"x"}}]}',
        b'{"choices":[{"delta":{},"finish_reason":"stop"}]}',
        b'{"error":{"message":"m","code":429}}',
        b'{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"a"}}]}}]}',
        b"<html>",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xe4\xbd",
        b"{",
        b"[",
    ]
)
BODIES = st.lists(_SSE_BITS | st.binary(max_size=20), max_size=30).map(b"".join)

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


def response(body: bytes, status: int = 200, content_type: str = "text/event-stream") -> Any:
    reads = [body[i : i + 7] for i in range(0, len(body), 7)] or [b""]

    async def stream() -> Any:
        for read in reads:
            yield read

    return httpx.Response(status, headers={"content-type": content_type}, content=stream())


async def drain(resp: httpx.Response) -> None:
    try:
        async for _ in iter_events(resp, relay="fuzz"):
            pass
    except GptLspError:
        pass


@FUZZ
@given(st.text(max_size=200) | _JSON.map(json.dumps))
def test_decode_chunk_raises_only_gpt_lsp_errors(data: str) -> None:
    state = ChunkState()
    try:
        decode_chunk(data, state)
        decode_chunk(data, state)
        finish_stream(state)
    except GptLspError:
        pass


@FUZZ
@given(
    BODIES,
    st.sampled_from([200, 201, 400, 429, 500, 524]),
    st.sampled_from(["text/event-stream", "application/json", "text/html", ""]),
)
def test_iter_events_raises_only_gpt_lsp_errors(body: bytes, status: int, kind: str) -> None:
    asyncio.run(drain(response(body, status, kind)))


# ---------------------------------------------------------------- complexity

MB = 1024 * 1024
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}\n\n'
SHAPES: dict[str, Callable[[int], bytes]] = {
    "one-huge-line": lambda n: b"data: " + b"a" * n,
    "data-lines": lambda n: EVENT * (n // len(EVENT)),
    "nested-json": lambda n: b"data: " + b"[" * n + b"\n\n",
    "nested-json-body": lambda n: b"[" * n,
    "carriage-returns": lambda n: b"data: x" + b"\r" * n,
    "comments": lambda n: b": PING\n" * (n // 7),
    "one-huge-event": lambda n: b"data: x\n" * (n // 8),
}


def parse_calls(body: bytes) -> int:
    """Python calls made parsing a body (work, not seconds: the count does not depend on load)."""
    reads = [body[i : i + 65536] for i in range(0, len(body), 65536)]

    async def stream() -> Any:
        for read in reads:
            yield read

    resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())
    count = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        asyncio.run(drain(resp))
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("shape", SHAPES)
def test_parsing_work_is_linear(shape: str) -> None:
    # 4x the input may take 4x the calls (plus a constant); quadratic work would take 16x.
    small = parse_calls(SHAPES[shape](MB // 4))
    large = parse_calls(SHAPES[shape](MB))
    assert large <= 4.5 * small + 2000, (shape, small, large)
