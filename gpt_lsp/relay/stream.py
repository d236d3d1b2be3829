"""Streaming parser: a relay's chat-completions response to batches of typed stream events.

* Sniffing: relays mislabel bodies both ways (PHP proxies send SSE as text/html, some relays
  send JSON or gateway pages as text/event-stream), so the start of the body decides: a first
  non-blank `<` is an HTML gateway page, `{`/`[` a JSON body (an error, or a whole completion
  from a relay that ignored stream:true, which is complete by construction), anything else
  SSE. A non-2xx response is an error whatever its body.
* Batches: the events of one network read come as one list; a batch is never empty. Events
  decoded before an error in the same read are yielded first, then the error is raised.
* `[DONE]` ends the stream: what follows is read briefly, for the connection's sake, and
  ignored (some relays keep the connection open after it).
* End of body: a last event cut off mid-JSON raises `TruncatedAnswer`; a body without a finish
  (see chunks.py) raises `TruncatedAnswer`, or `RelayProtocolError` if it held no SSE at all.
* Bounded: a line or event longer than `frame_limit` characters (a line that never ends, a
  decompression bomb) raises `StreamTooLarge` as soon as it is that long; `event_limit` sizes
  it for a job (never more than its maxAnswerChars allows). Whitespace before the first byte
  that decides is read up to a bound too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Final

import httpx

from gpt_lsp.errors import GptLspError, RelayProtocolError, StreamTooLarge, TruncatedAnswer
from gpt_lsp.i18n import _
from gpt_lsp.relay.bodies import (
    ERROR_BODY_LIMIT,
    decode_body,
    error_fields,
    excerpt,
    media_type,
    parse_retry_after,
    read_error,
    summarize_html,
    url_of,
)
from gpt_lsp.relay.chunks import ChunkState, decode_events, decode_obj, finish_stream
from gpt_lsp.relay.classify import classify_status
from gpt_lsp.relay.events import Finish, StreamEvent
from gpt_lsp.relay.framing import FRAME_LIMIT, FrameTooLarge, SSEFramer
from gpt_lsp.relay.reads import BodyReader
from gpt_lsp.relay.think import ThinkSplitter

__all__ = ["event_limit", "iter_batches", "iter_events"]

_JSON_BODY_LIMIT: Final = 8 * 1024 * 1024
_SSE_STARTS: Final = (b"data:", b":", b"event:", b"id:", b"retry:")
_SNIFF_LIMIT: Final = 64 * 1024
_ESCAPED: Final = 12
"""Characters one answer character may take in a chunk's JSON (an astral one as two \\u)."""
_ENVELOPE: Final = 64 * 1024


def event_limit(max_answer_chars: int | None) -> int:
    """Returns the longest line or event a stream may send for an answer of at most that many
    characters: all of them in one chunk, JSON-escaped, and the chunk around them."""
    if max_answer_chars is None:
        return FRAME_LIMIT
    return min(FRAME_LIMIT, _ESCAPED * max_answer_chars + _ENVELOPE)


async def iter_batches(
    response: httpx.Response,
    *,
    relay: str = "",
    url: str = "",
    think_tags: bool = True,
    frame_limit: int = FRAME_LIMIT,
) -> AsyncGenerator[list[StreamEvent], None]:
    """Yields the events of a streamed response, a network read at a time; raises gpt_lsp.errors."""
    url = url or url_of(response)
    if not 200 <= response.status_code < 300:
        raise await read_error(response, relay, url)
    state = ChunkState(relay=relay, url=url, think=ThinkSplitter() if think_tags else None)
    reader = BodyReader(response)
    ended = False
    try:
        prefix = b""
        while len(prefix.lstrip()) < 8 and len(prefix) < _SNIFF_LIMIT:
            data = await reader.read()
            if not data:
                break
            prefix += data
        start = prefix.lstrip()
        first = start[:1]
        if first == b"<" or (
            media_type(response) == "text/html" and not start.startswith(_SSE_STARTS)
        ):
            body = await _read_up_to(prefix, reader, ERROR_BODY_LIMIT)
            raise classify_status(
                response.status_code,
                summarize_html(decode_body(body, response)),
                relay=relay,
                url=url,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                html=True,
            )
        if first in (b"{", b"["):
            body = await _read_up_to(prefix, reader, _JSON_BODY_LIMIT + 1)
            events = _completion_events(body, response, state)
            ended = True
            if events:
                yield events
            return
        sse = _sse_batches(prefix, reader, state, frame_limit)
        async with aclosing(sse):
            async for batch in sse:
                yield batch
        ended = True
    finally:
        await reader.aclose(drain=ended)


