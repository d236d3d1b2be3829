"""Serving LSP on stdin/stdout with an asyncio pipe reader.

pygls reads stdin in a thread pool, one executor hop per header line and body: most of the
server's CPU time per message. An asyncio StreamReader on the pipe does the same job inline.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, BinaryIO

from pygls.io_ import StdoutWriter, run_async

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)


def serve_stdio(server: LanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Runs the server until the client exits (or stdin closes)."""
    try:
        asyncio.run(_serve(server, stdin, stdout))
    except BrokenPipeError:
        log.error("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


async def _serve(server: LanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except ValueError:
        # Not a pipe, socket or terminal (a regular file): pygls's thread reader copes.
        from pygls.io_ import StdinAsyncReader

        fallback = StdinAsyncReader(stdin, server.thread_pool)
        await _run(server, fallback, stdout)
        return
    await _run(server, reader, stdout)


async def _run(server: LanguageServer, reader: object, stdout: BinaryIO) -> None:
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))
    await run_async(
        stop_event=stop,
        reader=reader,  # type: ignore[arg-type]
        protocol=server.protocol,
        logger=log,
        error_handler=server.report_server_error,
    )
    # End of input: let an exit in progress (it answers shutdown first) finish its work.
    exiting = getattr(server.protocol, "_exit_task", None)
    if exiting is not None:
        await asyncio.wait([exiting], timeout=3.0)
        exiting.result()  # re-raises its SystemExit
