"""pygls protocol with gpt-lsp's own document store and fixes for pygls 2.1 defects.

- Documents go to gpt-lsp's line store (pygls re-splits a whole document per change).
- Handler futures are forgotten when the handler ends (pygls keeps those of notifications).
- `workspace/executeCommand` runs gpt-lsp commands directly and answers at once; a later
  `$/cancelRequest` of that request cancels the job it started (pygls cannot).
- `shutdown` with requests in flight no longer changes a dict while iterating it.
- Progress tokens are dropped when their progress ends.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any, Protocol

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from gpt_lsp.errors import GptLspError

log = logging.getLogger(__name__)


# pygls turns the params of methods it does not know into namedtuples, renaming keys that are
# no Python names ("gpt-4o" prices, "X-Team" headers, "my-relay"): this type keeps plain JSON.
@attrs.define
class _RawNotification:
    """A notification whose params are left as JSON."""

    method: str
    jsonrpc: str
    params: Any = None


class DocumentHooks(Protocol):
    """Where the protocol sends document events and request cancellations."""

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None: ...
    def did_change(self, params: types.DidChangeTextDocumentParams) -> None: ...
    def did_close(self, params: types.DidCloseTextDocumentParams) -> None: ...
    def request_cancelled(self, msg_id: Any) -> None: ...


class GptProtocol(LanguageServerProtocol):
    """LanguageServerProtocol for gpt-lsp."""

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.hooks: DocumentHooks | None = None
        self.raw_params: set[str] = set()  # methods whose params stay plain JSON

    def get_message_type(self, method: str) -> Any:  # type: ignore[override]  # lru_cache in pygls
        """Returns the message type of a method; our own notifications keep plain JSON."""
        if method in self.raw_params:
            return _RawNotification
        return super().get_message_type(method)

    # ------------------------------------------------------------ documents

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        """Stores an opened document."""
        if self.hooks is not None:
            self.hooks.did_open(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Applies changes one by one, so running jobs see each of them."""
        if self.hooks is not None:
            self.hooks.did_change(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        """Forgets a closed document."""
        if self.hooks is not None:
            self.hooks.did_close(params)

    # ------------------------------------------------------------ commands

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]
        self, params: types.ExecuteCommandParams
    ) -> Any:
        """Runs a gpt-lsp command with its single object argument; refusals become errors."""
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams(message=f"unknown command {params.command!r}")
        arguments = params.arguments or []
        argument = arguments[0] if arguments else None
        try:
            result = handler(argument)
            if inspect.isawaitable(result):
                result = await result
        except GptLspError as error:
            raise JsonRpcInvalidParams(message=error.user_message()) from None
        except Exception as error:  # the one boundary: pygls would send the traceback
            log.exception("%s failed unexpectedly", params.command)
            raise JsonRpcInternalError(
                message=f"gpt-lsp internal error in {params.command} "
                f"({type(error).__name__}); see the server log."
            ) from None
        return result

    @property
    def request_futures(self) -> dict[Any, Any]:
        """Returns the futures of requests in flight (both directions)."""
        return self._request_futures

    def forget_request(self, msg_id: Any) -> None:
        """Drops a request of ours the client never answered (pygls would keep it forever)."""
        self._request_futures.pop(msg_id, None)
        self._result_types.pop(msg_id, None)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        if self.hooks is not None:
            self.hooks.request_cancelled(msg_id)
        super()._handle_cancel_notification(msg_id)

    # ------------------------------------------------------------ handler futures

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Runs a handler and forgets its future when it ends.

        pygls keeps the future of every notification handler and of every user handler run
        under a builtin one (20k didChange = +38 MiB) in `_request_futures`.
        """

        def done(future: Future[Any]) -> None:
            try:
                callback(future)
            finally:
                self._request_futures.pop(msg_id, None)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    # ------------------------------------------------------------ shutdown

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> None:  # type: ignore[override]
        """Exits once requests in flight (shutdown above all) are answered, within 2 s.

        pygls exits at once: a client that sends exit right behind shutdown lost the answer.
        """
        pending = [f for f in self._request_futures.values() if not f.done()]

        async def finish() -> None:
            waiting = [asyncio.wrap_future(f) if isinstance(f, Future) else f for f in pending]
            if waiting:
                await asyncio.wait(waiting, timeout=2.0)
            # Answers are written by done-callbacks: let them run before closing the pipe.
            await asyncio.sleep(0)
            code = 0 if self._shutdown else 1
            if self.writer is not None:
                closed = self.writer.close()
                if inspect.isawaitable(closed):
                    await closed
            sys.exit(code)

        self._exit_task = asyncio.ensure_future(finish())

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """Cancels running work, then lets the client exit."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None
