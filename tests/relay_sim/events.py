"""What one answer says: the chunks of a stream (chat or legacy /completions) and token usage."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from tests.relay_sim.scenario import RecordedRequest, Scenario


def prompt_chars(body: Any) -> int:
    """Characters of all message texts (or a legacy prompt and suffix), for the rough prompt
    token count."""
    if not isinstance(body, dict):
        return 0
    total = sum(len(body[key]) for key in ("prompt", "suffix") if isinstance(body.get(key), str))
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(
                len(part.get("text", ""))
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
    return total


def is_legacy(rec: RecordedRequest) -> bool:
    """True for a request to the legacy /completions endpoint."""
    return rec.path.endswith("/completions") and not rec.path.endswith(
        ("/chat/completions", "/fim/completions")
    )


def _as_text(choice: dict[str, Any]) -> dict[str, Any]:
    """A chat chunk's choice in the legacy shape: its content as `text`."""
    delta = choice.get("delta") or {}
    text = (delta.get("content") or "") if isinstance(delta, dict) else ""
    finish = choice.get("finish_reason")
    return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}


def usage_obj(sc: Scenario, body: dict[str, Any], n_pieces: int) -> dict[str, Any]:
    """Token counts: the scenario's or rough guesses."""
    prompt = sc.prompt_tokens if sc.prompt_tokens is not None else prompt_chars(body) // 4
    completion = sc.completion_tokens if sc.completion_tokens is not None else n_pieces
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def events(
    sc: Scenario, body: dict[str, Any], model: str, *, legacy: bool = False
) -> Iterator[tuple[str, Any]]:
    """(kind, payload) pairs of one stream; kind 'piece' marks content-bearing chunks.
    `legacy`: /completions chunks (`choices[0].text`), with no role chunk."""
    cid = f"{'cmpl' if legacy else 'chatcmpl'}-{random.getrandbits(64):016x}"
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        if legacy:
            choices = [_as_text(choice) for choice in choices]
        return {
            "id": cid,
            "object": "text_completion" if legacy else "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }

    def delta(d: dict[str, Any]) -> dict[str, Any]:
        return chunk([{"index": 0, "delta": d, "finish_reason": None}])

    pieces = sc.pieces()
    reasoning = sc.reasoning_pieces()
    if sc.role_chunk and not legacy:
        yield "role", delta({"role": "assistant", "content": ""})
    deltas: list[dict[str, Any]] = []
    if sc.think_tags and reasoning:
        deltas += [{"content": p} for p in ["<think>", *reasoning, "</think>"]]
    else:
        deltas += [{"reasoning_content": p} for p in reasoning]
    if sc.as_tool_calls:
        head: dict[str, Any] = {
            "id": "call_sim0001",
            "type": "function",
            "function": {"name": sc.tool_name, "arguments": ""},
        }
        calls = [head] + [{"function": {"arguments": p}} for p in pieces]
        for call in calls:
            if sc.tool_call_index:
                call = {"index": 0, **call}
            deltas.append({"tool_calls": [call]})
    else:
        deltas += [{"content": p} for p in pieces]
    for i, d in enumerate(deltas):
        yield "piece", delta(d)
        if i == 0 and sc.empty_choices_chunk:
            yield "extra", chunk([])
        if i == 0 and sc.missing_delta_chunk:
            yield "extra", chunk([{"index": 0, "finish_reason": None}])
    if sc.finish_reason is not None:
        yield "finish", chunk([{"index": 0, "delta": {}, "finish_reason": sc.finish_reason}])
    opts = body.get("stream_options")
    asked = isinstance(opts, dict) and bool(opts.get("include_usage"))
    if sc.usage == "always" or (sc.usage == "auto" and asked):
        yield "usage", chunk([], usage=usage_obj(sc, body, len(deltas)))
    if sc.send_done:
        yield "done", "[DONE]"
