"""Relay client logic with an injected transport: request shape, adaptation, retries, failover."""

from __future__ import annotations

import json

import httpx
import pytest

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    RateLimitError,
    RelayConnectError,
    RelayProtocolError,
    RelayStatusError,
    RelayTimeout,
)
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import Finish, StreamEvent, TextDelta
from gpt_lsp.relay.folding import fold_system_messages
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import RelayConfig
from tests.fakes.relay import Recorder, SlowHost, client, error


def sse(*texts: str, finish: str = "stop") -> bytes:
    events = [{"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in texts]
    events.append({"choices": [{"delta": {}, "finish_reason": finish}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return body.encode()


def ok(*texts: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*texts))


REQUEST = ChatRequest(
    messages=[{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}],
    model="gpt-4",
)


async def collect(c: RelayClient, request: ChatRequest = REQUEST) -> list[StreamEvent]:
    return [event async for event in c.stream_chat(request)]


async def test_request_shape_auth_and_url() -> None:
    rec = Recorder(ok("Hel", "lo"))
    c, _ = client(rec, headers={"X-Extra": "1"})
    events = await collect(c, ChatRequest(REQUEST.messages, "gpt-4", temperature=0.2))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    assert events[-1] == Finish("stop")
    request = rec.requests[0]
    assert str(request.url) == "https://main.example/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-unit-key-000000"
    assert request.headers["x-extra"] == "1"
    body = rec.bodies()[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2
    assert "presence_penalty" not in body and "max_tokens" not in body
    await c.aclose()


async def test_stream_options_rejected_then_remembered() -> None:
    rec = Recorder(
        error(400, "Unrecognized request argument supplied: stream_options"), ok("a"), ok("b")
    )
    c, _ = client(rec)
    await collect(c)
    await collect(c)
    bodies = rec.bodies()
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1] and "stream_options" not in bodies[2]


async def test_system_role_rejected_is_folded_and_remembered() -> None:
    rec = Recorder(error(400, "system role is not supported"), ok("a"))
    c, _ = client(rec)
    await collect(c)
    assert rec.bodies()[1]["messages"] == [{"role": "user", "content": "rules\n\nhi"}]
    await collect(c)
    assert rec.bodies()[2]["messages"] == [{"role": "user", "content": "rules\n\nhi"}]


async def test_system_role_false_folds_from_the_start() -> None:
    rec = Recorder(ok("a"))
    c, _ = client(rec, systemRole=False)
    await collect(c)
    assert [m["role"] for m in rec.bodies()[0]["messages"]] == ["user"]  # type: ignore[index,union-attr]


async def test_max_tokens_renamed_when_rejected() -> None:
    rec = Recorder(
        error(400, "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead."),
        ok("a"),
    )
    c, _ = client(rec)
    await collect(c, ChatRequest(REQUEST.messages, "o1", max_tokens=50))
    assert rec.bodies()[1]["max_completion_tokens"] == 50
    assert "max_tokens" not in rec.bodies()[1]


async def test_429_honours_retry_after_then_gives_up() -> None:
    rec = Recorder(error(429, "当前分组上游负载已饱和，请稍后再试", **{"Retry-After": "3"}))
    c, sleeps = client(rec)
    with pytest.raises(RateLimitError) as info:
        await collect(c)
    assert len(rec.requests) == 3  # the first try and two retries
    assert sleeps == [3.0, 3.0]
    assert "当前分组上游负载已饱和" in info.value.user_message()


async def test_429_with_a_long_retry_after_is_not_waited() -> None:
    rec = Recorder(error(429, "slow down", **{"Retry-After": "120"}))
    c, sleeps = client(rec)
    with pytest.raises(RateLimitError):
        await collect(c)
    assert sleeps == [] and len(rec.requests) == 1


async def test_429_then_success() -> None:
    rec = Recorder(error(429, "busy"), ok("fine"))
    c, sleeps = client(rec)
    events = await collect(c)
    assert TextDelta("fine") in events
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 20


async def test_500_retried_once() -> None:
    rec = Recorder(error(500, "upstream"), error(500, "upstream again"))
    c, sleeps = client(rec)
    with pytest.raises(RelayStatusError, match="upstream again"):
        await collect(c)
    assert len(rec.requests) == 2 and len(sleeps) == 1


async def test_auth_error_is_not_retried() -> None:
    rec = Recorder(error(401, "无效的令牌 (request id: 1)"))
    c, sleeps = client(rec, backupUrls=["https://backup.example/v1"])
    with pytest.raises(AuthError):
        await collect(c)
    assert len(rec.requests) == 1 and sleeps == []


def cf_524(request: httpx.Request) -> httpx.Response:
    page = "<html><title>main.example | 524: A timeout occurred</title></html>"
    return httpx.Response(524, headers={"content-type": "text/html"}, text=page)


@pytest.mark.parametrize(
    "failure",
    [
        cf_524,
        httpx.ConnectError("refused"),
        lambda r: httpx.Response(200, headers={"content-type": "text/html"}, text="<html>x"),
        lambda r: httpx.Response(
            502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}
        ),
    ],
)
async def test_failover_to_backup_and_prefer_it(failure: object) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "main.example":
            if isinstance(failure, Exception):
                raise failure
            return failure(request)  # type: ignore[operator]
        return ok("from backup")

    rec = Recorder(route)
    c, _ = client(rec, backupUrls=["https://backup.example/v1"])
    events = await collect(c)
    assert TextDelta("from backup") in events
    assert [r.url.host for r in rec.requests] == ["main.example", "backup.example"]
    await collect(c)
    assert rec.requests[-1].url.host == "backup.example"  # the host that worked is kept
    assert c.current_url == "https://backup.example/v1"


async def test_all_hosts_fail_raises_the_last_error() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    c, _ = client(rec, backupUrls=["https://backup.example/v1"])
    with pytest.raises(RelayConnectError):
        await collect(c)
    assert len(rec.requests) == 2


async def test_no_retry_after_the_first_token() -> None:
    body = sse("one").replace(b'"finish_reason": "stop"', b'"finish_reason": null')
    rec = Recorder(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    c, _ = client(rec, backupUrls=["https://backup.example/v1"])
    seen: list[StreamEvent] = []
    with pytest.raises(Exception) as info:
        async for event in c.stream_chat(REQUEST):
            seen.append(event)
    assert TextDelta("one") in seen
    assert type(info.value).__name__ == "TruncatedAnswer"
    assert len(rec.requests) == 1


async def test_redirect_is_not_followed() -> None:
    rec = Recorder(httpx.Response(301, headers={"location": "https://evil.example/v1"}))
    c, _ = client(rec)
    with pytest.raises(RelayStatusError, match=r"redirects to https://evil\.example"):
        await collect(c)
    assert len(rec.requests) == 1


async def test_http_200_json_error_is_classified() -> None:
    rec = Recorder(httpx.Response(200, json={"error": {"message": "该令牌额度已用尽"}}))
    c, _ = client(rec)
    with pytest.raises(RelayStatusError) as info:
        await collect(c)
    assert type(info.value).__name__ == "QuotaError"


async def test_gateway_on_lone_host_524_not_retried() -> None:
    rec = Recorder(cf_524)
    c, sleeps = client(rec)
    with pytest.raises(GatewayError) as info:
        await collect(c)
    assert len(rec.requests) == 1 and sleeps == []
    assert "backupUrls" in info.value.user_message()


async def test_first_byte_timeout_fails_over() -> None:
    transport = SlowHost(ok("quick"), slow_host="main.example")
    relay = RelayConfig.model_validate(
        {
            "baseUrl": "https://main.example",
            "backupUrls": ["https://b.example"],
            "firstByteTimeout": 0.05,
        }
    )
    c = RelayClient("t", relay, "k" * 12, transport=transport)
    events = [e async for e in c.stream_chat(REQUEST)]
    assert TextDelta("quick") in events
    assert transport.hosts == ["main.example", "b.example"]


async def test_first_byte_timeout_on_lone_host() -> None:
    relay = RelayConfig.model_validate({"baseUrl": "https://m.example", "firstByteTimeout": 0.05})
    c = RelayClient("t", relay, "k" * 12, transport=SlowHost(ok("late")))
    with pytest.raises(RelayTimeout) as info:
        await collect(c)
    assert info.value.phase == "first_byte"


async def test_protocol_error_for_garbage() -> None:
    rec = Recorder(
        httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=b"data: nope\n\n"
        )
    )
    c, _ = client(rec)
    with pytest.raises(RelayProtocolError):
        await collect(c)


def test_fold_system_messages() -> None:
    assert fold_system_messages([{"role": "system", "content": "S"}]) == [
        {"role": "user", "content": "S"}
    ]
    assert fold_system_messages(
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "U"},
            {"role": "assistant", "content": "A"},
        ]
    ) == [{"role": "user", "content": "S\n\nU"}, {"role": "assistant", "content": "A"}]
