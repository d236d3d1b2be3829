"""The stream parser (gpt_lsp/relay/stream.py, chunks.py): every wire quirk in docs/relays.md,
errors inside a 200, and split-read and batching properties. Error bodies: test_bodies.py."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    GptLspError,
    ModelDeniedError,
    QuotaError,
    RateLimitError,
    RelayProtocolError,
    RelayStatusError,
    TruncatedAnswer,
)
from gpt_lsp.relay.chunks import ChunkState, decode_chunk, finish_stream
from gpt_lsp.relay.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from gpt_lsp.relay.stream import iter_batches
from gpt_lsp.relay.think import ThinkSplitter
from tests.fakes.relay import (
    CLOUDFLARE_524,
    DONE,
    SSE,
    URL,
    OpenAfterBody,
    Reads,
    chunk,
    data,
    error_response,
    one_api,
    response,
)
from tests.unit.relay.collect import collect, collect_until_error, texts

# --- framing ---------------------------------------------------------------------------------


async def test_plain_stream_with_role_and_usage() -> None:
    body = (
        chunk({"role": "assistant", "content": ""})
        + chunk({"content": "Hel"})
        + chunk({"content": "lo"})
        + chunk({}, "stop")
        + data({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}})
        + DONE
    )
    assert await collect(response(body)) == [
        TextDelta("Hel"),
        TextDelta("lo"),
        Finish("stop"),
        Usage(5, 2),
    ]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
async def test_line_endings(eol: str) -> None:
    body = (chunk({"content": "a"}) + chunk({}, "stop") + DONE).decode()
    body = body.replace("\n", eol)
    assert await collect(response(body.encode())) == [TextDelta("a"), Finish("stop")]


async def test_comments_no_space_after_data_and_multiline_data() -> None:
    body = (
        b": PING\n\n"
        b'data:{"choices":[{"delta":{"content":"a"}}]}\n\n'
        b": PING\n"
        b"data: {\n"
        b'data: "choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    assert await collect(response(body)) == [TextDelta("a"), TextDelta("b"), Finish("stop")]


async def test_json_split_across_reads_and_utf8_split_inside_character() -> None:
    body = chunk({"content": "你好😀"}) + chunk({}, "stop") + DONE
    parts = [body[i : i + 1] for i in range(len(body))]
    assert await collect(response(parts)) == [TextDelta("你好😀"), Finish("stop")]


async def test_final_event_without_blank_line_is_not_dropped() -> None:
    body = chunk({"content": "a"}) + b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}'
    assert await collect(response(body)) == [TextDelta("a"), Finish("stop")]


async def test_final_event_cut_mid_json_is_truncation() -> None:
    body = chunk({"content": "a"}) + b'data: {"choices":[{"delta":{"cont'
    events, error = await collect_until_error(response(body))
    assert events == [TextDelta("a")]
    assert isinstance(error, TruncatedAnswer)


async def test_byte_order_mark_is_ignored() -> None:
    body = b"\xef\xbb\xbf" + chunk({"content": "a"}) + chunk({}, "stop")
    assert await collect(response(body)) == [TextDelta("a"), Finish("stop")]


async def test_events_after_done_are_ignored_and_not_read() -> None:
    body = [chunk({"content": "a"}, "stop") + DONE, chunk({"content": "late"}), b"garbage\n\n"]
    assert await collect(response(body)) == [TextDelta("a"), Finish("stop")]


async def test_sse_body_with_wrong_content_type_is_sniffed() -> None:
    body = chunk({"content": "a"}, "stop") + DONE
    assert await collect(response(body, content_type="text/plain")) == [
        TextDelta("a"),
        Finish("stop"),
    ]
    assert await collect(response(body, content_type=None)) == [TextDelta("a"), Finish("stop")]


async def test_sse_body_labelled_text_html_is_still_parsed() -> None:
    body = [b"da", b"ta: ", chunk({"content": "a"}, "stop")[6:], DONE]
    assert await collect(response(body, content_type="text/html; charset=utf-8")) == [
        TextDelta("a"),
        Finish("stop"),
    ]


# --- chunk shapes ----------------------------------------------------------------------------


async def test_empty_choices_and_missing_delta() -> None:
    body = (
        data({"choices": [], "prompt_filter_results": []})
        + data({"choices": [{"index": 0, "message": {"content": "from message"}}]})
        + data({"choices": [{"index": 0, "text": " and text"}]})
        + data({"choices": [{"index": 0, "finish_reason": "stop"}]})
        + DONE
    )
    assert await collect(response(body)) == [
        TextDelta("from message"),
        TextDelta(" and text"),
        Finish("stop"),
    ]


async def test_empty_finish_reason_is_not_a_finish() -> None:
    body = chunk({"content": "a"}, "") + chunk({"content": "b"}, "") + chunk({}, "stop") + DONE
    assert await collect(response(body)) == [TextDelta("a"), TextDelta("b"), Finish("stop")]


async def test_empty_finish_then_done_counts_as_complete() -> None:
    body = chunk({"content": "a"}, "") + chunk({"content": "b"}, "") + DONE
    assert await collect(response(body)) == [TextDelta("a"), TextDelta("b"), Finish("stop")]


async def test_empty_finish_without_done_is_truncated() -> None:
    body = chunk({"content": "a"}, "")
    events, error = await collect_until_error(response(body))
    assert events == [TextDelta("a")]
    assert isinstance(error, TruncatedAnswer)


async def test_no_finish_with_done_is_truncated() -> None:
    body = chunk({"content": "a"}) + DONE
    events, error = await collect_until_error(response(body))
    assert events == [TextDelta("a")]
    assert isinstance(error, TruncatedAnswer)
    assert "[DONE]" in str(error)


async def test_no_finish_without_done_is_truncated() -> None:
    events, error = await collect_until_error(response(chunk({"content": "a"})))
    assert events == [TextDelta("a")]
    assert isinstance(error, TruncatedAnswer)


async def test_empty_body_is_truncated() -> None:
    _, error = await collect_until_error(response(b""))
    assert isinstance(error, TruncatedAnswer)


async def test_keepalives_then_eof_is_truncated() -> None:
    _, error = await collect_until_error(response([b": PING\n\n", b": PING\r\n\r\n"]))
    assert isinstance(error, TruncatedAnswer)


async def test_only_one_finish_is_yielded() -> None:
    body = chunk({"content": "a"}, "stop") + chunk({}, "stop", usage={"prompt_tokens": 1}) + DONE
    assert await collect(response(body)) == [TextDelta("a"), Finish("stop"), Usage(1, 0)]


async def test_reasoning_content_deltas() -> None:
    body = chunk({"reasoning_content": "hmm"}) + chunk({"content": "ok"}, "stop") + DONE
    assert await collect(response(body)) == [ReasoningDelta("hmm"), TextDelta("ok"), Finish("stop")]


async def test_think_tags_in_content_split_across_chunks() -> None:
    pieces = ["<thi", "nk>plan", "</thi", "nk>\n\n", "code"]
    body = b"".join(chunk({"content": p}) for p in pieces) + chunk({}, "stop") + DONE
    events = await collect(response(body))
    assert texts(events) == "code"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "plan"
    assert events[-1] == Finish("stop")


async def test_think_tags_can_be_turned_off() -> None:
    body = chunk({"content": "<think>x</think>"}, "stop")
    assert texts(await collect(response(body), think_tags=False)) == "<think>x</think>"


async def test_partial_tag_is_released_before_finish() -> None:
    body = chunk({"content": "<th"}) + chunk({}, "stop")
    assert await collect(response(body)) == [TextDelta("<th"), Finish("stop")]


async def test_tool_calls_with_index() -> None:
    body = (
        chunk(
            {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]}
        )
        + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]})
        + chunk({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "g"}}]})
        + chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert await collect(response(body)) == [
        ToolCallDelta(0, "c1", "f", ""),
        ToolCallDelta(0, None, None, '{"a":'),
        ToolCallDelta(1, "c2", "g", ""),
        ToolCallDelta(0, None, None, "1}"),
        Finish("tool_calls"),
    ]


async def test_tool_calls_without_index_are_inferred() -> None:
    body = (
        chunk({"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}]})
        + chunk({"tool_calls": [{"function": {"arguments": "{}"}}]})
        + chunk({"tool_calls": [{"id": "c1", "function": {"arguments": ""}}]})  # id repeated
        + chunk({"tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": {"x": 1}}}]})
        + chunk({"tool_calls": [{"function": {"arguments": "more"}}]})
        + chunk({}, "tool_calls")
    )
    assert await collect(response(body)) == [
        ToolCallDelta(0, "c1", "f", ""),
        ToolCallDelta(0, None, None, "{}"),
        ToolCallDelta(0, "c1", None, ""),
        ToolCallDelta(1, "c2", "g", '{"x": 1}'),
        ToolCallDelta(1, None, None, "more"),
        Finish("tool_calls"),
    ]


async def test_tool_calls_with_empty_finish_rule() -> None:
    body = chunk({"tool_calls": [{"id": "c1", "function": {"name": "f"}}]}, "") + DONE
    assert (await collect(response(body)))[-1] == Finish("tool_calls")


def test_usage_tolerates_missing_and_null_fields() -> None:
    state = ChunkState()
    assert decode_chunk(json.dumps({"usage": None}), state) == []
    assert decode_chunk(json.dumps({"usage": {"prompt_tokens": None}}), state) == []
    zero = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert decode_chunk(json.dumps({"choices": [], "usage": zero}), state) == []
    usage = {"prompt_tokens": 3, "completion_tokens": None, "total_tokens": 10}
    assert decode_chunk(json.dumps({"usage": usage}), state) == [Usage(3, 7)]
    assert decode_chunk(json.dumps({"usage": usage}), state) == []  # repeated: dropped
    assert decode_chunk(json.dumps({"usage": {"completion_tokens": 4}}), state) == [Usage(0, 4)]


@pytest.mark.parametrize(
    "value",
    ["2**63", "10**30", "NaN", "Infinity", "-Infinity", "-5", "1e300", "12.5", '"12k"', "true"],
)
def test_usage_a_relay_cannot_mean_counts_as_missing(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    number = str(eval(value)) if "**" in value else value  # JSON has no **
    state = ChunkState(relay="hostile")
    for field in ("prompt_tokens", "completion_tokens", "total_tokens", "input_tokens"):
        data = f'{{"choices": [], "usage": {{"{field}": {number}}}}}'
        assert decode_chunk(data, state) == [], field
    good_and_bad = f'{{"usage": {{"prompt_tokens": {number}, "completion_tokens": 3}}}}'
    assert decode_chunk(good_and_bad, state) == []  # half a usage would lower the count
    assert state.bad_usage is not None
    assert [r.getMessage() for r in caplog.records] == [
        f"relay hostile sent unusable usage ({state.bad_usage}): its tokens are estimated instead"
    ]


def test_usage_as_whole_floats_and_digit_strings_is_believed() -> None:
    state = ChunkState()
    data = '{"usage": {"prompt_tokens": 12.0, "completion_tokens": "7"}}'
    assert decode_chunk(data, state) == [Usage(12, 7)]
    assert state.bad_usage is None


def test_decode_chunk_done_and_after() -> None:
    state = ChunkState()
    assert decode_chunk(" [DONE] ", state) == []
    assert state.done
    assert decode_chunk('{"choices":[{"delta":{"content":"x"}}]}', state) == []
    assert decode_chunk("not json at all", state) == []


def test_decode_chunk_role_only_and_null_finish() -> None:
    state = ChunkState()
    payload: dict[str, Any] = {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
    assert decode_chunk(json.dumps(payload), state) == []
    payload = {"choices": [{"delta": {}, "finish_reason": "null"}]}
    assert decode_chunk(json.dumps(payload), state) == []
    assert not state.complete


def test_finish_stream_applies_empty_finish_rule() -> None:
    state = ChunkState()
    decode_chunk(json.dumps({"choices": [{"delta": {"content": "a"}, "finish_reason": ""}]}), state)
    decode_chunk("[DONE]", state)
    assert finish_stream(state) == [Finish("stop")]
    assert state.complete


def test_keepalive_words_and_empty_payloads_are_skipped() -> None:
    state = ChunkState()
    for payload in ("", "  ", "ping", "PING", "heartbeat", "{}", '{"type":"ping"}'):
        assert decode_chunk(payload, state) == []


@pytest.mark.parametrize("payload", ['{"choices": [', "<html>", "hello world", "[1, 2]", "42"])
def test_invalid_json_raises_protocol_error_with_excerpt(payload: str) -> None:
    with pytest.raises(RelayProtocolError) as caught:
        decode_chunk(payload, ChunkState(relay="r", url=URL))
    assert payload[:5] in str(caught.value)
    assert caught.value.relay == "r"


async def test_invalid_json_mid_stream() -> None:
    body = chunk({"content": "a"}) + b"data: {oops\n\n" + chunk({}, "stop")
    events, error = await collect_until_error(response(body))
    assert events == [TextDelta("a")]
    assert isinstance(error, RelayProtocolError)
    assert "{oops" in str(error)


async def test_body_that_is_no_stream_is_protocol_error() -> None:
    _, error = await collect_until_error(response(b"Hello, this is not SSE\n"))
    assert isinstance(error, RelayProtocolError)
    assert "Hello" in str(error)


# --- errors inside a 200 ---------------------------------------------------------------------


async def test_error_event_mid_stream_after_text() -> None:
    error = {
        "error": {"message": "该令牌额度已用尽 (request id: 2024abc)", "type": "one_api_error"}
    }
    body = chunk({"content": "partial "}) + chunk({"content": "answer"}) + data(error) + DONE
    events, caught = await collect_until_error(response(body))
    assert events == [TextDelta("partial "), TextDelta("answer")]
    assert isinstance(caught, QuotaError)
    assert caught.status == 200
    assert caught.relay_message == "该令牌额度已用尽 (request id: 2024abc)"


def test_error_object_with_numeric_code_uses_it_as_status() -> None:
    payload = {"error": {"message": "slow down", "code": 429}}
    with pytest.raises(RateLimitError) as caught:
        decode_chunk(json.dumps(payload), ChunkState())
    assert caught.value.status == 429
    assert caught.value.code == "429"


def test_error_as_plain_string() -> None:
    with pytest.raises(RelayStatusError) as caught:
        decode_chunk(json.dumps({"error": "upstream exploded"}), ChunkState())
    assert caught.value.relay_message == "upstream exploded"


async def test_error_event_type() -> None:
    body = chunk({"content": "a"}) + 'event: error\ndata: {"message": "无可用渠道"}\n\n'.encode()
    events, caught = await collect_until_error(response(body))
    assert events == [TextDelta("a")]
    assert isinstance(caught, ModelDeniedError)


async def test_json_error_at_200() -> None:
    body = json.dumps(
        {"error": {"message": "无效的令牌 (request id: x1)", "type": "one_api_error", "code": ""}}
    ).encode()
    _, caught = await collect_until_error(response(body, content_type="application/json"))
    assert isinstance(caught, AuthError)
    assert caught.status == 200
    assert caught.relay_message == "无效的令牌 (request id: x1)"


async def test_non_streamed_completion_is_accepted() -> None:
    body = json.dumps(
        {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "whole answer"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        }
    ).encode()
    events = await collect(response(body, content_type="application/json; charset=utf-8"))
    assert events == [TextDelta("whole answer"), Finish("stop"), Usage(9, 2)]


async def test_json_that_is_no_completion_is_protocol_error() -> None:
    _, caught = await collect_until_error(
        response(b'{"data": []}', content_type="application/json")
    )
    assert isinstance(caught, RelayProtocolError)


@pytest.mark.parametrize("status", [200, 524])
async def test_html_gateway_page(status: int) -> None:
    resp = response(CLOUDFLARE_524.encode(), status=status, content_type="text/html")
    _, caught = await collect_until_error(resp)
    assert isinstance(caught, GatewayError)
    assert caught.status == status
    assert "524" in caught.relay_message
    assert "A timeout occurred" in caught.relay_message
    assert "<" not in caught.relay_message


async def test_html_body_in_event_stream_is_a_gateway_page() -> None:
    _, caught = await collect_until_error(response(CLOUDFLARE_524.encode()))
    assert isinstance(caught, GatewayError)


async def test_non_2xx_given_to_iter_events_raises_classified_error() -> None:
    resp = error_response(429, one_api("当前分组上游负载已饱和"), {"retry-after": "7"})
    _, caught = await collect_until_error(resp)
    assert isinstance(caught, RateLimitError)
    assert caught.retry_after == 7.0


# --- performance ------------------------------------------------------------------------------


async def test_three_thousand_chunks_in_small_reads() -> None:
    # How fast: `python -m bench --only parse` (a figure, never a failure).
    body = b"".join(chunk({"content": f"tok{i} "}) for i in range(3000)) + chunk({}, "stop") + DONE
    reads = [body[i : i + 512] for i in range(0, len(body), 512)]
    events = await collect(response(reads))
    assert len(events) == 3001
    assert texts(events) == "".join(f"tok{i} " for i in range(3000))


# --- property: any split of the bytes gives the same events ------------------------------------

_PIECES = st.lists(
    st.sampled_from(
        ["你好", "世界", "😀", "👩‍💻", "é", " ", "\n", "\r\n", "<think>", "x", "data: y"]
    )
    | st.text(max_size=6),
    min_size=1,
    max_size=8,
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Returns a valid stream and its content pieces, with random framing choices."""
    pieces = draw(_PIECES)
    objects: list[Any] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    objects += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    objects.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if draw(st.booleans()):
        objects.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    out: list[str] = []
    for obj in objects:
        eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        if draw(st.booleans()):
            out.append(": PING" + eol)
        space = draw(st.sampled_from(["", " "]))
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
        if draw(st.booleans()):
            # Multi-line data: the lines join with "\n", which JSON takes as whitespace.
            out.append(f"data:{space}{text[:1]}{eol}data:{space}{text[1:]}{eol}{eol}")
        else:
            out.append(f"data:{space}{text}{eol}{eol}")
    if draw(st.booleans()):
        out.append("data: [DONE]" + draw(st.sampled_from(["\n\n", "\r\n\r\n", "\r\r", ""])))
    return "".join(out).encode(), pieces


