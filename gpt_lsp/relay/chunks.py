"""Chunk decoding: SSE data payloads of a chat-completions stream to typed events.

* Finish: `finish_reason` null, "null" or absent is no finish. `""` (Claude through one-api)
  is no finish either, but is remembered: a stream that ends with `[DONE]`, never sent a real
  reason, did send `""`, and produced text or tool calls counts as complete and gets a
  synthetic `Finish("stop")` (`Finish("tool_calls")` when it produced tool calls). Without
  `[DONE]`, or without any `""`, a stream with no reason is incomplete, even when `[DONE]`
  arrived (one-api writes it after upstream read errors). Only the first real reason is
  yielded; `Usage` may follow `Finish`, and repeats of identical usage are dropped.
* Non-JSON data: an empty payload or a keep-alive word (`ping`, `heartbeat`, ...) is skipped;
  anything else that is not a JSON object raises `RelayProtocolError` with a short excerpt.
* Errors: an `{"error": ...}` object as a data payload, or any data of an `event: error`,
  raises the classified relay error, whatever came before it.
* `[DONE]` sets `state.done`; anything decoded after it is ignored.
* Shapes: empty `choices`, a missing `delta` (or a whole `message`, or legacy `text`),
  `reasoning_content`/`reasoning` deltas, content as a list of text parts, tool-call deltas
  without `index` (an unseen id starts a new call, anything else continues the last one),
  arguments as an object, usage under OpenAI or Anthropic names, with zero usage ignored.
* Usage numbers are believed only as whole numbers from 0 to `MAX_TOKENS` (floats that are
  whole included): anything else (2**63, NaN, -5, "12k") makes that usage object count as
  missing, so the job's tokens are estimated; the log says so once per stream.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from gpt_lsp.errors import RelayProtocolError
from gpt_lsp.relay.bodies import error_fields, error_from_body, excerpt
from gpt_lsp.relay.classify import classify_status
from gpt_lsp.relay.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from gpt_lsp.relay.think import ThinkSplitter

__all__ = [
    "ChunkState",
    "decode_chunk",
    "decode_events",
    "decode_obj",
    "finish_stream",
]

_KEEPALIVE_WORDS: Final = frozenset({"ping", "pong", "keep-alive", "keepalive", "heartbeat"})
MAX_TOKENS: Final = 10**9
"""The most tokens one usage field may claim; a larger one is a broken or hostile relay."""

_DIGITS: Final = re.compile(r"[0-9]{1,12}")
_raw_decode: Final = json.JSONDecoder().raw_decode

log = logging.getLogger(__name__)


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
    bad_usage: str | None = None
    """Why a usage object was not believed (logged once)."""
    tool_ids: dict[int, str] = field(default_factory=dict)
    last_tool_index: int | None = None

    @property
    def complete(self) -> bool:
        """True once a finish_reason (real or by the "" rule) is known."""
        return self.finish_reason is not None


def decode_chunk(data: str, state: ChunkState) -> list[StreamEvent]:
    """Returns the events of one SSE data payload; sets state.done on `[DONE]`."""
    out: list[StreamEvent] = []
    _decode_payload(data, state, out)
    return out


def _decode_payload(data: str, state: ChunkState, out: list[StreamEvent]) -> None:
    """Appends the events of one SSE data payload to out (decode_chunk without a list each)."""
    if state.done:
        return
    state.payloads += 1
    text = data
    if text[:1] != "{":  # the usual JSON chunk skips these checks
        text = data.strip()
        if not text:
            return
        if text == "[DONE]":
            state.done = True
            return
        if len(text) <= 16 and text.lower() in _KEEPALIVE_WORDS:
            return
    try:
        obj, end = _raw_decode(text)  # json.loads less two calls and two regex matches
        if end != len(text) and text[end:].strip(" \t\n\r"):  # as json.loads
            raise ValueError("extra data")
    except (ValueError, RecursionError):
        raise RelayProtocolError(
            f"the relay sent a stream chunk that is not JSON: {excerpt(text)}",
            relay=state.relay,
            url=state.url,
        ) from None
    if not isinstance(obj, dict):
        raise RelayProtocolError(
            f"the relay sent a stream chunk that is not a JSON object: {excerpt(text)}",
            relay=state.relay,
            url=state.url,
        )
    _decode_obj(obj, state, out)


def finish_stream(state: ChunkState) -> list[StreamEvent]:
    """Returns the events owed at end of stream: held-back text, and Finish by the "" rule."""
    out: list[StreamEvent] = list(state.think.flush()) if state.think else []
    if out:
        state.saw_output = state.saw_output or any(isinstance(e, TextDelta) for e in out)
    if state.finish_reason is None and state.done and state.saw_empty_finish and state.saw_output:
        state.finish_reason = "tool_calls" if state.saw_tool_calls else "stop"
        out.append(Finish(state.finish_reason))
    return out


def decode_events(
    events: Iterable[tuple[str, str]], state: ChunkState, out: list[StreamEvent]
) -> None:
    """Appends the events of SSE (name, data) pairs to out, up to `[DONE]` or an error."""
    # Events decoded before an error stay in out: the caller hands them on, then raises.
    for name, data in events:
        if state.done:
            return
        if name == "error":
            # `event: error` is an error whatever its data; one shaped as a chunk is decoded
            # below, which classifies its error object.
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                obj = data
            if not (isinstance(obj, dict) and "error" in obj):
                raise error_from_body(200, data, relay=state.relay, url=state.url)
        _decode_payload(data, state, out)


def decode_obj(obj: dict[str, Any], state: ChunkState) -> list[StreamEvent]:
    """Returns the events of one parsed chunk (or non-streamed completion)."""
    out: list[StreamEvent] = []
    _decode_obj(obj, state, out)
    return out


def _decode_obj(obj: dict[str, Any], state: ChunkState, out: list[StreamEvent]) -> None:
    err = error_fields(obj) if "error" in obj else None
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
    choices = obj.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        _decode_choice(choices[0], state, out)
    if "usage" in obj:
        usage = _usage(obj["usage"], state)
        if usage is not None and usage != state.last_usage:
            state.last_usage = usage
            out.append(usage)


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
        if think is None or think.passing:  # past any leading <think> block: text as it is
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


def _usage(obj: Any, state: ChunkState) -> Usage | None:
    """Returns Usage from a usage object, tolerating missing and null fields; None when it
    says nothing, or says something no relay could mean."""
    if not isinstance(obj, dict):
        return None
    try:
        prompt = _count(obj, "prompt_tokens", "input_tokens")
        completion = _count(obj, "completion_tokens", "output_tokens")
        if completion is None:
            total = _count(obj, "total_tokens")
            if total is not None:
                completion = max(total - (prompt or 0), 0)
    except ValueError as exc:
        if state.bad_usage is None:
            state.bad_usage = str(exc)
            log.warning(
                "relay %s sent unusable usage (%s): its tokens are estimated instead",
                state.relay or "?",
                exc,
            )
        return None
    if not prompt and not completion:
        return None  # relays put zero/null usage on every chunk; it says nothing
    return Usage(prompt_tokens=prompt or 0, completion_tokens=completion or 0)


def _count(obj: dict[str, Any], *names: str) -> int | None:
    """Returns the first of the named token counts that is there (null is not there);
    raises ValueError naming one that is no count."""
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        number = _whole(value)
        if number is None or not 0 <= number <= MAX_TOKENS:
            raise ValueError(f"{name} = {excerpt(repr(value), 40)}")
        return number
    return None


def _whole(value: Any) -> int | None:
    """Returns a whole number from an int, a whole finite float or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return None
