"""The relay simulator's answers to chat, legacy /completions (as its FIM mode says) and
Codestral requests: the scenario's refusal, error or answer, streamed or whole."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.relay_sim.errors import cf_page, error_response, json_response, scenario_error
from tests.relay_sim.events import is_legacy, usage_obj
from tests.relay_sim.routes import authorised
from tests.relay_sim.scenario import RecordedRequest, Scenario, split_tokens
from tests.relay_sim.stream import Dropped, drop, hang, stream

if TYPE_CHECKING:
    from tests.relay_sim.server import RelaySim


def _request_problem(sc: Scenario, body: dict[str, Any]) -> web.Response | None:
    """The 400 a limited relay would give this request, if any."""
    rid = sc.one_api_request_id
    roles = [m.get("role") for m in body.get("messages") or [] if isinstance(m, dict)]
    if sc.reject_system_role and "system" in roles:
        return error_response(
            400, "system role is not supported", type_="invalid_request_error", request_id=rid
        )
    if sc.reject_developer_role and "developer" in roles:
        i = roles.index("developer")
        return error_response(
            400,
            "Invalid value: 'developer'. Supported values are: 'system', 'assistant', "
            "'user', 'function', and 'tool'.",
            type_="invalid_request_error",
            param=f"messages[{i}].role",
            code="invalid_value",
            request_id=rid,
        )
    if sc.reject_stream_options and "stream_options" in body:
        return error_response(
            400,
            "Unrecognized request argument supplied: stream_options",
            type_="invalid_request_error",
            request_id=rid,
        )
    if sc.reject_max_tokens and "max_tokens" in body:
        return error_response(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            type_="invalid_request_error",
            param="max_tokens",
            code="unsupported_parameter",
            request_id=rid,
        )
    return None


async def chat(
    sim: RelaySim, request: web.Request, rec: RecordedRequest, body: Any
) -> web.StreamResponse:
    """POST /chat/completions (and /completions as `sim.fim` says)."""
    denied = authorised(sim, request)
    if denied is not None:
        return denied
    legacy = is_legacy(rec)
    if legacy and sim.fim == "reject_suffix" and isinstance(body, dict) and "suffix" in body:
        # Refused before any answer is chosen: the queued scenarios are the chat's.
        return error_response(
            400, "Unrecognized request argument supplied: suffix", type_="invalid_request_error"
        )
    sc = sim._next_scenario()
    if legacy and sim.fim == "drop_suffix" and isinstance(body, dict):
        # A model that never saw the suffix runs on into it (and to its token limit).
        suffix = str(body.get("suffix") or "")[:200]
        sc = sc.replace(chunks=[*sc.pieces(), *split_tokens(suffix)], finish_reason="length")
    sim._update(rec, scenario=sc)
    if not isinstance(body, dict):
        return error_response(400, "bind_request_body_failed", code="bind_request_body_failed")
    model = sc.model or str(body.get("model") or "gpt-3.5-turbo")
    if sc.first_byte_delay > 0:
        await asyncio.sleep(sc.first_byte_delay)
    if sc.redirect_to is not None:
        return web.Response(
            status=sc.redirect_status,
            headers={"Location": sc.redirect_to},
            text=f"Redirecting to {sc.redirect_to}",
        )
    if sc.html_status is not None:
        host = request.headers.get("Host", "127.0.0.1").split(":")[0]
        return web.Response(
            status=sc.html_status,
            text=cf_page(sc.html_status, host),
            content_type="text/html",
            charset="UTF-8",
            headers={"Server": "cloudflare", "CF-RAY": f"{random.getrandbits(64):016x}-LAX"},
        )
    problem = _request_problem(sc, body)
    if problem is not None:
        return problem
    if sc.status != 200:
        headers = {"Retry-After": sc.retry_after} if sc.retry_after is not None else None
        return json_response(
            {"error": scenario_error(sc, sc.status, model)},
            status=sc.status,
            headers=headers,
        )
    if sc.json_error_on_200:
        return json_response({"error": scenario_error(sc, 500, model)})
    if body.get("stream"):
        return await stream(sim, request, rec, sc, body, model)
    return await _complete(request, sc, body, model)


async def _complete(
    request: web.Request, sc: Scenario, body: dict[str, Any], model: str
) -> web.StreamResponse:
    """Non-streamed answer (stream false or absent)."""
    if sc.hang_after is not None:
        await hang(sc)
    if sc.drop_after is not None:
        resp = web.StreamResponse()
        drop(request, sc)
        raise Dropped(resp)
    pieces = sc.pieces()
    message: dict[str, Any] = {"role": "assistant", "content": sc.text}
    if sc.chunks is not None:
        message["content"] = "".join(sc.chunks)
    if sc.reasoning:
        if sc.think_tags:
            message["content"] = f"<think>{sc.reasoning}</think>" + message["content"]
        else:
            message["reasoning_content"] = sc.reasoning
    if sc.as_tool_calls:
        call: dict[str, Any] = {
            "id": "call_sim0001",
            "type": "function",
            "function": {"name": sc.tool_name, "arguments": message["content"]},
        }
        message["content"] = None
        message["tool_calls"] = [call]
    payload: dict[str, Any] = {
        "id": f"chatcmpl-{random.getrandbits(64):016x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": sc.finish_reason}],
    }
    if sc.usage != "never":
        n = len(pieces) + len(sc.reasoning_pieces())
        payload["usage"] = usage_obj(sc, body, n)
    return json_response(payload)
