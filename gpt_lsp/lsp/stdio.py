"""Serving LSP on stdin/stdout until the client exits, goes away or a signal comes.

pygls reads stdin in a thread pool, one executor hop per header line and body: most of the
server's CPU time per message. An asyncio StreamReader on the pipe does the same job inline.
What the event loop cannot watch (/dev/null, a regular file) and terminals (a pipe reader
would make the terminal non-blocking for the shell too) are read by a daemon thread into the
same StreamReader: a thread blocked on a read never holds up the exit.

The session ends on `exit`, end of input, a closed stdout and on SIGTERM, SIGHUP or SIGINT:
jobs are cancelled (closing their HTTP requests), the relays' pools closed, and the exit code
is 0 (1 for an `exit` without `shutdown`, as LSP says). Whatever a job waits for (an editor
that never answers an edit), the process ends within about a second of its client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import selectors
import signal
import stat
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from types import FrameType

    from gpt_lsp.lsp.server import GptLanguageServer

log = logging.getLogger(__name__)

SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name)
)
# After a signal the client may still be there: running jobs get this long to put the original
# text back before their documents are let go.
RESTORE_GRACE = 0.4
# Then jobs and relays get this long to close; the process exits anyway after it.
CLOSE_TIMEOUT = 0.4
EXIT_TIMEOUT = 3.0  # an `exit` in progress answers what is in flight first (protocol.py)
READ_LIMIT = 1 << 20
CHUNK = 1 << 16


def exit_quietly_on_signals() -> None:
    """Until the event loop takes over, a signal exits with 0 and no traceback."""
    for sig in SIGNALS:
        signal.signal(sig, _exit_now)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_stdio(server: GptLanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Runs the server until the session ends; returns the exit code."""
    try:
        return asyncio.run(_serve(server, stdin, stdout))
    except SystemExit as exc:
        # `exit` ends the loop this way, with 1 when no shutdown came first (LSP).
        exiting: asyncio.Future[None] | None = getattr(server.protocol, "_exit_task", None)
        if exiting is not None and exiting.done() and not exiting.cancelled():
            # Seen, so that collecting the task at exit logs no "exception never retrieved".
            exiting.exception()
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 0
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


async def _serve(server: GptLanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> int:
    from pygls.io_ import run_async  # here: cli imports this module before pygls is loaded

    loop = asyncio.get_running_loop()
    ended: asyncio.Future[str] = loop.create_future()

    def end(cause: str) -> None:
        if not ended.done():
            ended.set_result(cause)

    codes: list[int] = []

    def exited(code: int) -> None:
        codes.append(code)
        end("exit")

    writer = _Writer(stdout, lambda: end("stdout closed"))
    server.protocol.set_writer(writer)
    server.gpt_protocol.on_exit = exited
    reader, release_stdin = await _open_stdin(stdin, stdout)
    server._stop_event = stop = threading.Event()
    reading = asyncio.ensure_future(
        run_async(
            stop_event=stop,
            reader=_Frames(reader),
            protocol=server.protocol,
            logger=cast(logging.Logger, _OneLine(log, {})),
            error_handler=server.report_server_error,
        )
    )
    reading.add_done_callback(lambda _: end("end of input"))
    unwatch = _watch_stdout(loop, stdout, lambda: end("stdout closed"))
    signals = []
    for sig in SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, end, signal.Signals(sig).name)
            signals.append(sig)
    try:
        cause = await ended
        if reading.done() and not reading.cancelled() and reading.exception() is not None:
            log.error("reading stdin failed: %s", reading.exception())
        exiting: asyncio.Future[None] | None = getattr(server.protocol, "_exit_task", None)
        if exiting is not None and cause == "end of input":
            # The client sent exit and closed the pipe: the exit (its code) comes first.
            await asyncio.wait([exiting], timeout=EXIT_TIMEOUT)
        log.info("%s: ending the session", cause)
        await _end_session(server, client_gone=cause in ("exit", "end of input", "stdout closed"))
        return codes[0] if codes else 0
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        exit_quietly_on_signals()  # until the process is gone
        unwatch()
        stop.set()
        reading.cancel()
        release_stdin()


async def _end_session(server: GptLanguageServer, *, client_gone: bool) -> None:
    """Cancels running jobs and closes the relays, within a bounded time."""
    if client_gone:
        await server.session.open_documents.release(
            CLOSE_TIMEOUT
        )  # nobody answers edits any more: restore nothing
    closing = asyncio.ensure_future(server.session.close())
    if not client_gone:
        await asyncio.wait([closing], timeout=RESTORE_GRACE)
        if not closing.done():
            await server.session.open_documents.release(CLOSE_TIMEOUT)
    await asyncio.wait([closing], timeout=CLOSE_TIMEOUT)
    if not closing.done():
        log.warning("jobs did not stop within %.1f s; exiting anyway", CLOSE_TIMEOUT)
        closing.cancel()
    elif not closing.cancelled() and closing.exception() is not None:
        log.error("closing the session failed: %s", type(closing.exception()).__name__)


