"""Relays in process: stream bodies as a relay sends them, and httpx transports answering from a
script (no sockets; the relay simulator in tests/relay_sim is the one over a real socket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from gpt_lsp.relay.client import RelayClient
from gpt_lsp.settings import RelayConfig

URL = "https://relay.example/v1/chat/completions"
SSE = "text/event-stream"
DONE = b"data: [DONE]\n\n"


def sse(pieces: list[str], usage: tuple[int, int] | None = (12, 5)) -> list[bytes]:
    """An OpenAI-style stream: one chunk per piece, a finish, usage, [DONE]."""
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        chunks.append(
            {"choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}
        )
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [DONE]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    """Returns one `data:` event holding a chat.completion.chunk."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if delta is not None:
        choice["delta"] = delta
    obj = {"object": "chat.completion.chunk", "choices": [choice], **extra}
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


def data(obj: Any) -> bytes:
    """Returns one `data:` event holding `obj` as JSON."""
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


def usage_event(prompt: int, completion: int) -> bytes:
    """Returns the `data:` event with no choices that carries a stream's usage."""
    counts = {"prompt_tokens": prompt, "completion_tokens": completion}
    return data({"choices": [], "usage": counts})


class Chunks(httpx.AsyncByteStream):
    """A response body delivered as the given reads."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


class OpenAfterBody(httpx.AsyncByteStream):
    """A body whose connection stays open after its last read."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        await asyncio.Event().wait()


class Reads(httpx.AsyncByteStream):
    """A body delivered as the given reads, each after the event loop ran once."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            await asyncio.sleep(0)  # what a network read does: give the consumer its turn
            yield part


class Endless(httpx.AsyncByteStream):
    """A /models body that never ends; counts what was read."""

    def __init__(self, chunk: bytes = b" " * 65536, pause: float = 0.0) -> None:
        self.chunk = chunk
        self.pause = pause
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": ['
        while True:
            if self.pause:
                await asyncio.sleep(self.pause)
            self.sent += len(self.chunk)
            yield self.chunk


def response(
    body: bytes | list[bytes],
    *,
    status: int = 200,
    content_type: str | None = SSE,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Builds a streaming response from raw bytes or a list of reads."""
    all_headers = dict(headers or {})
    if content_type:
        all_headers["content-type"] = content_type
    parts = body if isinstance(body, list) else [body]
    return httpx.Response(
        status,
        headers=all_headers,
        stream=Chunks(parts),
        request=httpx.Request("POST", URL),
    )


def error_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A relay's error answer: JSON for a dict, else HTML or plain text as the body looks."""
    if isinstance(body, dict):
        raw = json.dumps(body, ensure_ascii=False).encode()
        ctype = "application/json"
    else:
        raw = body.encode()
        ctype = "text/html" if body.lstrip().startswith("<") else "text/plain"
    return response(raw, status=status, content_type=ctype, headers=headers)


def one_api(message: str) -> dict[str, Any]:
    """The error body one-api sends, with its request id."""
    return {"error": {"message": f"{message} (request id: 20240101abc)", "type": "one_api_error"}}


# A gateway's page in place of an answer (Cloudflare's timeout), as relays behind it send it.
CLOUDFLARE_524 = """<!DOCTYPE html>
<html lang="en-US"><head><title>relay.example | 524: A timeout occurred</title>
<style>body{color:red}</style><script>var x = "<b>";</script></head>
<body><div id="cf-wrapper"><h1><span>A timeout occurred</span>
<span class="code-label">Error code 524</span></h1>
<p>Visit <a href="https://www.cloudflare.com/">cloudflare.com</a> for more information.</p>
</div></body></html>"""


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A transport handler that answers from a script (a response, an error to raise, or a
    handler; the last answer repeats) and records the requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]


class SlowHost(httpx.AsyncBaseTransport):
    """Answers `answer`, after 5 s from `slow_host` (every host when None); records the hosts."""

    def __init__(self, answer: httpx.Response, slow_host: str | None = None) -> None:
        self.answer = answer
        self.slow_host = slow_host
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if self.slow_host is None or request.url.host == self.slow_host:
            await asyncio.sleep(5)
        return self.answer


class Relay:
    """An httpx transport answering chat completions from a script, and GET /models from
    `models` (a 404, as from a relay without the route, when None); records what it saw."""

    def __init__(self, models: list[str] | None = None) -> None:
        self.answers: list[list[bytes]] = []
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []  # the chat bodies
        self.closed_early = 0
        self.fail_next: int | None = None  # an HTTP status for the next request
        self.models = models
        self.model_gets = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/models"):
            self.model_gets += 1
            if self.models is None:
                return httpx.Response(404, json={"error": {"message": "Invalid URL"}})
            return httpx.Response(200, json={"data": [{"id": m} for m in self.models]})
        self.requests.append(json.loads(request.content))
        if self.fail_next is not None:
            status, self.fail_next = self.fail_next, None
            return httpx.Response(status, json={"error": {"message": "upstream error"}})
        body = self.answers.pop(0) if self.answers else sse(["x = 1\n"])
        return httpx.Response(200, headers={"content-type": SSE}, content=self._body(body))

    async def _body(self, chunks: list[bytes]) -> AsyncIterator[bytes]:
        sent = 0
        try:
            for part in chunks:
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield part
                sent += 1
        finally:
            if sent < len(chunks):
                self.closed_early += 1


class GatedRelay:
    """A relay whose body comes in parts: each part waits until the test opens its gate."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts
        self.gates = [asyncio.Event() for _ in parts]
        self.gates[0].set()
        self.closed = asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        try:
            for gate, part in zip(self.gates, self.parts, strict=True):
                await gate.wait()
                yield part
        finally:
            self.closed.set()  # the client closed the response (or read it whole)

    def client(self) -> RelayClient:
        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"content-type": SSE}, content=self.body())

        config = RelayConfig.model_validate({"baseUrl": "https://relay.example/v1"})
        return RelayClient(
            "test", config, "sk-unit-key-000000", transport=httpx.MockTransport(answer)
        )


def error(status: int, message: str, **headers: str) -> httpx.Response:
    """A one-api style JSON error answer."""
    body = {"error": {"message": message, "type": "one_api_error"}}
    return httpx.Response(status, json=body, headers=headers)


def client(recorder: Recorder, **config: object) -> tuple[RelayClient, list[float]]:
    """A relay client answered by `recorder`; its retry waits are recorded, not slept."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    relay = RelayConfig.model_validate({"baseUrl": "https://main.example/v1", **config})
    return (
        RelayClient(
            "test",
            relay,
            "sk-unit-key-000000",
            transport=httpx.MockTransport(recorder),
            sleep=sleep,
        ),
        sleeps,
    )
