"""Streaming parser: turns a relay's chat-completions response into typed stream events.

Rules chosen for relay quirks (see /work/shared/RELAYS.md):

* Finish: `finish_reason` null, "null" or absent is no finish. `""` (Claude through one-api)
  is no finish either, but is remembered: a stream that ends with `[DONE]`, never sent a real
  reason, did send `""`, and produced text or tool calls counts as complete and gets a
  synthetic `Finish("stop")` (`Finish("tool_calls")` when it produced tool calls). Without
  `[DONE]`, or without any `""`, a stream with no reason raises `TruncatedAnswer`, even when
  `[DONE]` arrived (one-api writes it after upstream read errors). Only the first real reason
  is yielded; `Usage` may follow `Finish`, and repeats of identical usage are dropped.
* Non-JSON data: an empty payload or a keep-alive word (`ping`, `heartbeat`, ...) is skipped;
  anything else that is not a JSON object raises `RelayProtocolError` with a short excerpt.
  A last event cut off mid-JSON at end of body raises `TruncatedAnswer` instead.
* `[DONE]`: ends the stream; the body is not read any further (some relays keep the
  connection open after it), and `decode_chunk` ignores anything fed after it.
* Framing: lines split at LF, CRLF or CR (a CR ends its line at once), fields decoded by
  httpx-sse's SSEDecoder, a last event without its blank line still counts. The body is
  sniffed: a first non-blank `<` is an HTML gateway page, `{`/`[` a JSON body (error, or a
  whole completion from a relay that ignored stream:true), whatever the content type says.
* `<think>...</think>` inside `content` is reasoning only at the very start of the answer
  (leading whitespace allowed); newlines right after `</think>` are dropped.
"""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, cast

import httpx

# Private module of httpx-sse: safe because pyproject pins httpx-sse <0.5. We drive its
# field decoder ourselves because EventSource.aiter_sse() drops a final event that is not
# followed by a blank line, and insists on a text/event-stream content type.
from httpx_sse._decoders import SSEDecoder

from gpt_lsp.errors import (
    RelayProtocolError,
    RelayStatusError,
    TruncatedAnswer,
    classify_status,
)
from gpt_lsp.relay.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "ChunkState",
    "ThinkSplitter",
    "decode_chunk",
    "error_from_body",
    "finish_stream",
    "iter_events",
    "parse_retry_after",
    "read_error",
    "summarize_html",
]

_OPEN: Final = "<think>"
_CLOSE: Final = "</think>"
_KEEPALIVE_WORDS: Final = frozenset({"ping", "pong", "keep-alive", "keepalive", "heartbeat"})
_ERROR_BODY_LIMIT: Final = 64 * 1024
_JSON_BODY_LIMIT: Final = 8 * 1024 * 1024
_MESSAGE_LIMIT: Final = 2000
_HEAD_LIMIT: Final = 200

# ThinkSplitter modes.
_START, _THINK, _AFTER, _TEXT = range(4)

ContentEvent = TextDelta | ReasoningDelta


class ThinkSplitter:
    """Splits streamed `content` into answer text and a leading `<think>` reasoning block."""

    __slots__ = ("_mode", "_pending")

    def __init__(self) -> None:
        self._mode = _START
        # START: text seen so far (whitespace and a partial "<think>");
        # THINK: a held-back tail that may be the start of "</think>".
        self._pending = ""

    def feed(self, text: str) -> list[ContentEvent]:
        """Returns the events for one content delta; may hold back a possible partial tag."""
        if not text:
            return []
        mode = self._mode
        if mode == _TEXT:
            return [TextDelta(text)]
        if mode == _THINK:
            return self._think(text)
        if mode == _AFTER:
            return self._after(text)
        self._pending += text
        head = self._pending.lstrip()
        if not head or (len(head) < len(_OPEN) and _OPEN.startswith(head)):
            return []  # still could become "<think>"
        if head.startswith(_OPEN):
            self._mode = _THINK
            self._pending = ""
            return self._think(head[len(_OPEN) :])
        out, self._pending, self._mode = self._pending, "", _TEXT
        return [TextDelta(out)]

    def flush(self) -> list[ContentEvent]:
        """Returns held-back text at the end of the answer (an unclosed think stays reasoning)."""
        pending, self._pending = self._pending, ""
        if self._mode == _START:
            self._mode = _TEXT
            return [TextDelta(pending)] if pending else []
        if self._mode == _THINK and pending:
            return [ReasoningDelta(pending)]
        return []

    def _think(self, text: str) -> list[ContentEvent]:
        buf = self._pending + text if self._pending else text
        end = buf.find(_CLOSE)
        if end >= 0:
            self._pending = ""
            self._mode = _AFTER
            out: list[ContentEvent] = [ReasoningDelta(buf[:end])] if end else []
            out.extend(self._after(buf[end + len(_CLOSE) :]))
            return out
        keep = _partial_suffix(buf, _CLOSE)
        self._pending = buf[len(buf) - keep :] if keep else ""
        body = buf[: len(buf) - keep]
        return [ReasoningDelta(body)] if body else []

    def _after(self, text: str) -> list[ContentEvent]:
        # new-api and R1-style models put newlines between "</think>" and the answer.
        text = text.lstrip("\r\n")
        if not text:
            return []
        self._mode = _TEXT
        return [TextDelta(text)]


