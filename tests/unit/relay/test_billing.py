"""Every body read from a relay is bounded: /models and the billing endpoints too."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from gpt_lsp.relay import billing
from gpt_lsp.relay.billing import fetch_balance, fetch_models
from tests.fakes.relay import Endless

BASE = "https://relay.example/v1"


def client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_models_list_is_read() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": "b"}, {"id": "a"}]})

    async with client(httpx.MockTransport(answer)) as http:
        assert await fetch_models(http, BASE) == ["a", "b"]


async def test_endless_models_body_is_dropped_at_the_limit() -> None:
    stream = Endless()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    async with client(httpx.MockTransport(answer)) as http:
        assert await fetch_models(http, BASE) is None
    assert stream.sent <= billing.MODELS_BODY_LIMIT + 65536


async def test_declared_oversize_body_is_not_read() -> None:
    stream = Endless()

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-length": str(billing.BILLING_BODY_LIMIT + 1)}
        return httpx.Response(200, headers=headers, stream=stream)

    async with client(httpx.MockTransport(answer)) as http:
        assert await fetch_balance(http, BASE) is None
    assert stream.sent == 0


async def test_compressed_body_counts_its_decoded_size() -> None:
    bomb = gzip.compress(b'{"hard_limit_usd": 1, "pad": "' + b"0" * (4 * 1024 * 1024) + b'"}')
    assert len(bomb) < billing.BILLING_BODY_LIMIT

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=bomb)

    async with client(httpx.MockTransport(answer)) as http:
        assert await fetch_balance(http, BASE) is None


async def test_slow_drip_body_hits_one_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(billing, "_EXTRAS_TIMEOUT", 0.3)
    stream = Endless(chunk=b" ", pause=0.05)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    # The body drips for ever: an answer at all is the deadline (bounded here, not timed).
    async with client(httpx.MockTransport(answer)) as http, asyncio.timeout(30):
        assert await fetch_models(http, BASE) is None


async def test_balance_is_read() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/subscription"):
            return httpx.Response(200, content=json.dumps({"hard_limit_usd": 10}).encode())
        return httpx.Response(200, json={"total_usage": 250})

    async with client(httpx.MockTransport(answer)) as http:
        balance = await fetch_balance(http, BASE)
    assert balance is not None and balance.remaining_usd == 7.5
