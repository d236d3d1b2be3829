"""The relay simulator's endpoints: routing by method and path, the key check, /models and
one-api's billing endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.relay_sim.errors import error_response, json_response
from tests.relay_sim.scenario import MSG_INVALID_TOKEN, MSG_NO_TOKEN, RecordedRequest

if TYPE_CHECKING:
    from tests.relay_sim.server import RelaySim

# The fields Mistral's /fim/completions accepts (it forbids any other).
CODESTRAL_FIELDS = frozenset(
    {"model", "prompt", "suffix", "max_tokens", "min_tokens", "stream", "stop", "temperature"}
    | {"top_p", "random_seed"}
)


async def route(
    sim: RelaySim, request: web.Request, rec: RecordedRequest, body: Any
) -> web.StreamResponse:
    """Pick the endpoint by method and path."""
    path, method = request.path, request.method
    billing_bases = {sim.prefix.removesuffix("/v1")}
    billing_bases.add(sim.prefix.removesuffix("/v1") + "/v1")
    if method == "POST" and path == sim.prefix + "/chat/completions":
        return await sim._chat(request, rec, body)
    legacy = sim.fim is not None and sim.fim != "codestral"
    if method == "POST" and path == sim.prefix + "/completions" and legacy:
        return await sim._chat(request, rec, body)  # the same, in the legacy shape
    codestral = sim.fim == "codestral"
    if method == "POST" and path == sim.prefix + "/fim/completions" and codestral:
        if isinstance(body, dict) and (extra := sorted(set(body) - CODESTRAL_FIELDS)):
            message = f"Extra inputs are not permitted: {', '.join(extra)}"
            return error_response(422, message, code="extra_forbidden")
        return await sim._chat(request, rec, body)  # answered as chat completions are
    if method == "GET" and path == sim.prefix + "/models" and sim.models is not None:
        return authorised(sim, request) or _models(sim)
    for base in billing_bases:
        if method == "GET" and sim.balance_usd is not None:
            if path == base + "/dashboard/billing/subscription":
                return authorised(sim, request) or _subscription(sim)
            if path == base + "/dashboard/billing/usage":
                return authorised(sim, request) or _usage(sim)
    return json_response(
        {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": "",
                "code": "",
            }
        },
        status=404,
    )


def authorised(sim: RelaySim, request: web.Request) -> web.Response | None:
    """None when the key is right, else one-api's 401."""
    if sim.api_key is None:
        return None
    header = request.headers.get("Authorization")
    if not header:
        return error_response(401, MSG_NO_TOKEN)
    if header != f"Bearer {sim.api_key}":
        return error_response(401, MSG_INVALID_TOKEN)
    return None


def _models(sim: RelaySim) -> web.Response:
    """GET /models."""
    data = [
        {
            "id": m,
            "object": "model",
            "created": 1626777600,
            "owned_by": "anthropic" if m.startswith("claude") else "openai",
        }
        for m in sim.models or []
    ]
    return json_response({"object": "list", "data": data})


def _subscription(sim: RelaySim) -> web.Response:
    """one-api /dashboard/billing/subscription: the limit is remaining + used by default."""
    balance = sim.balance_usd or 0.0
    limit = balance + (sim.used_usd or 0.0) if sim.billing_limit_mode == "total" else balance
    return json_response(
        {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": limit,
            "hard_limit_usd": limit,
            "system_hard_limit_usd": limit,
            "access_until": 0,
        }
    )


def _usage(sim: RelaySim) -> web.Response:
    """one-api /dashboard/billing/usage: total_usage is USD x 100 (cents)."""
    return json_response({"object": "list", "total_usage": (sim.used_usd or 0.0) * 100})
