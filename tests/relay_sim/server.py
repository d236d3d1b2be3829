"""The relay simulator's HTTP server: RelaySim, run in its own thread and event loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import random
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from tests.relay_sim.scenario import (
    HANG_CAP,
    MSG_INVALID_TOKEN,
    MSG_MODEL_DENIED,
    MSG_NO_CHANNEL,
    MSG_NO_TOKEN,
    MSG_SATURATED,
    RecordedRequest,
    Scenario,
    split_tokens,
)

BillingLimitMode = Literal["total", "remaining"]
# How /completions (legacy, fill-in-the-middle with `suffix`) is served: "serve" keeps `suffix`
# (the scenario's text is the middle), "drop_suffix" answers as a model that never saw it
# (the text, then the suffix's start: one-api re-encoding the body), "reject_suffix" answers
# 400 naming the field (OpenAI's wording); "codestral" serves /fim/completions instead, as
# Mistral's API does (chat-completion chunks; a field its schema does not know answers 422);
# None serves no such endpoint (404 Invalid URL).
FimMode = Literal["serve", "drop_suffix", "reject_suffix", "codestral"]
# The fields Mistral's /fim/completions accepts (it forbids any other).
CODESTRAL_FIELDS = frozenset(
    {"model", "prompt", "suffix", "max_tokens", "min_tokens", "stream", "stop", "temperature"}
    | {"top_p", "random_seed"}
)

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-1106-preview",
    "claude-3-opus-20240229",
)

# Cloudflare's wording for the 5xx pages it generates itself (the origin never answered).
_CF_TITLES: dict[int, str] = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway time-out",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}

# Used when a scenario fails without saying how; mirrors what relays typically say.
_DEFAULT_ERRORS: dict[int, str] = {
    400: "Bad request",
    401: MSG_INVALID_TOKEN,
    403: MSG_MODEL_DENIED,
    404: "Invalid URL",
    429: MSG_SATURATED,
    500: "upstream error: do request failed",
    502: "bad response status code 502",
    503: MSG_NO_CHANNEL,
}

# Go's encoding/json (one-api, new-api) writes non-ASCII as raw UTF-8, not \\u escapes.
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON response the way Go relays encode it."""
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def _request_id() -> str:
    """one-api request id: local timestamp plus eight random digits."""
    return time.strftime("%Y%m%d%H%M%S") + f"{random.randrange(10**8):08d}"


def _prompt_chars(body: Any) -> int:
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


def _legacy(rec: RecordedRequest) -> bool:
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


def _peer_port(request: web.Request) -> int | None:
    """The client's port of the connection a request came on."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None


def _cf_page(status: int, host: str) -> str:
    """A Cloudflare-style HTML error page."""
    title = _CF_TITLES.get(status, "Error")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en-US"><head><title>{host} | {status}: {title}</title>'
        '<meta charset="UTF-8" /></head><body><div id="cf-wrapper">'
        f'<h1><span class="cf-error-type">Error code {status}</span></h1>'
        f'<h2 class="cf-subheadline">{title}</h2>'
        '<p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> '
        "for more information.</p>"
        f'<span class="cf-footer-item">Cloudflare Ray ID: <strong>{random.getrandbits(64):016x}'
        "</strong></span></div></body></html>\n"
    )


class _Body:
    """A stream's body writer: compresses each write (and flushes it) when the scenario asks."""

    def __init__(self, resp: web.StreamResponse, encoding: str | None) -> None:
        self.resp = resp
        self._packer = None
        if encoding is not None:
            wbits = 31 if encoding == "gzip" else 15  # gzip header, or zlib's
            self._packer = zlib.compressobj(6, zlib.DEFLATED, wbits)

    async def write(self, data: bytes) -> None:
        """Writes data, compressed and flushed so that it reaches the client now."""
        if self._packer is not None:
            data = self._packer.compress(data) + self._packer.flush(zlib.Z_SYNC_FLUSH)
        await self.resp.write(data)

    async def end(self) -> None:
        """Writes the compressed stream's end."""
        if self._packer is not None:
            await self.resp.write(self._packer.flush())


