"""The relay simulator's HTTP server: RelaySim, run in its own thread and event loop, and the
requests it recorded."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections import deque
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from tests.relay_sim.answers import chat
from tests.relay_sim.events import prompt_chars as _prompt_chars  # noqa: F401 (bench/ uses it)
from tests.relay_sim.routes import route
from tests.relay_sim.scenario import RecordedRequest, Scenario
from tests.relay_sim.stream import Dropped

BillingLimitMode = Literal["total", "remaining"]
# How /completions (legacy, fill-in-the-middle with `suffix`) is served: "serve" keeps `suffix`
# (the scenario's text is the middle), "drop_suffix" answers as a model that never saw it
# (the text, then the suffix's start: one-api re-encoding the body), "reject_suffix" answers
# 400 naming the field (OpenAI's wording); "codestral" serves /fim/completions instead, as
# Mistral's API does (chat-completion chunks; a field its schema does not know answers 422);
# None serves no such endpoint (404 Invalid URL).
FimMode = Literal["serve", "drop_suffix", "reject_suffix", "codestral"]

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-1106-preview",
    "claude-3-opus-20240229",
)


def _peer_port(request: web.Request) -> int | None:
    """The client's port of the connection a request came on."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None


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

        async def dispatch(request: web.Request) -> web.StreamResponse:
            return await _dispatch(self, request)

        app.router.add_route("*", "/{tail:.*}", dispatch)
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

    async def _chat(
        self, request: web.Request, rec: RecordedRequest, body: Any
    ) -> web.StreamResponse:
        """POST /chat/completions (and /completions as `self.fim` says); bench/ overrides it."""
        return await chat(self, request, rec, body)


async def _dispatch(sim: RelaySim, request: web.Request) -> web.StreamResponse:
    """Record the request, route it, and record how it ended."""
    raw = await request.read()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    with sim._cond:
        rec = RecordedRequest(
            index=len(sim._records),
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            json=body,
            raw_body=raw,
            received_at=time.monotonic(),
            peer_port=_peer_port(request),
        )
        sim._records.append(rec)
        sim._cond.notify_all()
    task = asyncio.current_task()
    if task is not None:
        sim._handlers.add(task)
    resp: web.StreamResponse | None = None
    disconnected = False
    try:
        resp = await route(sim, request, rec, body)
        if not resp.prepared:
            await resp.prepare(request)
            sim._update(rec, first_byte_at=time.monotonic())
        await resp.write_eof()
        return resp
    except Dropped as dropped:
        resp = dropped.response
        return resp
    except asyncio.CancelledError:
        # Cancelled by aiohttp because the client went away, or by stop().
        disconnected = not sim._stopping
        raise
    except ConnectionError:
        # The client went away and a write noticed first (or stop() closed the socket).
        disconnected = not sim._stopping
        return resp if resp is not None else web.Response(status=499)
    finally:
        if task is not None:
            sim._handlers.discard(task)
        sim._update(
            rec,
            ended_at=time.monotonic(),
            client_disconnected=disconnected,
            status=resp.status if resp is not None else rec.status,
        )