class _OneLine(logging.LoggerAdapter):  # type: ignore[type-arg]
    """pygls logs a frame it cannot read (bytes that are no JSON) with a traceback: one line
    says as much, and a client sending garbage cannot fill the log."""

    def exception(self, msg: object, *args: object, **kwargs: object) -> None:
        error = sys.exc_info()[1]
        self.logger.warning("%s (%s)", msg, type(error).__name__)


class _Writer:
    """Writes LSP frames to stdout; a closed stdout ends the session instead of raising."""

    def __init__(self, stdout: BinaryIO, on_closed: Callable[[], None]) -> None:
        self._stdout = stdout
        self._on_closed = on_closed
        self.closed = False

    def write(self, data: bytes) -> None:
        """Writes and flushes one frame; after the client left, drops it."""
        if self.closed:
            return
        try:
            self._stdout.write(data)
            self._stdout.flush()
        except ConnectionError:  # BrokenPipeError from a pipe, a reset from a socket
            self._gone()

    def close(self) -> None:
        """Closes stdout; later frames (a job ending after `exit`) are dropped."""
        try:
            self._stdout.close()
        except ConnectionError:  # BrokenPipeError from a pipe, a reset from a socket
            self._gone()
        self.closed = True

    def _gone(self) -> None:
        if self.closed:
            return
        self.closed = True
        # Python flushes stdout again at exit; on the dead pipe that prints "Exception ignored".
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stdout.fileno())
            os.close(devnull)
        self._on_closed()


class _Frames:
    """The reader `run_async` wants; input that stops mid-message reads as its end."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def readline(self) -> bytes:
        """Reads a header line."""
        try:
            return await self._reader.readline()
        except ValueError:
            log.error("stdin: a line longer than %d bytes is no LSP header", READ_LIMIT)
            return b""

    async def readexactly(self, n: int) -> bytes:
        """Reads a message body."""
        try:
            return await self._reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


async def _open_stdin(
    stdin: BinaryIO, stdout: BinaryIO
) -> tuple[asyncio.StreamReader, Callable[[], None]]:
    """Returns a reader of stdin and what releases it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    fd = stdin.fileno()
    if _pipe_like(fd, stdout):
        blocking = os.get_blocking(fd)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), stdin
            )
        except (ValueError, OSError) as exc:
            log.debug("stdin: no pipe reader (%s), reading in a thread", exc)
        else:

            def release() -> None:
                # The pipe reader made the file non-blocking, for whoever else shares it too.
                with contextlib.suppress(OSError):
                    os.set_blocking(fd, blocking)
                transport.close()

            return reader, release
    threading.Thread(
        target=_pump, args=(fd, reader, loop), name="gpt-lsp-stdin", daemon=True
    ).start()
    return reader, lambda: None


def _pipe_like(fd: int, stdout: BinaryIO) -> bool:
    """True when the event loop can watch fd as a pipe without side effects on others."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)) or os.isatty(fd):
        return False
    with contextlib.suppress(OSError, ValueError):
        # The same file as stdout (one socket for both): non-blocking would break writes.
        if os.path.sameopenfile(fd, stdout.fileno()):
            return False
    # epoll refuses some character devices (/dev/null) only once the loop registers them,
    # in a callback: the reader would then never read. Ask a selector of our own first.
    selector = selectors.DefaultSelector()
    try:
        selector.register(fd, selectors.EVENT_READ)
    except (OSError, ValueError):
        return False
    finally:
        selector.close()
    return True


def _pump(fd: int, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    """Thread body: copies stdin into the reader until end of input."""
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            # Someone left the file non-blocking: wait for data instead of spinning.
            select.select([fd], [], [], 1.0)
            continue
        except OSError as exc:  # a terminal hung up (EIO), a closed descriptor
            log.debug("stdin: %s", exc)
            chunk = b""
        try:
            loop.call_soon_threadsafe(_feed, reader, chunk)
        except RuntimeError:
            return  # the loop is closed: the process is exiting
        if not chunk:
            return


def _feed(reader: asyncio.StreamReader, chunk: bytes) -> None:
    if chunk:
        reader.feed_data(chunk)
    else:
        reader.feed_eof()


def _watch_stdout(
    loop: asyncio.AbstractEventLoop, stdout: BinaryIO, on_closed: Callable[[], None]
) -> Callable[[], None]:
    """Notices a client that closed its end of the stdout pipe while the server is idle."""
    try:
        fd = stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return lambda: None
    if sys.platform == "win32" or not stat.S_ISFIFO(mode):
        return lambda: None
    import fcntl

    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY:
        return lambda: None

    def closed() -> None:
        # A write end is never readable: the loop wakes only for the error of a pipe with no
        # reader left.
        loop.remove_reader(fd)
        on_closed()

    try:
        loop.add_reader(fd, closed)
    except (OSError, ValueError, NotImplementedError):
        return lambda: None

    def unwatch() -> None:
        loop.remove_reader(fd)

    return unwatch