class _Dropped(Exception):
    """The scenario cut the connection; carries the response to hand back to aiohttp."""

    def __init__(self, response: web.StreamResponse) -> None:
        """Keep the response."""
        super().__init__("connection dropped by scenario")
        self.response = response


class RelaySim:
    """A chat-completions relay served from its own thread and event loop on 127.0.0.1."""

    def __init__(
        self,
        prefix: str = "/v1",
        api_key: str | None = "sk-test",
        name: str = "primary",
        *,
        port: int = 0,
    ) -> None:
        """Configure; nothing listens until start()."""
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.api_key = api_key
        self.name = name
        self.default = Scenario()
        self.models: list[str] | None = list(DEFAULT_MODELS)
        self.fim: FimMode | None = None  # /completions: none, as a chat-only relay
        self.balance_usd: float | None = 10.0
        self.used_usd: float | None = 2.5
        self.billing_limit_mode: BillingLimitMode = "total"
        self._port = port
        self._queue: deque[Scenario] = deque()
        self._records: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_errors: list[BaseException] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> RelaySim:
        """Bind 127.0.0.1 and serve from a background thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("RelaySim already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        self._stopping = False
        self._ready.clear()
        self._startup_errors.clear()
        self._thread = threading.Thread(
            target=self._thread_main, args=(sock,), name=f"relay-sim-{self.name}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError("relay simulator did not start within 10 s")
        if self._startup_errors:
            self._thread.join(5.0)
            self._thread = None
            raise RuntimeError("relay simulator failed to start") from self._startup_errors[0]
        return self

    def stop(self) -> None:
        """Stop serving, cancelling in-flight handlers (hung ones too); idempotent."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        self._stopping = True
        if loop is not None and stop_event is not None and not loop.is_closed():
            # The loop may already be gone if the thread died; that is fine.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(10.0)
        if thread.is_alive():
            raise RuntimeError("relay simulator thread did not stop within 10 s")
        self._thread = None
        self._loop = None
        self._stop_event = None

    def __enter__(self) -> RelaySim:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a with-block."""
        self.stop()

    def _thread_main(self, sock: socket.socket) -> None:
        """Own event loop for the server; asyncio.run closes it and its tasks."""
        try:
            asyncio.run(self._serve(sock))
        except BaseException as exc:
            if self._ready.is_set():
                raise
            self._startup_errors.append(exc)  # reported by start()
            self._ready.set()
        finally:
            sock.close()

    async def _serve(self, sock: socket.socket) -> None:
        """Run the aiohttp app until stop() is called."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a client closing the socket cancels its handler at once, which
        # is how a disconnect is noticed while the handler sleeps between chunks.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await runner.setup()
        try:
            site = web.SockSite(runner, sock)
            await site.start()
            self._ready.set()
            await self._stop_event.wait()
            for task in list(self._handlers):
                task.cancel()
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=2.0)
        finally:
            await runner.cleanup()

    # ---------------------------------------------------------------- public API

    @property
    def port(self) -> int:
        """The TCP port (known once started)."""
        return self._port

    @property
    def origin(self) -> str:
        """Scheme, host and port."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What a user would paste: origin plus prefix."""
        return self.origin + self.prefix

    @property
    def chat_url(self) -> str:
        """Full chat-completions URL."""
        return self.base_url + "/chat/completions"

    def enqueue(self, *scenarios: Scenario) -> None:
        """Queue scenarios, consumed one per authorised chat request, FIFO."""
        with self._cond:
            self._queue.extend(scenarios)

    @property
    def pending(self) -> int:
        """Number of queued scenarios not yet used."""
        with self._cond:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot (copies) of every request received so far."""
        with self._cond:
            return [dataclasses.replace(r) for r in self._records]

    def wait_for_disconnect(self, index: int = -1, timeout: float = 5.0) -> float | None:
        """Block until request `index` has ended (finished or client gone); its ended_at."""
        deadline = time.monotonic() + timeout

        def ended() -> bool:
            try:
                return self._records[index].ended_at is not None
            except IndexError:
                return False  # the request has not arrived yet

        with self._cond:
            while not ended():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._records[index].ended_at

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` requests have arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._records) >= count, timeout)

    def reset(self) -> None:
        """Clear queue and records, restore default scenario, models and billing."""
        with self._cond:
            self._queue.clear()
            self._records.clear()
        self.default = Scenario()
        self.models = list(DEFAULT_MODELS)
        self.balance_usd = 10.0
        self.used_usd = 2.5
        self.billing_limit_mode = "total"

    # ------------------------------------------------------------------ plumbing

    def _update(self, rec: RecordedRequest, **changes: Any) -> None:
        """Mutate a record under the lock and wake waiters."""
        with self._cond:
            for key, value in changes.items():
                setattr(rec, key, value)
            self._cond.notify_all()

    def _next_scenario(self) -> Scenario:
        """Pop the queue, or fall back to the default."""
        with self._cond:
            return self._queue.popleft() if self._queue else self.default

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Record the request, route it, and record how it ended."""
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._cond:
            rec = RecordedRequest(
                index=len(self._records),
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                json=body,
                raw_body=raw,
                received_at=time.monotonic(),
                peer_port=_peer_port(request),
            )
            self._records.append(rec)
            self._cond.notify_all()
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        resp: web.StreamResponse | None = None
        disconnected = False
        try:
            resp = await self._route(request, rec, body)
            if not resp.prepared:
                await resp.prepare(request)
                self._update(rec, first_byte_at=time.monotonic())
            await resp.write_eof()
            return resp
        except _Dropped as dropped:
            resp = dropped.response
            return resp
        except asyncio.CancelledError:
            # Cancelled by aiohttp because the client went away, or by stop().
            disconnected = not self._stopping
            raise
        except ConnectionError:
            # The client went away and a write noticed first (or stop() closed the socket).
            disconnected = not self._stopping
            return resp if resp is not None else web.Response(status=499)
        finally:
            if task is not None:
                self._handlers.discard(task)
            self._update(
                rec,
                ended_at=time.monotonic(),
                client_disconnected=disconnected,
                status=resp.status if resp is not None else rec.status,
            )

    async def _route(
        self, request: web.Request, rec: RecordedRequest, body: Any
    ) -> web.StreamResponse:
        """Pick the endpoint by method and path."""
        path, method = request.path, request.method
        billing_bases = {self.prefix.removesuffix("/v1")}
        billing_bases.add(self.prefix.removesuffix("/v1") + "/v1")
        if method == "POST" and path == self.prefix + "/chat/completions":
            return await self._chat(request, rec, body)
        legacy = self.fim is not None and self.fim != "codestral"
        if method == "POST" and path == self.prefix + "/completions" and legacy:
            return await self._chat(request, rec, body)  # the same, in the legacy shape
        codestral = self.fim == "codestral"
        if method == "POST" and path == self.prefix + "/fim/completions" and codestral:
            if isinstance(body, dict) and (extra := sorted(set(body) - CODESTRAL_FIELDS)):
                message = f"Extra inputs are not permitted: {', '.join(extra)}"
                return self._error_response(422, message, code="extra_forbidden")
            return await self._chat(request, rec, body)  # answered as chat completions are
        if method == "GET" and path == self.prefix + "/models" and self.models is not None:
            return self._authorised(request) or self._models()
        for base in billing_bases:
            if method == "GET" and self.balance_usd is not None:
                if path == base + "/dashboard/billing/subscription":
                    return self._authorised(request) or self._subscription()
                if path == base + "/dashboard/billing/usage":
                    return self._authorised(request) or self._usage()
        return _json_response(
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

    def _error_response(
        self,
        status: int,
        message: str,
        *,
        type_: str = "one_api_error",
        code: str | None = None,
        param: str | None = None,
        request_id: bool = True,
        retry_after: str | None = None,
    ) -> web.Response:
        """A one-api style JSON error."""
        rid = _request_id()
        err: dict[str, Any] = {
            "message": f"{message} (request id: {rid})" if request_id else message,
            "type": type_,
        }
        if param is not None:
            err["param"] = param
        if code is not None:
            err["code"] = code
        headers = {"X-Oneapi-Request-Id": rid}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return _json_response({"error": err}, status=status, headers=headers)

    def _authorised(self, request: web.Request) -> web.Response | None:
        """None when the key is right, else one-api's 401."""
        if self.api_key is None:
            return None
        header = request.headers.get("Authorization")
        if not header:
            return self._error_response(401, MSG_NO_TOKEN)
        if header != f"Bearer {self.api_key}":
            return self._error_response(401, MSG_INVALID_TOKEN)
        return None

    def _models(self) -> web.Response:
        """GET /models."""
        data = [
            {
                "id": m,
                "object": "model",
                "created": 1626777600,
                "owned_by": "anthropic" if m.startswith("claude") else "openai",
            }
            for m in self.models or []
        ]
        return _json_response({"object": "list", "data": data})

    def _subscription(self) -> web.Response:
        """one-api /dashboard/billing/subscription: the limit is remaining + used by default."""
        balance = self.balance_usd or 0.0
        limit = balance + (self.used_usd or 0.0) if self.billing_limit_mode == "total" else balance
        return _json_response(
            {
                "object": "billing_subscription",
                "has_payment_method": True,
                "soft_limit_usd": limit,
                "hard_limit_usd": limit,
                "system_hard_limit_usd": limit,
                "access_until": 0,
            }
        )

    def _usage(self) -> web.Response:
        """one-api /dashboard/billing/usage: total_usage is USD x 100 (cents)."""
        return _json_response({"object": "list", "total_usage": (self.used_usd or 0.0) * 100})

    # ---------------------------------------------------------------- chat

    def _request_problem(self, sc: Scenario, body: dict[str, Any]) -> web.Response | None:
        """The 400 a limited relay would give this request, if any."""
        rid = sc.one_api_request_id
        roles = [m.get("role") for m in body.get("messages") or [] if isinstance(m, dict)]
        if sc.reject_system_role and "system" in roles:
            return self._error_response(
                400, "system role is not supported", type_="invalid_request_error", request_id=rid
            )
        if sc.reject_developer_role and "developer" in roles:
            i = roles.index("developer")
            return self._error_response(
                400,
                "Invalid value: 'developer'. Supported values are: 'system', 'assistant', "
                "'user', 'function', and 'tool'.",
                type_="invalid_request_error",
                param=f"messages[{i}].role",
                code="invalid_value",
                request_id=rid,
            )
        if sc.reject_stream_options and "stream_options" in body:
            return self._error_response(
                400,
                "Unrecognized request argument supplied: stream_options",
                type_="invalid_request_error",
                request_id=rid,
            )
        if sc.reject_max_tokens and "max_tokens" in body:
            return self._error_response(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                type_="invalid_request_error",
                param="max_tokens",
                code="unsupported_parameter",
                request_id=rid,
            )
        return None

    def _scenario_error(self, sc: Scenario, status: int, model: str) -> dict[str, Any]:
        """The scenario's error object, `{model}` filled in."""
        message = sc.error_message
        if message is None:
            message = _DEFAULT_ERRORS.get(status, "upstream error")
        message = message.replace("{model}", model)
        if sc.one_api_request_id:
            message = f"{message} (request id: {_request_id()})"
        err: dict[str, Any] = {"message": message, "type": sc.error_type}
        if sc.error_code is not None:
            err["code"] = sc.error_code
        return err

    async def _chat(
        self, request: web.Request, rec: RecordedRequest, body: Any
    ) -> web.StreamResponse:
        """POST /chat/completions (and /completions as `self.fim` says)."""
        denied = self._authorised(request)
        if denied is not None:
            return denied
        legacy = _legacy(rec)
        if legacy and self.fim == "reject_suffix" and isinstance(body, dict) and "suffix" in body:
            # Refused before any answer is chosen: the queued scenarios are the chat's.
            return self._error_response(
                400, "Unrecognized request argument supplied: suffix", type_="invalid_request_error"
            )
        sc = self._next_scenario()
        if legacy and self.fim == "drop_suffix" and isinstance(body, dict):
            # A model that never saw the suffix runs on into it (and to its token limit).
            suffix = str(body.get("suffix") or "")[:200]
            sc = sc.replace(chunks=[*sc.pieces(), *split_tokens(suffix)], finish_reason="length")
        self._update(rec, scenario=sc)
        if not isinstance(body, dict):
            return self._error_response(
                400, "bind_request_body_failed", code="bind_request_body_failed"
            )
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
                text=_cf_page(sc.html_status, host),
                content_type="text/html",
                charset="UTF-8",
                headers={"Server": "cloudflare", "CF-RAY": f"{random.getrandbits(64):016x}-LAX"},
            )
        problem = self._request_problem(sc, body)
        if problem is not None:
            return problem
        if sc.status != 200:
            headers = {"Retry-After": sc.retry_after} if sc.retry_after is not None else None
            return _json_response(
                {"error": self._scenario_error(sc, sc.status, model)},
                status=sc.status,
                headers=headers,
            )
        if sc.json_error_on_200:
            return _json_response({"error": self._scenario_error(sc, 500, model)})
        if body.get("stream"):
            return await self._stream(request, rec, sc, body, model)
        return await self._complete(request, rec, sc, body, model)

    def _usage_obj(self, sc: Scenario, body: dict[str, Any], n_pieces: int) -> dict[str, Any]:
        """Token counts: the scenario's or rough guesses."""
        prompt = sc.prompt_tokens if sc.prompt_tokens is not None else _prompt_chars(body) // 4
        completion = sc.completion_tokens if sc.completion_tokens is not None else n_pieces
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    async def _complete(
        self,
        request: web.Request,
        rec: RecordedRequest,
        sc: Scenario,
        body: dict[str, Any],
        model: str,
    ) -> web.StreamResponse:
        """Non-streamed answer (stream false or absent)."""
        if sc.hang_after is not None:
            await self._hang(sc)
        if sc.drop_after is not None:
            resp = web.StreamResponse()
            self._drop(request, sc)
            raise _Dropped(resp)
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
            payload["usage"] = self._usage_obj(sc, body, n)
        return _json_response(payload)

    def _events(
        self, sc: Scenario, body: dict[str, Any], model: str, *, legacy: bool = False
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
            yield "usage", chunk([], usage=self._usage_obj(sc, body, len(deltas)))
        if sc.send_done:
            yield "done", "[DONE]"

    def _encode(self, sc: Scenario, payload: Any) -> bytes:
        """One SSE event with the scenario's framing."""
        le = sc.line_ending
        prefix = "data: " if sc.space_after_data else "data:"
        if isinstance(payload, str):
            lines = [payload]
        elif sc.multiline_data:
            # indent puts a newline between JSON tokens only, so joining data lines with "\n"
            # gives the same JSON back.
            lines = json.dumps(payload, ensure_ascii=False, indent=1).split("\n")
        else:
            lines = [json.dumps(payload, ensure_ascii=False, separators=(",", ":"))]
        return ("".join(prefix + line + le for line in lines) + le).encode()

    @staticmethod
    def _cuts(data: bytes, le: str) -> list[int]:
        """Where to cut an event: inside 'data:', inside a UTF-8 character, mid-JSON, mid-EOL."""
        cuts = {3, len(data) // 2, len(data) - 1}
        lead = next((i for i, b in enumerate(data) if b >= 0xC0), None)
        if lead is not None:
            cuts.add(lead + 1)
        if le == "\r\n":
            cuts.add(len(data) - 3)  # between the \r and \n that end the last data line
        return sorted(c for c in cuts if 0 < c < len(data))

    async def _write(self, resp: _Body, sc: Scenario, data: bytes) -> None:
        """Write one event, in several TCP writes when the scenario splits them."""
        if sc.split_writes:
            start = 0
            for cut in [*self._cuts(data, sc.line_ending), len(data)]:
                await resp.write(data[start:cut])
                start = cut
                if cut < len(data):
                    await asyncio.sleep(sc.split_pause)
        else:
            await resp.write(data)

    def _drop(self, request: web.Request, sc: Scenario) -> None:
        """Close the TCP connection with no terminator (RST if asked)."""
        transport = request.transport
        if transport is None:
            return
        if sc.drop_with_reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()

    async def _hang(self, sc: Scenario) -> None:
        """Go silent until the client leaves, stop(), or hang_seconds have passed."""
        # stop() and a client disconnect both end this by cancelling the handler.
        await asyncio.sleep(min(sc.hang_seconds, HANG_CAP))

    @staticmethod
    async def _hold(sc: Scenario) -> None:
        """Wait until the test sets sc.release (a threading.Event: polled), at most HANG_CAP; a
        client leaving or stop() cancels the handler."""
        for _ in range(int(HANG_CAP / 0.01)):
            if sc.release is None or sc.release.is_set():
                return
            await asyncio.sleep(0.01)

    async def _stream(
        self,
        request: web.Request,
        rec: RecordedRequest,
        sc: Scenario,
        body: dict[str, Any],
        model: str,
    ) -> web.StreamResponse:
        """Streamed answer."""
        headers = {
            "Content-Type": sc.content_type,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Oneapi-Request-Id": _request_id(),
        }
        if sc.content_encoding is not None:
            headers["Content-Encoding"] = sc.content_encoding
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)  # a StreamResponse sends its headers right away
        self._update(rec, status=resp.status, first_byte_at=time.monotonic())
        out = _Body(resp, sc.content_encoding)
        events = self._events(sc, body, model, legacy=_legacy(rec))
        await self._stream_events(request, rec, sc, out, events, model)
        await out.end()
        return resp

    async def _stream_events(
        self,
        request: web.Request,
        rec: RecordedRequest,
        sc: Scenario,
        resp: _Body,
        events: Iterator[tuple[str, Any]],
        model: str,
    ) -> None:
        """Writes a stream's events with the scenario's faults."""
        sent = 0
        pieces_sent = 0
        for n, (kind, payload) in enumerate(events):
            if n > 0:
                if sc.keepalive_comments:
                    await resp.write(f": PING{sc.line_ending}{sc.line_ending}".encode())
                if sc.pace > 0:
                    await asyncio.sleep(sc.pace)
            if kind != "role":
                if sc.endless_line is not None and pieces_sent >= 1:
                    await self._endless_line(resp, sc.endless_line)
                    await self._hang(sc)
                    return
                if sc.drop_after is not None and pieces_sent >= sc.drop_after:
                    self._drop(request, sc)
                    raise _Dropped(resp.resp)
                if sc.hang_after is not None and pieces_sent >= sc.hang_after:
                    await self._hang(sc)
                    return
                if sc.hold_after is not None and pieces_sent >= sc.hold_after:
                    await self._hold(sc)
                if sc.malformed_after is not None and pieces_sent >= sc.malformed_after:
                    await self._write(resp, sc, self._encode(sc, sc.malformed_data))
                    sent += 1
                    self._update(rec, chunks_sent=sent)
                    return
                if sc.error_event_after is not None and pieces_sent >= sc.error_event_after:
                    err = {"error": self._scenario_error(sc, 500, model)}
                    await self._write(resp, sc, self._encode(sc, err))
                    sent += 1
                    self._update(rec, chunks_sent=sent)
                    if sc.send_done:
                        await self._write(resp, sc, self._encode(sc, "[DONE]"))
                        sent += 1
                        self._update(rec, chunks_sent=sent)
                    return
            await self._write(resp, sc, self._encode(sc, payload))
            sent += 1
            if kind == "piece":
                pieces_sent += 1
            self._update(rec, chunks_sent=sent)

    @staticmethod
    async def _endless_line(resp: _Body, size: int) -> None:
        """Writes the start of a chunk, then `size` bytes of its text, and never ends it."""
        await resp.write(b'data: {"choices": [{"index": 0, "delta": {"content": "')
        block = b"a" * 65536
        for _ in range(size // len(block)):
            await resp.write(block)
