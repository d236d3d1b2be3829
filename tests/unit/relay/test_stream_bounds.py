"""Streams stay bounded: lines and events past a limit, and bodies that inflate without end."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from gpt_lsp.errors import StreamTooLarge
from gpt_lsp.relay.events import TextDelta
from gpt_lsp.relay.framing import FrameTooLarge, SSEFramer
from gpt_lsp.relay.reads import PIECE, byte_chunks
from gpt_lsp.relay.stream import event_limit
from gpt_lsp.settings import Settings
from tests.fakes.relay import DONE, chunk, response
from tests.unit.relay.collect import collect, collect_until_error

ANSWER = b"".join(chunk({"content": f"w{i} "}) for i in range(50)) + chunk({}, "stop") + DONE


def test_a_line_that_never_ends_raises_once_past_the_limit() -> None:
    framer = SSEFramer(limit=100)
    assert framer.feed(b'data: {"choices": [') == []
    assert framer.feed(b"x" * 60) == []
    with pytest.raises(FrameTooLarge):
        framer.feed(b"x" * 60)


def test_a_long_line_inside_one_read_raises_too() -> None:
    with pytest.raises(FrameTooLarge):
        SSEFramer(limit=100).feed(b"data: " + b"x" * 200 + b"\n\n")


def test_an_event_of_many_short_lines_past_the_limit_raises() -> None:
    framer = SSEFramer(limit=100)
    for _ in range(10):
        assert framer.feed(b"data: " + b"y" * 10 + b"\n") == []
    with pytest.raises(FrameTooLarge):
        framer.feed(b"data: " + b"y" * 10 + b"\n")


def test_events_under_the_limit_pass_however_many() -> None:
    framer = SSEFramer(limit=100)
    for i in range(1000):
        assert framer.feed(b"data: " + b"z" * 90 + b"\n\n") == [("", "z" * 90)], i


def test_the_limit_follows_max_answer_chars_and_never_passes_a_few_mb() -> None:
    default = Settings().max_answer_chars
    assert 12 * default < event_limit(default) <= 4 * 1024 * 1024
    assert event_limit(10) < 100_000
    assert event_limit(10**9) == event_limit(None) == 4 * 1024 * 1024


async def test_an_endless_line_fails_the_stream_with_a_clear_message() -> None:
    head = chunk({"content": "x = "})
    endless = [head, b'data: {"choices": [{"delta": {"content": "'] + [b"a" * 65536] * 64
    events, error = await collect_until_error(response(endless))
    assert events == [TextDelta("x = ")]
    assert type(error) is StreamTooLarge
    text = error.user_message()
    assert "more than 4,194,304 characters" in text and "reading stopped" in text, text
    assert "broken stream" in text


async def test_a_job_sized_limit_stops_a_stream_sooner() -> None:
    endless = [b'data: {"choices": [{"delta": {"content": "'] + [b"a" * 1000] * 300
    stream = response(endless)
    with pytest.raises(StreamTooLarge, match="more than 77,536 characters"):
        await collect(stream, frame_limit=event_limit(1000))


def compressed(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "raw-deflate":
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(body) + packer.flush()
    return zlib.compress(body)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_streams_decode_a_bounded_piece_at_a_time(encoding: str) -> None:
    name = "deflate" if encoding == "raw-deflate" else encoding
    packed = compressed(ANSWER, encoding)
    reads = [packed[i : i + 7] for i in range(0, len(packed), 7)]
    events = await collect(response(reads, headers={"content-encoding": name}))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).startswith("w0 w1 ")

    bomb = compressed(b"\0" * (20 * 1024 * 1024), encoding)  # ~20 KB inflating to 20 MiB
    pieces = byte_chunks(response(bomb, headers={"content-encoding": name}))
    sizes = [len(piece) async for piece in pieces]
    assert sum(sizes) == 20 * 1024 * 1024
    assert max(sizes) <= PIECE


async def test_a_gzip_bomb_stream_fails_without_inflating_whole() -> None:
    line = b'data: {"choices": [{"delta": {"content": "' + b"a" * (64 * 1024 * 1024)
    bomb = gzip.compress(line)
    assert len(bomb) < 100_000  # one network read of it is 64 MiB of text
    stream = response([bomb[:65536], bomb[65536:]], headers={"content-encoding": "gzip"})
    with pytest.raises(StreamTooLarge):
        await collect(stream)


async def test_an_encoding_not_asked_for_is_an_error_not_text() -> None:
    stream = response(ANSWER, headers={"content-encoding": "br"})
    with pytest.raises(httpx.DecodingError, match="'br', which gpt-lsp did not ask for"):
        await collect(stream)


async def test_a_corrupt_gzip_body_is_a_decoding_error() -> None:
    stream = response(b"\x1f\x8b" + b"not gzip at all" * 10, headers={"content-encoding": "gzip"})
    with pytest.raises(httpx.DecodingError, match="gzip body is corrupt"):
        await collect(stream)
