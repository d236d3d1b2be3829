"""Tests for the relay simulator, driven with plain httpx and raw sockets."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_API_KEY, RelaySimFactory
from tests.relay_sim import (
    CF_524,
    INVALID_TOKEN,
    MODEL_DENIED,
    MSG_NO_TOKEN,
    MSG_SATURATED,
    NO_CHANNEL,
    QUOTA_EXHAUSTED,
    SATURATED,
    TOKEN_EXPIRED,
    USER_QUOTA,
    RelaySim,
    Scenario,
)

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
TIMEOUT = httpx.Timeout(2.0)
REQUEST_ID = re.compile(r" \(request id: \d{22}\)$")
# One client for the module: building an httpx client (its SSL context) costs ~30 ms.
HTTP = httpx.Client(timeout=TIMEOUT)


def teardown_module() -> None:
    """Close the shared client."""
    HTTP.close()


def chat_body(stream: bool = True, **extra: Any) -> dict[str, Any]:
    """A minimal chat request."""
    body: dict[str, Any] = {
        "model": "gpt-4",
        "messages": [{"role": "user", "content": "Say hello, please."}],
        "stream": stream,
    }
    body.update(extra)
    return body


def post(sim: RelaySim, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    """POST to the simulator's chat endpoint and read the whole answer."""
    kw.setdefault("headers", AUTH)
    return HTTP.post(sim.chat_url, json=chat_body() if body is None else body, **kw)


def sse_data(raw: bytes) -> list[str]:
    """Parse SSE as a browser would: the data of each event, comments skipped."""
    events: list[str] = []
    data: list[str] = []
    for line in re.split(r"\r\n|\r|\n", raw.decode()):
        if not line:
            if data:
                events.append("\n".join(data))
            data = []
        elif line.startswith(":"):
            continue
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    return events


def sse_json(raw: bytes) -> list[Any]:
    """Event data decoded as JSON, [DONE] kept as a string."""
    return [d if d == "[DONE]" else json.loads(d) for d in sse_data(raw)]


def content_of(events: list[Any], key: str = "content") -> str:
    """Concatenate one delta field over all chunks."""
    out = []
    for ev in events:
        if isinstance(ev, dict) and ev.get("choices") and "delta" in ev["choices"][0]:
            out.append(ev["choices"][0]["delta"].get(key) or "")
    return "".join(out)