def run(parts: list[bytes], think_tags: bool = True) -> list[StreamEvent]:
    return asyncio.run(collect(response(parts), think_tags=think_tags))


@settings(max_examples=150, deadline=None)
@given(stream=streams(), data=st.data())
def test_any_split_of_the_bytes_gives_the_same_events(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    body, pieces = stream
    whole = run([body])
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    points = sorted({0, len(body), *cuts})
    parts = [body[a:b] for a, b in itertools.pairwise(points)]
    assert run(parts) == whole
    plain = run(parts, think_tags=False)
    assert texts(plain) == "".join(pieces)
    assert Finish("stop") in plain


@settings(max_examples=30, deadline=None)
@given(stream=streams())
def test_one_byte_reads_give_the_same_events(stream: tuple[bytes, list[str]]) -> None:
    body, _ = stream
    assert run([body[i : i + 1] for i in range(len(body))]) == run([body])


@pytest.mark.parametrize("ending", [b"\n\n", b"\r\n\r\n", b"\r\r"])
async def test_done_ends_the_stream_even_if_the_connection_stays_open(ending: bytes) -> None:
    body = chunk({"content": "a"}, "stop").replace(b"\n", ending[:1]) + b"data: [DONE]" + ending
    resp = httpx.Response(
        200, headers={"content-type": SSE}, stream=OpenAfterBody([body]), request=None
    )
    events = await asyncio.wait_for(collect(resp), timeout=2)
    assert events == [TextDelta("a"), Finish("stop")]


# --- property: batching the events of a read changes nothing -----------------------------------

_PAYLOADS = st.lists(
    st.one_of(
        st.builds(lambda t: {"choices": [{"index": 0, "delta": {"content": t}}]}, _PIECES),
        st.builds(
            lambda t: {"choices": [{"index": 0, "delta": {"reasoning_content": t}}]},
            st.text(max_size=4),
        ),
        st.builds(
            lambda a: {"choices": [{"delta": {"tool_calls": [{"function": {"arguments": a}}]}}]},
            st.text(max_size=4),
        ),
        st.sampled_from(
            [
                {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": ""}]},
                {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
                {"error": {"message": "upstream read failed", "code": 500}},
            ]
        ),
    ).map(lambda obj: json.dumps(obj, ensure_ascii=False))
    | st.sampled_from(["[DONE]", "ping", "not json"]),
    max_size=10,
)


@st.composite
def framed(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Returns an SSE body and the data payloads it carries, in order, with random framing."""
    payloads = draw(_PAYLOADS)
    out: list[str] = []
    for payload in payloads:
        eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        if draw(st.booleans()):
            out.append(": PING" + eol + eol)
        out.append(f"data:{draw(st.sampled_from(['', ' ']))}{payload}{eol}{eol}")
    return "".join(out).encode(), payloads


def decode_each(payloads: list[str], think_tags: bool) -> tuple[list[StreamEvent], str | None]:
    """Returns the events of payloads decoded one by one, and the name of the error raised."""
    state = ChunkState(relay="r", url=URL, think=ThinkSplitter() if think_tags else None)
    events: list[StreamEvent] = []
    try:
        for payload in payloads:
            events += decode_chunk(payload, state)
        events += finish_stream(state)
    except GptLspError as error:
        return events, type(error).__name__
    return events, None if state.complete else "TruncatedAnswer"


async def batches_of(
    parts: list[bytes], think_tags: bool
) -> tuple[list[list[StreamEvent]], str | None]:
    """Returns the batches iter_batches yields for these reads, and the name of its error."""
    resp = httpx.Response(200, headers={"content-type": SSE}, stream=Reads(parts), request=None)
    batches: list[list[StreamEvent]] = []
    try:
        async for batch in iter_batches(resp, relay="r", url=URL, think_tags=think_tags):
            batches.append(batch)
    except GptLspError as error:
        return batches, type(error).__name__
    return batches, None


@settings(max_examples=200, deadline=None)
@given(stream=framed(), think_tags=st.booleans(), data=st.data())
def test_batches_of_any_reads_flatten_to_the_per_event_decode(
    stream: tuple[bytes, list[str]], think_tags: bool, data: st.DataObject
) -> None:
    body, payloads = stream
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    points = sorted({0, len(body), *cuts})
    parts = [body[a:b] for a, b in itertools.pairwise(points)]
    batches, error = asyncio.run(batches_of(parts, think_tags))
    assert ([e for batch in batches for e in batch], error) == decode_each(payloads, think_tags)
    assert all(batches)
    assert len(batches) <= len(parts) + 1  # one per read, and one at the end of the body


async def test_the_events_of_one_read_come_as_one_batch() -> None:
    body = b"".join(chunk({"content": f"t{i}"}) for i in range(50)) + chunk({}, "stop") + DONE
    batches, error = await batches_of([body], think_tags=True)
    assert error is None
    assert [len(batch) for batch in batches] == [51]
