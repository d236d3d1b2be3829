"""The request a caller's prompt becomes (gpt_lsp/asking/target.py): its parameters, and the
relay and model it goes to."""

from __future__ import annotations

from gpt_lsp.asking.target import Chat, Params, build, target
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import Settings


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