def _partial_suffix(buf: str, tag: str) -> int:
    """Returns the length of the longest end of buf that is a proper start of tag."""
    for size in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:size]):
            return size
    return 0


@dataclass(slots=True)
class ChunkState:
    """What the parser remembers between chunks of one stream."""

    relay: str = ""
    url: str = ""
    think: ThinkSplitter | None = field(default_factory=ThinkSplitter)
    done: bool = False
    """`[DONE]` arrived."""
    finish_reason: str | None = None
    """The first real finish_reason (or the synthetic one from the "" rule)."""
    saw_empty_finish: bool = False
    saw_output: bool = False
    """Text or tool calls were produced."""
    saw_tool_calls: bool = False
    payloads: int = 0
    """Data payloads decoded, keep-alives included."""
    last_usage: Usage | None = None
    tool_ids: dict[int, str] = field(default_factory=dict)
    last_tool_index: int | None = None

    @property
    def complete(self) -> bool:
        """True once a finish_reason (real or by the "" rule) is known."""
        return self.finish_reason is not None


def decode_chunk(data: str, state: ChunkState) -> list[StreamEvent]:
    """Returns the events of one SSE data payload; sets state.done on `[DONE]`."""
    if state.done:
        return []
    state.payloads += 1
    text = data
    if text[:1] != "{":  # the usual JSON chunk skips these checks
        text = data.strip()
        if not text:
            return []
        if text == "[DONE]":
            state.done = True
            return []
        if len(text) <= 16 and text.lower() in _KEEPALIVE_WORDS:
            return []
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise RelayProtocolError(
            f"the relay sent a stream chunk that is not JSON: {_excerpt(text)}",
            relay=state.relay,
            url=state.url,
        ) from None
    if not isinstance(obj, dict):
        raise RelayProtocolError(
            f"the relay sent a stream chunk that is not a JSON object: {_excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    return _decode_obj(obj, state)


def finish_stream(state: ChunkState) -> list[StreamEvent]:
    """Returns the events owed at end of stream: held-back text, and Finish by the "" rule."""
    out: list[StreamEvent] = list(state.think.flush()) if state.think else []
    if out:
        state.saw_output = state.saw_output or any(isinstance(e, TextDelta) for e in out)
    if state.finish_reason is None and state.done and state.saw_empty_finish and state.saw_output:
        state.finish_reason = "tool_calls" if state.saw_tool_calls else "stop"
        out.append(Finish(state.finish_reason))
    return out


def _decode_obj(obj: dict[str, Any], state: ChunkState) -> list[StreamEvent]:
    """Returns the events of one parsed chunk (or non-streamed completion)."""
    err = _error_fields(obj) if "error" in obj else None
    if err is not None:
        message, code, error_type, status = err
        raise classify_status(
            status or 200,
            message,
            relay=state.relay,
            url=state.url,
            code=code,
            error_type=error_type,
        )
    out: list[StreamEvent] = []
    choices = obj.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        _decode_choice(choices[0], state, out)
    usage = _usage(obj["usage"]) if "usage" in obj else None
    if usage is not None and usage != state.last_usage:
        state.last_usage = usage
        out.append(usage)
    return out


def _decode_choice(choice: dict[str, Any], state: ChunkState, out: list[StreamEvent]) -> None:
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        # Some relays send a whole `message`, or legacy `text`, instead of a delta.
        delta = choice.get("message")
        if not isinstance(delta, dict):
            text = choice.get("text")
            delta = {"content": text} if isinstance(text, str) else {}
    reasoning = delta.get("reasoning_content")
    if reasoning is None:
        reasoning = delta.get("reasoning")  # OpenRouter-style name
    if reasoning and isinstance(reasoning, str):
        out.append(ReasoningDelta(reasoning))
    content = delta.get("content")
    if content and not isinstance(content, str):
        content = _text_of(content)
    if content:
        think = state.think
        if think is None:
            out.append(TextDelta(content))
            state.saw_output = True
        else:
            pieces = think.feed(content)
            out.extend(pieces)
            if not state.saw_output and any(isinstance(p, TextDelta) for p in pieces):
                state.saw_output = True
    calls = delta.get("tool_calls")
    if calls and isinstance(calls, list):
        for call in calls:
            if isinstance(call, dict):
                event = _tool_call(call, state)
                if event is not None:
                    out.append(event)
    reason = choice.get("finish_reason")
    if reason == "":
        state.saw_empty_finish = True
    elif isinstance(reason, str) and reason != "null" and state.finish_reason is None:
        state.finish_reason = reason
        if state.think is not None:
            # The answer is over: release a held-back partial tag before Finish.
            pieces = state.think.flush()
            out.extend(pieces)
            if any(isinstance(p, TextDelta) for p in pieces):
                state.saw_output = True
        out.append(Finish(reason))


def _tool_call(call: dict[str, Any], state: ChunkState) -> ToolCallDelta | None:
    raw_id = call.get("id")
    call_id = raw_id if isinstance(raw_id, str) and raw_id else None
    index = call.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        # No index: an unseen id starts a new call; anything else continues the last one.
        last = state.last_tool_index
        if call_id is not None and (last is None or state.tool_ids.get(last) != call_id):
            index = max(state.tool_ids, default=-1) + 1
        else:
            index = last if last is not None else 0
    if call_id is not None or index not in state.tool_ids:
        state.tool_ids[index] = call_id or state.tool_ids.get(index, "")
    state.last_tool_index = index
    function = call.get("function")
    name: str | None = None
    arguments = ""
    if isinstance(function, dict):
        raw_name = function.get("name")
        name = raw_name if isinstance(raw_name, str) and raw_name else None
        raw_args = function.get("arguments")
        if isinstance(raw_args, str):
            arguments = raw_args
        elif raw_args is not None:
            # A few relays send arguments as an object rather than a JSON string.
            arguments = json.dumps(raw_args, ensure_ascii=False)
    if call_id is None and name is None and not arguments:
        return None
    state.saw_output = True
    state.saw_tool_calls = True
    return ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments)