def raw_exchange(sim: RelaySim, body: dict[str, Any]) -> list[bytes]:
    """Send a request on a raw socket and return every recv() result until EOF."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {sim.prefix}/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{sim.port}\r\n"
        f"Authorization: Bearer {TEST_API_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reads: list[bytes] = []
    with socket.create_connection(("127.0.0.1", sim.port), timeout=2.0) as sock:
        sock.sendall(head + payload)
        for _ in range(10_000):
            data = sock.recv(65536)
            if not data:
                break
            reads.append(data)
    return reads


def http_chunks(raw: bytes) -> list[bytes]:
    """Payloads of the HTTP/1.1 chunks of a response (headers included in raw)."""
    body = raw.split(b"\r\n\r\n", 1)[1]
    out: list[bytes] = []
    for _ in range(100_000):
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return out
        out.append(body[:size])
        body = body[size + 2 :]
    raise AssertionError("unterminated chunked body")


# --------------------------------------------------------------------- lifecycle


def test_context_manager_and_urls() -> None:
    with RelaySim(prefix="api/blog/free/v1/", api_key=None) as sim:
        assert sim.origin == f"http://127.0.0.1:{sim.port}"
        assert sim.base_url == sim.origin + "/api/blog/free/v1"
        assert post(sim).status_code == 200
    with pytest.raises(httpx.ConnectError):
        HTTP.get(sim.origin + "/")


def test_many_simulators_do_not_leak_threads() -> None:
    before = threading.active_count()
    for _ in range(10):
        with RelaySim() as sim:
            sim.default = Scenario(hang_after=0)
            client = httpx.Client(timeout=TIMEOUT)
            resp = client.send(
                client.build_request(
                    "POST",
                    sim.chat_url,
                    json=chat_body(),
                    headers={"Authorization": "Bearer sk-test"},
                ),
                stream=True,
            )
            assert resp.status_code == 200
        client.close()
    assert threading.active_count() == before


def test_stop_is_prompt_with_hung_handlers(relay_sim_factory: RelaySimFactory) -> None:
    sim = relay_sim_factory()
    sim.default = Scenario(hang_after=1)
    clients = [httpx.Client(timeout=TIMEOUT) for _ in range(3)]
    readers = []  # kept referenced: a collected iterator closes its response
    for client in clients:
        req = client.build_request("POST", sim.chat_url, json=chat_body(), headers=AUTH)
        readers.append(client.send(req, stream=True).iter_raw())
        next(readers[-1])
    assert sim.wait_for_requests(3)
    # The handlers hang for ever: stop() must return anyway (bounded here, not timed).
    stopper = threading.Thread(target=sim.stop, daemon=True)
    stopper.start()
    stopper.join(30.0)
    assert not stopper.is_alive()
    for client in clients:
        client.close()
    records = sim.requests
    assert all(r.ended_at is not None and not r.client_disconnected for r in records)


def test_start_twice_is_an_error(relay_sim: RelaySim) -> None:
    with pytest.raises(RuntimeError):
        relay_sim.start()


# ------------------------------------------------------------------- routing


@pytest.mark.parametrize("prefix", ["/v1", "/api/blog/free/v1", ""])
def test_prefix_routing(relay_sim_factory: RelaySimFactory, prefix: str) -> None:
    sim = relay_sim_factory(prefix=prefix)
    assert post(sim).status_code == 200
    wrong = "/v1/v1/chat/completions" if prefix == "/v1" else "/v1/chat/completions"
    resp = HTTP.post(sim.origin + wrong, json=chat_body(), headers=AUTH)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == f"Invalid URL (POST {wrong})"


def test_get_on_chat_path_is_404(relay_sim: RelaySim) -> None:
    resp = HTTP.get(relay_sim.chat_url, headers=AUTH)
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "invalid_request_error"


# -------------------------------------------------------------- normal stream


def test_default_stream_is_well_formed(relay_sim: RelaySim) -> None:
    resp = post(relay_sim)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/event-stream"
    events = sse_json(resp.content)
    assert events[-1] == "[DONE]"
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert content_of(events) == Scenario().text
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(e["object"] == "chat.completion.chunk" for e in events[:-1])
    assert all(e["model"] == "gpt-4" for e in events[:-1])
    assert not any("usage" in e for e in events[:-1])  # usage "auto" and none asked
    assert resp.content.startswith(b"data: {")


def test_explicit_chunks_and_model_override(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(chunks=["你好", "，世界", "!"], model="gpt-4-0613")
    events = sse_json(post(relay_sim).content)
    pieces = [e["choices"][0]["delta"].get("content") for e in events[1:4]]
    assert pieces == ["你好", "，世界", "!"]
    assert events[1]["model"] == "gpt-4-0613"


def test_usage_auto_only_when_asked(relay_sim: RelaySim) -> None:
    asked = sse_json(post(relay_sim, chat_body(stream_options={"include_usage": True})).content)
    usage_chunk = asked[-2]
    assert usage_chunk["choices"] == []
    n_pieces = len(Scenario().pieces())
    prompt = len("Say hello, please.") // 4
    assert usage_chunk["usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": n_pieces,
        "total_tokens": prompt + n_pieces,
    }
    assert asked[-3]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(("mode", "expected"), [("always", True), ("never", False)])
def test_usage_always_and_never(relay_sim: RelaySim, mode: Any, expected: bool) -> None:
    relay_sim.default = Scenario(usage=mode, prompt_tokens=7, completion_tokens=3)
    body = chat_body() if mode == "always" else chat_body(stream_options={"include_usage": True})
    events = sse_json(post(relay_sim, body).content)
    has_usage = any("usage" in e for e in events[:-1])
    assert has_usage is expected
    if expected:
        assert events[-2]["usage"]["total_tokens"] == 10


def test_non_streamed_answer(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reasoning="think first")
    data = post(relay_sim, chat_body(stream=False)).json()
    assert data["object"] == "chat.completion"
    msg = data["choices"][0]["message"]
    assert msg["content"] == Scenario().text
    assert msg["reasoning_content"] == "think first"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["total_tokens"] > 0


def test_pace_and_first_byte_delay(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, pace=0.03, first_byte_delay=0.1)
    t0 = time.monotonic()
    post(relay_sim)
    elapsed = time.monotonic() - t0
    rec = relay_sim.requests[-1]
    assert rec.first_byte_at is not None
    assert rec.first_byte_at - rec.received_at >= 0.09
    # role + 4 pieces + finish + [DONE] = 7 events, 6 gaps
    assert elapsed >= 0.1 + 6 * 0.03 * 0.9


# ------------------------------------------------------------------- framing


@pytest.mark.parametrize("le", ["\n", "\r\n", "\r"])
def test_line_endings_on_the_wire(relay_sim: RelaySim, le: Any) -> None:
    relay_sim.default = Scenario(line_ending=le)
    raw = post(relay_sim).content
    blocks = raw.split((le + le).encode())
    assert blocks[-1] == b""
    assert all(b.startswith(b"data: ") for b in blocks[:-1])
    others = {"\n", "\r"} - set(le)
    assert not any(o.encode() in raw for o in others)
    assert content_of(sse_json(raw)) == Scenario().text


def test_no_space_after_data(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(space_after_data=False)
    raw = post(relay_sim).content
    assert raw.startswith(b"data:{")
    assert b"data: " not in raw
    assert b"data:[DONE]" in raw
    assert content_of(sse_json(raw)) == Scenario().text


def test_keepalive_comments(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(keepalive_comments=True, line_ending="\r\n")
    raw = post(relay_sim).content
    assert raw.count(b": PING\r\n\r\n") == len(sse_data(raw)) - 1
    assert content_of(sse_json(raw)) == Scenario().text


def test_multiline_data(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(multiline_data=True, text="多行 data")
    raw = post(relay_sim).content
    first_event = raw.split(b"\n\n")[0]
    assert first_event.count(b"data: ") > 3
    assert content_of(sse_json(raw)) == "多行 data"


def test_split_writes_arrive_in_several_reads(relay_sim: RelaySim) -> None:
    text = "€你好世界"
    relay_sim.default = Scenario(split_writes=True, split_pause=0.01, chunks=[text])
    reads = raw_exchange(relay_sim, chat_body())
    writes = http_chunks(b"".join(reads))
    assert content_of(sse_json(b"".join(writes))) == text
    # role, text, finish and [DONE] are each written in at least three pieces (one HTTP chunk
    # per write); the pauses between writes make them arrive in several reads, though a loaded
    # machine may merge a few, so only ask for more reads than events
    assert len(writes) >= 4 * 3
    assert len(reads) > 4

    def cut_inside_char(data: bytes) -> bool:
        try:
            data.decode()
        except UnicodeDecodeError:
            return True
        return False

    assert any(cut_inside_char(w) for w in writes)
    assert b"dat" in writes


def test_role_chunk_off_and_odd_chunks(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(
        role_chunk=False, empty_choices_chunk=True, missing_delta_chunk=True
    )
    events = sse_json(post(relay_sim).content)
    assert "role" not in events[0]["choices"][0]["delta"]
    assert any(e != "[DONE]" and e["choices"] == [] for e in events)
    assert any(e != "[DONE]" and e["choices"] and "delta" not in e["choices"][0] for e in events)
    assert content_of(events) == Scenario().text


def test_content_type_override(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(content_type="text/event-stream; charset=utf-8")
    assert post(relay_sim).headers["content-type"] == "text/event-stream; charset=utf-8"


# ------------------------------------------------------------------- endings


def test_empty_finish_reason(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(finish_reason="")
    events = sse_json(post(relay_sim).content)
    assert events[-2]["choices"][0]["finish_reason"] == ""


def test_truncated_answer_has_no_finish_but_done(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(finish_reason=None)
    events = sse_json(post(relay_sim).content)
    assert events[-1] == "[DONE]"
    assert all(e["choices"][0]["finish_reason"] is None for e in events[:-1])


def test_no_done(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(send_done=False)
    raw = post(relay_sim).content
    assert b"[DONE]" not in raw
    assert sse_json(raw)[-1]["choices"][0]["finish_reason"] == "stop"


# -------------------------------------------------------------- content forms


@pytest.mark.parametrize("with_index", [True, False])
def test_tool_calls(relay_sim: RelaySim, with_index: bool) -> None:
    args = '{"path": "a.py", "text": "x = 1"}'
    relay_sim.default = Scenario(
        as_tool_calls=True, text=args, tool_call_index=with_index, finish_reason="tool_calls"
    )
    events = sse_json(post(relay_sim).content)
    calls = [
        e["choices"][0]["delta"]["tool_calls"][0]
        for e in events[:-1]
        if "tool_calls" in e["choices"][0].get("delta", {})
    ]
    assert calls[0]["id"] and calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == "apply_edit"
    assert "".join(c["function"]["arguments"] for c in calls) == args
    assert all(("index" in c) is with_index for c in calls)
    assert content_of(events) == ""
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_content_comes_first(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reasoning="Let me think.", text="Answer.")
    events = sse_json(post(relay_sim).content)
    assert content_of(events, "reasoning_content") == "Let me think."
    assert content_of(events) == "Answer."
    kinds = [next(iter(e["choices"][0]["delta"])) for e in events[1:-2]]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning_content")


def test_think_tags_inside_content(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reasoning="Let me think.", text="Answer.", think_tags=True)
    events = sse_json(post(relay_sim).content)
    assert content_of(events) == "<think>Let me think.</think>Answer."
    assert content_of(events, "reasoning_content") == ""


# -------------------------------------------------------------------- errors


def test_error_helper_one_api_body(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(Scenario.error(401, "该令牌额度已用尽"))
    resp = post(relay_sim)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert err["type"] == "one_api_error"
    assert err["message"].startswith("该令牌额度已用尽 (request id: ")
    assert REQUEST_ID.search(err["message"])
    assert "该令牌".encode() in resp.content  # raw UTF-8, as Go writes it


def test_error_without_request_id_and_with_code(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(
        Scenario.error(400, "bad", type="new_api_error", code="x", one_api_request_id=False)
    )
    assert post(relay_sim).json() == {
        "error": {"message": "bad", "type": "new_api_error", "code": "x"}
    }


@pytest.mark.parametrize(
    ("scenario", "status", "needle"),
    [
        (QUOTA_EXHAUSTED, 401, "该令牌额度已用尽"),
        (TOKEN_EXPIRED, 401, "该令牌已过期"),
        (INVALID_TOKEN, 401, "无效的令牌"),
        (MODEL_DENIED, 403, "该令牌无权使用模型：gpt-4"),
        (USER_QUOTA, 403, "用户额度不足"),
        (SATURATED, 429, MSG_SATURATED),
        (NO_CHANNEL, 503, "对于模型 gpt-4 无可用渠道"),
    ],
)
def test_presets(relay_sim: RelaySim, scenario: Scenario, status: int, needle: str) -> None:
    relay_sim.enqueue(scenario)
    resp = post(relay_sim)
    assert resp.status_code == status
    assert needle in resp.json()["error"]["message"]
    if scenario is USER_QUOTA:
        assert resp.json()["error"]["code"] == "insufficient_user_quota"


def test_retry_after_header(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(SATURATED.replace(retry_after="3"))
    resp = post(relay_sim)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3"


def test_cloudflare_524_html(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(CF_524)
    resp = post(relay_sim)
    assert resp.status_code == 524
    assert resp.headers["content-type"].startswith("text/html")
    assert "Error code 524" in resp.text
    assert "A timeout occurred" in resp.text


def test_json_error_on_200(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(Scenario(json_error_on_200=True, error_message="upstream said no"))
    resp = post(relay_sim)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["error"]["message"].startswith("upstream said no")


def test_error_event_mid_stream(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(error_event_after=2, error_message="read: connection reset")
    events = sse_json(post(relay_sim).content)
    assert len(events) == 1 + 2 + 2  # role, two pieces, error, [DONE]
    assert events[3]["error"]["message"].startswith("read: connection reset")
    assert events[4] == "[DONE]"
    assert content_of(events[:3]) == Scenario().text[:8]


def test_drop_after_cuts_the_body(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(drop_after=2)
    got = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST", relay_sim.chat_url, json=chat_body(), headers=AUTH, timeout=TIMEOUT
        ) as resp,
    ):
        for part in resp.iter_raw():
            got += part
    assert content_of(sse_json(got)) == Scenario().text[:8]
    assert relay_sim.wait_for_disconnect() is not None
    rec = relay_sim.requests[-1]
    assert not rec.client_disconnected
    assert rec.chunks_sent == 3


def test_drop_with_reset(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(drop_after=1, drop_with_reset=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(relay_sim)


def test_drop_on_non_streamed_request(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(drop_after=0)
    with pytest.raises(httpx.RemoteProtocolError):
        post(relay_sim, chat_body(stream=False))


def test_hang_after_goes_silent(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(hang_after=1)
    got = b""
    with (
        pytest.raises(httpx.ReadTimeout),
        httpx.stream(
            "POST", relay_sim.chat_url, json=chat_body(), headers=AUTH, timeout=httpx.Timeout(0.3)
        ) as resp,
    ):
        for part in resp.iter_raw():
            got += part
    assert content_of(sse_json(got)) == Scenario().text[:4]
    # The handler hangs for ever: a disconnect seen at all is the client's close.
    assert relay_sim.wait_for_disconnect(timeout=10.0) is not None
    assert relay_sim.requests[-1].client_disconnected


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_stream_decodes_to_the_same_events(relay_sim: RelaySim, encoding: Any) -> None:
    relay_sim.default = Scenario(content_encoding=encoding)
    resp = post(relay_sim)
    assert resp.headers["content-encoding"] == encoding
    assert content_of(sse_json(resp.content)) == Scenario().text


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_endless_line_sends_its_size_then_goes_silent(relay_sim: RelaySim, encoding: Any) -> None:
    relay_sim.default = Scenario(endless_line=1024 * 1024, content_encoding=encoding)
    got = b""
    with (
        pytest.raises(httpx.ReadTimeout),
        httpx.stream(
            "POST", relay_sim.chat_url, json=chat_body(), headers=AUTH, timeout=httpx.Timeout(1)
        ) as resp,
    ):
        for part in resp.iter_bytes():
            got += part
    head, _, line = got.rpartition(b"\n\n")
    assert content_of(sse_json(head + b"\n\n")) == Scenario().text[:4]
    assert line.startswith(b'data: {"choices"') and line.endswith(b"a" * 1024 * 1024)
    assert relay_sim.wait_for_disconnect(timeout=2.0) is not None


def test_hang_seconds_bounds_the_hang(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(hang_after=0, hang_seconds=0.1)
    events = sse_json(post(relay_sim).content)
    assert len(events) == 1  # just the role chunk, then the stream ends


def test_hold_after_waits_for_the_release_then_sends_the_rest(relay_sim: RelaySim) -> None:
    """The stream stops after N pieces until the test says so, then ends normally."""
    release = threading.Event()
    relay_sim.default = Scenario(chunk_size=4, hold_after=2, release=release)
    got = b""
    with httpx.stream(
        "POST", relay_sim.chat_url, json=chat_body(), headers=AUTH, timeout=httpx.Timeout(10)
    ) as resp:
        parts = resp.iter_raw()
        while content_of(sse_json(got)) != Scenario().text[:8]:
            got += next(parts)  # the role chunk and two pieces (read timeout: 10 s)
        # Held: the request has not ended (bounded look; it would end at once without the hold).
        assert relay_sim.wait_for_disconnect(timeout=0.3) is None
        release.set()
        for part in parts:
            got += part
    assert content_of(sse_json(got)) == Scenario().text
    assert sse_data(got)[-1] == "[DONE]"


# ------------------------------------------------------------- request checks


def test_reject_system_role(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reject_system_role=True)
    with_system = chat_body(
        messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]
    )
    resp = post(relay_sim, with_system)
    assert resp.status_code == 400
    assert "system role is not supported" in resp.json()["error"]["message"]
    assert post(relay_sim).status_code == 200


def test_reject_developer_role(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reject_developer_role=True)
    resp = post(relay_sim, chat_body(messages=[{"role": "developer", "content": "x"}]))
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "messages[0].role"


def test_reject_stream_options(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reject_stream_options=True)
    resp = post(relay_sim, chat_body(stream_options={"include_usage": True}))
    assert resp.status_code == 400
    msg = resp.json()["error"]["message"]
    assert msg.startswith("Unrecognized request argument supplied: stream_options")
    assert post(relay_sim).status_code == 200


def test_reject_max_tokens(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(reject_max_tokens=True)
    resp = post(relay_sim, chat_body(max_tokens=10))
    assert resp.status_code == 400
    assert "Use 'max_completion_tokens' instead." in resp.json()["error"]["message"]
    assert post(relay_sim, chat_body(max_completion_tokens=10)).status_code == 200


def test_unparsable_body_is_400(relay_sim: RelaySim) -> None:
    resp = HTTP.post(relay_sim.chat_url, content=b"{nope", headers=AUTH)
    assert resp.status_code == 400


# ---------------------------------------------------------------------- auth


def test_auth_missing_and_wrong(relay_sim: RelaySim) -> None:
    missing = post(relay_sim, headers={})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith(MSG_NO_TOKEN)
    wrong = post(relay_sim, headers={"Authorization": "Bearer sk-nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == {
        "message": wrong.json()["error"]["message"],
        "type": "one_api_error",
    }
    assert wrong.json()["error"]["message"].startswith("无效的令牌 (request id: ")
    assert relay_sim.requests[-1].scenario is None  # a refused request uses no scenario


def test_no_auth_when_key_is_none(relay_sim_factory: RelaySimFactory) -> None:
    sim = relay_sim_factory(api_key=None)
    assert post(sim, headers={}).status_code == 200


# ---------------------------------------------------------- models and billing


def test_models(relay_sim: RelaySim) -> None:
    resp = HTTP.get(relay_sim.base_url + "/models", headers=AUTH)
    data = resp.json()
    assert data["object"] == "list"
    ids = [m["id"] for m in data["data"]]
    assert ids == ["gpt-3.5-turbo", "gpt-4", "gpt-4-1106-preview", "claude-3-opus-20240229"]
    assert all(m["object"] == "model" and m["owned_by"] for m in data["data"])
    assert HTTP.get(relay_sim.base_url + "/models").status_code == 401
    relay_sim.models = None
    assert HTTP.get(relay_sim.base_url + "/models", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("prefix", "bases"),
    [("/v1", ["", "/v1"]), ("/api/blog/free/v1", ["/api/blog/free", "/api/blog/free/v1"])],
)
def test_billing(relay_sim_factory: RelaySimFactory, prefix: str, bases: list[str]) -> None:
    sim = relay_sim_factory(prefix=prefix)
    sim.balance_usd, sim.used_usd = 7.5, 2.5
    for base in bases:
        url = sim.origin + base + "/dashboard/billing"
        sub = HTTP.get(url + "/subscription", headers=AUTH).json()
        assert sub["object"] == "billing_subscription"
        assert sub["hard_limit_usd"] == sub["soft_limit_usd"] == 10.0
        assert sub["access_until"] == 0 and sub["has_payment_method"] is True
        usage = HTTP.get(url + "/usage", headers=AUTH).json()
        assert usage == {"object": "list", "total_usage": 250.0}
    sim.billing_limit_mode = "remaining"
    sub = HTTP.get(sim.base_url + "/dashboard/billing/subscription", headers=AUTH)
    assert sub.json()["hard_limit_usd"] == 7.5
    sim.balance_usd = None
    for path in ("/subscription", "/usage"):
        url = sim.base_url + "/dashboard/billing" + path
        assert HTTP.get(url, headers=AUTH).status_code == 404


# ---------------------------------------------------------- disconnect timing


async def test_async_cancel_mid_stream_is_seen_before_the_stream_ends(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="x" * 400, chunk_size=1, pace=0.05)
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:

        async def consume() -> None:
            async with client.stream(
                "POST", relay_sim.chat_url, json=chat_body(), headers=AUTH
            ) as r:
                async for _ in r.aiter_raw():
                    pass

        task = asyncio.create_task(consume())
        for _ in range(200):  # wait until a few chunks went out
            await asyncio.sleep(0.01)
            recs = relay_sim.requests
            if recs and recs[-1].chunks_sent >= 3:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 10.0)
    assert ended is not None
    rec = relay_sim.requests[-1]
    assert rec.client_disconnected
    assert 3 <= rec.chunks_sent < 400  # seen long before the 20 s stream would have ended


def test_close_before_first_byte_is_seen(relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(first_byte_delay=30.0)
    with pytest.raises(httpx.ReadTimeout):
        post(relay_sim, timeout=httpx.Timeout(2.0, read=0.2))
    # The first byte is 30 s away: a disconnect seen before it is the client's close.
    assert relay_sim.wait_for_disconnect(timeout=10.0) is not None
    rec = relay_sim.requests[-1]
    assert rec.client_disconnected and rec.first_byte_at is None


def test_wait_for_disconnect_times_out(relay_sim: RelaySim) -> None:
    waiter = threading.Thread(
        target=lambda: results.append(relay_sim.wait_for_disconnect(timeout=0.05)), daemon=True
    )
    results: list[float | None] = []
    waiter.start()
    waiter.join(30.0)  # a wait that ignored its timeout would never end
    assert results == [None]


# ----------------------------------------------------------------- recording


def test_recording_and_queue(relay_sim: RelaySim) -> None:
    first, second = Scenario(text="one"), Scenario(text="two")
    relay_sim.enqueue(first, second)
    texts = [content_of(sse_json(post(relay_sim).content)) for _ in range(3)]
    assert texts == ["one", "two", Scenario().text]
    HTTP.get(relay_sim.base_url + "/models", headers=AUTH)
    for i in range(4):
        assert relay_sim.wait_for_disconnect(i) is not None
    recs = relay_sim.requests
    assert [r.index for r in recs] == [0, 1, 2, 3]
    assert [r.scenario for r in recs[:2]] == [first, second]
    assert recs[3].method == "GET" and recs[3].json is None and recs[3].scenario is None
    rec = recs[0]
    assert rec.method == "POST" and rec.path == "/v1/chat/completions"
    assert rec.headers["authorization"] == AUTH["Authorization"]
    assert rec.json == chat_body()
    assert rec.first_byte_at is not None and rec.ended_at is not None
    assert rec.received_at <= rec.first_byte_at <= rec.ended_at
    assert not rec.client_disconnected and rec.status == 200
    assert rec.chunks_sent == len(Scenario(text="one").pieces()) + 3  # role, finish, [DONE]


def test_reset(relay_sim: RelaySim) -> None:
    relay_sim.enqueue(QUOTA_EXHAUSTED)
    relay_sim.default = Scenario(text="changed")
    relay_sim.models = None
    post(relay_sim, headers={})
    relay_sim.reset()
    assert relay_sim.requests == [] and relay_sim.pending == 0
    assert content_of(sse_json(post(relay_sim).content)) == Scenario().text
    assert HTTP.get(relay_sim.base_url + "/models", headers=AUTH).status_code == 200


async def test_fixture_works_from_async_tests(relay_sim: RelaySim) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        resp = await client.post(relay_sim.chat_url, json=chat_body(), headers=AUTH)
    assert content_of(sse_json(resp.content)) == Scenario().text


def test_factory_makes_independent_sims(
    relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    backup = relay_sim_factory(name="backup")
    relay_sim.enqueue(CF_524)
    assert post(relay_sim).status_code == 524
    assert post(backup).status_code == 200
    assert backup.port != relay_sim.port


def test_cli_serves_until_ctrl_c() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tests.relay_sim", "--port", str(port), "--text", "hello"]
    # --duration bounds the process should the interrupt get lost
    cmd += ["--pace", "0", "--duration", "10"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert f"http://127.0.0.1:{port}/v1" in line
            resp = HTTP.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=chat_body())
            assert content_of(sse_json(resp.content)) == "hello"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(5.0) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_tokenized_scenarios_cut_text_like_a_tokenizer() -> None:
    from tests.relay_sim.scenario import split_tokens

    text = "def 面积(t):\n    width, height = t  # implementation\n\n```"
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert " width" in pieces and "\n   " in pieces and " 面积" in pieces
    assert max(len(p.strip()) for p in pieces) <= 6  # long words come in pieces
    assert Scenario.tokenized(text, pace=0.1).pieces() == pieces
