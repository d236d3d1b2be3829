"""The one way to ask a relay (gpt_lsp/asking): the request built, the answer read for a sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.asking.target import Chat, Params, build, target
from gpt_lsp.errors import AnswerTooLong
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import Usage
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import RelayConfig, Settings

REQUEST = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="gpt-4")


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return f"data: {json.dumps({'choices': choices, **extra})}\n\n".encode()


DONE = b"data: [DONE]\n\n"


class Relay:
    """A relay whose body comes in parts: each part waits until the test opens its gate."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts
        self.gates = [asyncio.Event() for _ in parts]
        self.gates[0].set()
        self.closed = asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        try:
            for gate, part in zip(self.gates, self.parts, strict=True):
                await gate.wait()
                yield part
        finally:
            self.closed.set()  # the client closed the response (or read it whole)

    def client(self) -> RelayClient:
        def answer(request: httpx.Request) -> httpx.Response:
            headers = {"content-type": "text/event-stream"}
            return httpx.Response(200, headers=headers, content=self.body())

        config = RelayConfig.model_validate({"baseUrl": "https://relay.example/v1"})
        return RelayClient(
            "test", config, "sk-unit-key-000000", transport=httpx.MockTransport(answer)
        )


class Collect(Sink):
    """Keeps the text; has enough once it holds `enough` (and then opens the next part)."""

    def __init__(self, relay: Relay | None = None, enough: str | None = None) -> None:
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
    relay = Relay(
        chunk({"content": "ab"}) + chunk({"content": "c"}),
        chunk({"content": "never shown"}, "stop")
        + chunk(usage={"prompt_tokens": 7, "completion_tokens": 30})
        + DONE,
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
    relay = Relay(
        chunk({"content": "abc"}), chunk(usage={"prompt_tokens": 7, "completion_tokens": 3}) + DONE
    )
    reading = Reading(relay.client(), REQUEST, label="t")
    sink = Collect(enough="abc")  # opens no gate: the rest would never come
    await asyncio.wait_for(reading.read(sink), 5)
    assert reading.enough and reading.usage is None and sink.reads == 1
    await asyncio.wait_for(reading.aclose(), 5)
    await asyncio.wait_for(relay.closed.wait(), 5)


async def test_an_answer_past_its_limit_stops_where_it_passed() -> None:
    texts = [chunk({"content": piece}) for piece in ("abc", "def", "ghi")]
    relay = Relay(b"".join(texts) + chunk({}, "stop") + DONE)
    reading = Reading(relay.client(), REQUEST, label="t", max_chars=5)
    sink = Collect()
    with pytest.raises(AnswerTooLong) as caught:
        async with reading:
            await asyncio.wait_for(reading.read(sink), 5)
    assert caught.value.limit == 5 and "maxAnswerChars (5)" in caught.value.user_message()
    assert sink.texts == [] and reading.chars == 6 and reading.estimate == 2


async def test_every_streamed_token_is_estimated_and_billed_without_usage() -> None:
    tool = {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    relay = Relay(
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
    relay = Relay(
        chunk({"content": "x"}, "stop")
        + chunk(usage={"prompt_tokens": 9, "completion_tokens": 4})
        + DONE
    )
    reading = Reading(relay.client(), REQUEST, label="t")
    async with reading:
        await asyncio.wait_for(reading.read(Collect()), 5)
    assert reading.billed(["a long prompt"]) == (Usage(9, 4), False)


async def test_cancelling_the_reader_closes_the_stream() -> None:
    relay = Relay(chunk({"content": "a"}), DONE)  # the second part never comes
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


def test_a_chat_request_carries_the_parameters_given() -> None:
    shape = Chat([{"role": "user", "content": "hi"}])
    request = shape.request("m", Params(max_tokens=10, temperature=0.5))
    assert request == ChatRequest(shape.messages, "m", temperature=0.5, max_tokens=10)
    assert shape.sent() == ("hi",)


async def test_the_target_model_is_named_then_chosen_then_the_relays() -> None:
    settings = Settings.model_validate(
        {
            "relays": {
                "r": {
                    "baseUrl": "https://relay.example/v1",
                    "apiKey": "sk-unit-key-000000",
                    "model": "relay-model",
                    "prices": {"named": {"input": 1.0, "output": 2.0}},
                }
            }
        }
    )
    pool = RelayPool(settings, environ={})
    named = target(pool, settings, "r", "named")
    assert (named.relay, named.model, named.price) == (
        "r",
        "named",
        settings.relays["r"].prices["named"],
    )
    assert target(pool, settings).model == "relay-model"
    settings = settings.with_chosen_models({"r": "chosen"})
    where = target(pool, settings)
    assert (where.model, where.price) == ("chosen", None)
    request = build(where, Chat([{"role": "user", "content": "hi"}]), Params(), label="t")
    assert request.model == "chosen" and where.client is pool.get("r")
    await pool.aclose()