async def iter_events(
    response: httpx.Response,
    *,
    relay: str = "",
    url: str = "",
    think_tags: bool = True,
    frame_limit: int = FRAME_LIMIT,
) -> AsyncGenerator[StreamEvent, None]:
    """Yields the events of a streamed response one by one (iter_batches, flattened)."""
    batches = iter_batches(
        response, relay=relay, url=url, think_tags=think_tags, frame_limit=frame_limit
    )
    async with aclosing(batches):
        async for batch in batches:
            for event in batch:
                yield event


async def _sse_batches(
    prefix: bytes, reader: BodyReader, state: ChunkState, limit: int
) -> AsyncGenerator[list[StreamEvent], None]:
    """Yields the events of an SSE body per read; stops reading at `[DONE]`."""
    framer = SSEFramer(limit)
    data = prefix
    while True:
        if data:
            out: list[StreamEvent] = []
            try:
                decode_events(_framed(framer, data, state), state, out)
            except GptLspError:
                if out:
                    yield out
                raise
            if out:
                yield out
            if state.done:
                break
        data = await reader.read()
        if not data:
            break
    out = []
    try:
        if not state.done:
            events, cut = framer.finish()
            decode_events(events, state, out)
            if cut is not None:
                try:
                    decode_events((cut,), state, out)
                except RelayProtocolError:
                    raise TruncatedAnswer(
                        "the stream ended in the middle of a chunk: the answer is incomplete",
                        relay=state.relay,
                        url=state.url,
                    ) from None
        out.extend(finish_stream(state))
    except GptLspError:
        if out:
            yield out
        raise
    if out:
        yield out
    if not state.complete:
        raise _incomplete(state, framer.head)


def _framed(framer: SSEFramer, data: bytes, state: ChunkState) -> list[tuple[str, str]]:
    """Returns the events data completes; a line or event past the limit is an error."""
    try:
        return framer.feed(data)
    except FrameTooLarge as exc:
        text = _(
            "the relay sent a stream line or event of more than {limit} characters "
            "(no answer needs one that long), so reading stopped"
        )
        raise StreamTooLarge(
            text.format(limit=f"{exc.limit:,}"), relay=state.relay, url=state.url
        ) from None


async def _read_up_to(prefix: bytes, reader: BodyReader, limit: int) -> bytes:
    """Returns prefix plus what follows, up to about limit bytes."""
    parts = [prefix]
    size = len(prefix)
    while size < limit:
        data = await reader.read()
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)[:limit]


def _incomplete(state: ChunkState, head: str) -> Exception:
    """Returns the error for a body that ended without a finish."""
    # Keep-alive comments then EOF is a dropped answer; other text means no SSE at all.
    if state.payloads == 0 and any(
        line.strip() and not line.startswith(":") for line in head.splitlines()
    ):
        return RelayProtocolError(
            f"the relay's answer is not an event stream: {excerpt(head)}",
            relay=state.relay,
            url=state.url,
        )
    how = "after [DONE]" if state.done else "without [DONE]"
    return TruncatedAnswer(
        f"the stream ended {how} but with no finish_reason: the answer is incomplete",
        relay=state.relay,
        url=state.url,
    )


def _completion_events(
    body: bytes, response: httpx.Response, state: ChunkState
) -> list[StreamEvent]:
    """Returns the events of a JSON body sent to a stream request (error or whole completion)."""
    if len(body) > _JSON_BODY_LIMIT:
        raise RelayProtocolError(
            "the relay sent an oversized JSON body instead of a stream",
            relay=state.relay,
            url=state.url,
        )
    text = decode_body(body, response)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise RelayProtocolError(
            f"the relay sent JSON that is not a chat completion: {excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    err = error_fields(obj)
    if err is not None:
        message, code, error_type, status = err
        raise classify_status(
            status or response.status_code,
            message,
            relay=state.relay,
            url=state.url,
            code=code,
            error_type=error_type,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if not isinstance(obj.get("choices"), list):
        raise RelayProtocolError(
            f"the relay sent JSON that is not a chat completion: {excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    events = decode_obj(obj, state)
    if state.think is not None:
        events.extend(state.think.flush())
    if state.finish_reason is None:
        state.finish_reason = "tool_calls" if state.saw_tool_calls else "stop"
        events.append(Finish(state.finish_reason))
    return events
