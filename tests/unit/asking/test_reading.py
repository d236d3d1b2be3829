"""The one way to ask a relay (gpt_lsp/asking/reading.py): the answer read for a sink, billed,
and the stream closed once the sink has enough."""

from __future__ import annotations

import asyncio

import pytest

from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.errors import AnswerTooLong
from gpt_lsp.relay.events import Usage
from gpt_lsp.relay.request import ChatRequest
from tests.fakes.relay import DONE, GatedRelay, chunk, usage_event

REQUEST = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="gpt-4")


class Collect(Sink):
    """Keeps the text; has enough once it holds `enough` (and then opens the next part)."""

    def __init__(self, relay: GatedRelay | None = None, enough: str | None = None) -> None:
        self.relay = relay
        self.enough = enough
        self.texts: list[str] = []
        self.reads = 0

    def take(self, text: str) -> bool:
        self.texts.append(text)
        if self.relay is not None:
            for gate in self.relay.gates:
                gate.set()
        return self.enough is not None and self.enough in "".join(self.texts)

    def read(self) -> None:
        self.reads += 1


async def test_after_enough_only_the_usage_is_read_then_the_stream_closes() -> None:
    relay = GatedRelay(
        chunk({"content": "ab"}) + chunk({"content": "c"}),
        chunk({"content": "never shown"}, "stop") + usage_event(7, 30) + DONE,
    )
    reading = Reading(relay.client(), REQUEST, label="t")
    sink = Collect(relay, enough="abc")
    async with reading:
        await asyncio.wait_for(reading.read(sink, tail=5.0), 5)
    assert sink.texts == ["abc"]  # one network read, one piece of text
    assert reading.enough and reading.usage == Usage(7, 30) and reading.finish_reason == "stop"
    assert (reading.chars, reading.estimate) == (3, 2)  # what was not shown is not counted
    assert sink.reads == 2
    await asyncio.wait_for(relay.closed.wait(), 5)


async def test_without_a_tail_reading_stops_at_enough() -> None:
    relay = GatedRelay(chunk({"content": "abc"}), usage_event(7, 3) + DONE)
    reading = Reading(relay.client(), REQUEST, label="t")
    sink = Collect(enough="abc")  # opens no gate: the rest would never come
    await asyncio.wait_for(reading.read(sink), 5)
    assert reading.enough and reading.usage is None and sink.reads == 1
    await asyncio.wait_for(reading.aclose(), 5)
    await asyncio.wait_for(relay.closed.wait(), 5)


async def test_an_answer_past_its_limit_stops_where_it_passed() -> None:
    texts = [chunk({"content": piece}) for piece in ("abc", "def", "ghi")]
    relay = GatedRelay(b"".join(texts) + chunk({}, "stop") + DONE)
    reading = Reading(relay.client(), REQUEST, label="t", max_chars=5)
    sink = Collect()
    with pytest.raises(AnswerTooLong) as caught:
        async with reading:
            await asyncio.wait_for(reading.read(sink), 5)
    assert caught.value.limit == 5 and "maxAnswerChars (5)" in caught.value.user_message()
    assert sink.texts == [] and reading.chars == 6 and reading.estimate == 2


async def test_every_streamed_token_is_estimated_and_billed_without_usage() -> None:
    tool = {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    relay = GatedRelay(
        chunk({"reasoning_content": "think"})
        + chunk(tool)
        + chunk({"content": "x = 1"}, "stop")
        + DONE
    )
    reading = Reading(relay.client(), REQUEST, label="t")
    sink = Collect()
    async with reading:
        await asyncio.wait_for(reading.read(sink), 5)
    assert "".join(sink.texts) == "x = 1" and reading.chars == 5
    assert reading.billed(["12345678"]) == (Usage(2, 3), True)  # 1 + 1 + 1 chunk tokens
    assert not reading.enough and reading.finish_reason in ("stop", "tool_calls")


async def test_the_relays_usage_is_billed_as_sent() -> None:
    relay = GatedRelay(chunk({"content": "x"}, "stop") + usage_event(9, 4) + DONE)
    reading = Reading(relay.client(), REQUEST, label="t")
    async with reading:
        await asyncio.wait_for(reading.read(Collect()), 5)
    assert reading.billed(["a long prompt"]) == (Usage(9, 4), False)


async def test_cancelling_the_reader_closes_the_stream() -> None:
    relay = GatedRelay(chunk({"content": "a"}), DONE)  # the second part never comes
    reading = Reading(relay.client(), REQUEST, label="t")
    sink = Collect()

    async def read() -> None:
        async with reading:
            await reading.read(sink)

    task = asyncio.ensure_future(read())
    async with asyncio.timeout(5):
        while not sink.texts:  # noqa: ASYNC110 - the reader's own task fills it
            await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(relay.closed.wait(), 5)
    assert reading.opened and reading.chars == 1