def _text_of(content: Any) -> str:
    """Returns the text of a content field: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _usage(obj: Any) -> Usage | None:
    """Returns Usage from a usage object, tolerating missing and null fields."""
    if not isinstance(obj, dict):
        return None
    prompt = _as_int(obj.get("prompt_tokens"))
    if prompt is None:
        prompt = _as_int(obj.get("input_tokens"))
    completion = _as_int(obj.get("completion_tokens"))
    if completion is None:
        completion = _as_int(obj.get("output_tokens"))
    if completion is None:
        total = _as_int(obj.get("total_tokens"))
        if total is not None:
            completion = max(total - (prompt or 0), 0)
    if not prompt and not completion:
        return None  # relays put zero/null usage on every chunk; it says nothing
    return Usage(prompt_tokens=prompt or 0, completion_tokens=completion or 0)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _error_fields(obj: dict[str, Any]) -> tuple[str, str | None, str | None, int | None] | None:
    """Returns (message, code, type, numeric status) of an `{"error": ...}` object, if any."""
    err = obj.get("error")
    if isinstance(err, str) and err:
        err = {"message": err, "code": obj.get("code"), "type": obj.get("type")}
    if not isinstance(err, dict) or not err:
        return None
    raw_message = err.get("message")
    if isinstance(raw_message, str):
        message = raw_message
    elif raw_message is None:
        message = ""
    else:
        message = json.dumps(raw_message, ensure_ascii=False)
    if not message:
        message = json.dumps(err, ensure_ascii=False)
    raw_code = err.get("code")
    code = None if raw_code is None or raw_code == "" else str(raw_code)
    raw_type = err.get("type")
    error_type = raw_type if isinstance(raw_type, str) and raw_type else None
    status = None
    for candidate in (err.get("status"), err.get("status_code"), raw_code):
        number = _as_int(candidate)
        if number is not None and 100 <= number <= 599:
            status = number
            break
    return _clip(message), code, error_type, status


async def iter_events(
    response: httpx.Response,
    *,
    relay: str = "",
    url: str = "",
    think_tags: bool = True,
) -> AsyncGenerator[StreamEvent, None]:
    """Yields the events of a streamed chat-completions response; raises gpt_lsp.errors only."""
    url = url or _url_of(response)
    if not 200 <= response.status_code < 300:
        raise await read_error(response, relay, url)
    state = ChunkState(relay=relay, url=url, think=ThinkSplitter() if think_tags else None)
    chunks = _byte_chunks(response)
    async with aclosing(chunks):
        # Sniff the start of the body: relays mislabel bodies both ways (PHP proxies send
        # SSE as text/html, some relays send JSON or gateway pages as text/event-stream).
        prefix = b""
        async for chunk in chunks:
            prefix += chunk
            if len(prefix.lstrip()) >= 8:
                break
        start = prefix.lstrip()
        first = start[:1]
        sse_like = start.startswith((b"data:", b":", b"event:", b"id:", b"retry:"))
        if first == b"<" or (_media_type(response) == "text/html" and not sse_like):
            body = await _read_bounded(prefix, chunks, _ERROR_BODY_LIMIT)
            raise classify_status(
                response.status_code,
                summarize_html(_decode(body, response)),
                relay=relay,
                url=url,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                html=True,
            )
        if first in (b"{", b"["):
            body = await _read_bounded(prefix, chunks, _JSON_BODY_LIMIT + 1)
            for event in _completion_events(body, response, state):
                yield event
            return
        async for event in _sse_events(prefix, chunks, state):
            yield event


async def _sse_events(
    prefix: bytes, chunks: AsyncIterator[bytes], state: ChunkState
) -> AsyncIterator[StreamEvent]:
    """Yields events from an SSE body; stops reading at `[DONE]`."""
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    lines = _LineSplitter()
    sse = SSEDecoder()
    head = ""
    pending = [prefix] if prefix else []
    while True:
        if pending:
            chunk = pending.pop()
        else:
            next_chunk = await anext(chunks, None)
            if next_chunk is None:
                break
            chunk = next_chunk
        text = text_decoder.decode(chunk)
        if not text:
            continue
        if len(head) < _HEAD_LIMIT:
            head += text[:_HEAD_LIMIT]
        for line in lines.feed(text):
            event = sse.decode(line)
            if event is not None and event.data:
                for item in _event_items(event.event, event.data, state):
                    yield item
                if state.done:
                    break
        if state.done:
            break
    if not state.done:
        # End of body: finish a last line and a last event that lacks its blank line.
        tail = text_decoder.decode(b"", final=True)
        final_lines = lines.feed(tail) if tail else []
        final_lines += lines.flush()
        final_lines.append("")
        for number, line in enumerate(final_lines, 1):
            event = sse.decode(line)
            if event is None or not event.data or state.done:
                continue
            try:
                items = _event_items(event.event, event.data, state)
            except RelayProtocolError:
                if number < len(final_lines):
                    raise
                # An unterminated last event that is not JSON is a cut-off chunk.
                raise TruncatedAnswer(
                    "the stream ended in the middle of a chunk: the answer is incomplete",
                    relay=state.relay,
                    url=state.url,
                ) from None
            for item in items:
                yield item
    for item in finish_stream(state):
        yield item
    if not state.complete:
        raise _incomplete(state, head)


class _LineSplitter:
    """Splits text into SSE lines at LF, CRLF or CR, in O(read) per read."""

    __slots__ = ("_buffer", "_skip_lf")

    def __init__(self) -> None:
        self._buffer: list[str] = []
        self._skip_lf = False

    def feed(self, text: str) -> list[str]:
        """Returns the lines completed by text."""
        # Unlike httpx-sse's SSELineDecoder, a read ending in CR ends its line at once (an LF
        # starting the next read is then skipped): otherwise "data: [DONE]" CR CR would wait
        # for one more read, forever on relays that keep the connection open.
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if not text:
            return []
        if "\r" in text:
            self._skip_lf = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        rest = lines.pop()
        if lines and self._buffer:
            lines[0] = "".join(self._buffer) + lines[0]
            self._buffer = []
        if rest:
            self._buffer.append(rest)
        return lines

    def flush(self) -> list[str]:
        """Returns the unterminated last line, if any."""
        if not self._buffer:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        return [line]


def _event_items(name: str, data: str, state: ChunkState) -> list[StreamEvent]:
    """Returns the events of one SSE event, treating `event: error` data as an error."""
    if name == "error" and not state.done:
        try:
            obj = json.loads(data)
        except ValueError:
            obj = data
        if not (isinstance(obj, dict) and "error" in obj):
            raise error_from_body(200, data, relay=state.relay, url=state.url)
    return decode_chunk(data, state)


def _incomplete(state: ChunkState, head: str) -> Exception:
    """Returns the error for a body that ended without a finish."""
    # Keep-alive comments then EOF is a dropped answer; other text means no SSE at all.
    if state.payloads == 0 and any(
        line.strip() and not line.startswith(":") for line in head.splitlines()
    ):
        return RelayProtocolError(
            f"the relay's answer is not an event stream: {_excerpt(head)}",
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
    text = _decode(body, response)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise RelayProtocolError(
            f"the relay sent JSON that is not a chat completion: {_excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    err = _error_fields(obj)
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
            f"the relay sent JSON that is not a chat completion: {_excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    # The relay ignored stream:true; a whole completion is complete by construction.
    events = _decode_obj(obj, state)
    if state.think is not None:
        events.extend(state.think.flush())
    if state.finish_reason is None:
        state.finish_reason = "tool_calls" if state.saw_tool_calls else "stop"
        events.append(Finish(state.finish_reason))
    return events


async def read_error(response: httpx.Response, relay: str = "", url: str = "") -> RelayStatusError:
    """Reads a bounded part of an error response and returns the classified error."""
    url = url or _url_of(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    chunks = _byte_chunks(response)
    async with aclosing(chunks):
        body = await _read_bounded(b"", chunks, _ERROR_BODY_LIMIT)
    return error_from_body(
        response.status_code,
        _decode(body, response),
        is_html=_media_type(response) == "text/html",
        relay=relay,
        url=url,
        retry_after=retry_after,
    )


def error_from_body(
    status: int,
    body: str,
    *,
    is_html: bool = False,
    relay: str = "",
    url: str = "",
    retry_after: float | None = None,
) -> RelayStatusError:
    """Returns the classified error for an error body: JSON error object, HTML page or text."""
    stripped = body.strip()
    low = stripped[:1024].lower()
    if is_html or low.startswith("<!doctype html") or "<html" in low:
        return classify_status(
            status,
            summarize_html(stripped),
            relay=relay,
            url=url,
            retry_after=retry_after,
            html=True,
        )
    obj: Any = None
    if stripped[:1] in ("{", "["):
        try:
            obj = json.loads(stripped)
        except (ValueError, RecursionError):
            obj = None
    if isinstance(obj, dict):
        err = _error_fields(obj)
        if err is not None:
            message, code, error_type, code_status = err
            # The HTTP status wins unless it claims success.
            if 200 <= status < 300 and code_status:
                status = code_status
            return classify_status(
                status,
                message,
                relay=relay,
                url=url,
                code=code,
                error_type=error_type,
                retry_after=retry_after,
            )
        for key in ("message", "msg", "detail"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                code = obj.get("code")
                return classify_status(
                    status,
                    _clip(value),
                    relay=relay,
                    url=url,
                    code=None if code is None else str(code),
                    retry_after=retry_after,
                )
    return classify_status(
        status,
        _clip(" ".join(stripped.split()), 500),
        relay=relay,
        url=url,
        retry_after=retry_after,
    )


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SECONDS = re.compile(r"\d+(\.\d+)?")
_ERROR_CODE = re.compile(r"error code[:\s]*(\d{3,4})", re.IGNORECASE)


def summarize_html(page: str) -> str:
    """Returns a one-line summary of an HTML error page: its title and any error code."""
    page = page[:_ERROR_BODY_LIMIT]
    title = ""
    for pattern in (_TITLE, _H1):
        match = pattern.search(page)
        if match:
            title = _plain(match.group(1))
            if title:
                break
    text = _plain(_DROP.sub(" ", page))
    if not title:
        title = _clip(text, 120)
    parts = [title] if title else []
    code = _ERROR_CODE.search(text)
    if code and code.group(1) not in title:
        parts.append(f"Error code {code.group(1)}")
    if "cloudflare" in page.lower() and "cloudflare" not in title.lower():
        parts.append("(Cloudflare)")
    return "HTML page: " + " ".join(parts) if parts else "HTML page"


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Returns Retry-After in seconds from delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max((when - datetime.fromtimestamp(current, timezone.utc)).total_seconds(), 0.0)


def _byte_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """Returns the body's byte iterator, typed as the async generator it is (for aclosing)."""
    return cast(AsyncGenerator[bytes, None], response.aiter_bytes())


async def _read_bounded(prefix: bytes, chunks: AsyncIterator[bytes], limit: int) -> bytes:
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


def _decode(body: bytes, response: httpx.Response) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).partition(";")[0].strip().lower()


def _url_of(response: httpx.Response) -> str:
    try:
        return str(response.request.url)
    except RuntimeError:
        return ""


def _clip(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(_clip(" ".join(text.split()), limit))
