"""pygls protocol with gpt-lsp's own document store and fixes for pygls 2.1 defects.

- Documents go to gpt-lsp's line store (pygls re-splits a whole document per change).
- Handler futures are forgotten when the handler ends (pygls keeps those of notifications).
- `workspace/executeCommand` runs gpt-lsp commands directly and answers at once; a later
  `$/cancelRequest` of that request cancels the job it started (pygls cannot).
- `shutdown` with requests in flight no longer changes a dict while iterating it.
- Progress tokens are dropped when their progress ends.
- A request whose params do not parse is answered with an error (pygls drops it unanswered);
  a cancel for a request already answered is normal (coc.nvim sends many): logged at debug.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any, Protocol, runtime_checkable

import attrs
from lsprotocol import types
from lsprotocol.types import ResponseErrorMessage
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)
from pygls.protocol.language_server import lsp_method

from gpt_lsp.errors import GptLspError

log = logging.getLogger(__name__)

USER_SETTINGS = "gptLsp/didChangeUserSettings"
RAW_PARAMS = frozenset({USER_SETTINGS})  # our own notifications: their params stay plain JSON


# pygls turns the params of methods it does not know into namedtuples, renaming keys that are
# no Python names ("gpt-4o" prices, "X-Team" headers, "my-relay"): this type keeps plain JSON.
@attrs.define
class _RawNotification:
    """A notification whose params are left as JSON."""

    method: str
    jsonrpc: str
    params: Any = None


@attrs.define
class _Refused:
    """A message that could not be read; its error (if it was a request) is already sent."""

    method: str


@runtime_checkable
class DocumentHooks(Protocol):
    """Where the protocol sends document events and request cancellations (its server)."""

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None: ...
    def did_change(self, params: types.DidChangeTextDocumentParams) -> None: ...
    def did_close(self, params: types.DidCloseTextDocumentParams) -> None: ...
    def request_cancelled(self, msg_id: Any) -> None: ...


class GptProtocol(LanguageServerProtocol):
    """LanguageServerProtocol for gpt-lsp."""

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        # pygls builds the protocol inside the server's constructor: the server that made it
        # (gpt-lsp's) is where document events go.
        self.hooks = server if isinstance(server, DocumentHooks) else None
        self.raw_params = RAW_PARAMS  # methods whose params stay plain JSON
        self.on_exit: Callable[[int], None] | None = None  # else `exit` raises SystemExit
        self._shutdown_id: Any = None

    def get_message_type(self, method: str) -> Any:  # type: ignore[override]  # lru_cache in pygls
        """Returns the message type of a method; our own notifications keep plain JSON."""
        if method in self.raw_params:
            return _RawNotification
        return super().get_message_type(method)

    # ------------------------------------------------------------ malformed messages

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Reads one message; a request that does not parse gets its error answer here."""
        if "jsonrpc" not in data:
            return data  # a value inside params (json.loads calls this for every object)
        method, msg_id = data.get("method"), data.get("id")
        try:
            return self._structure(data)
        except Exception as exc:  # noqa: BLE001 - anything a client sends must not escape
            name = type(exc).__name__
            if isinstance(method, str) and isinstance(msg_id, (int, str)):
                log.warning("%s: params that do not parse (%s): an error answers", method, name)
                error = JsonRpcInvalidParams(message=f"{method}: invalid params")
                self._send_response(msg_id, None, error.to_response_error())
            else:
                log.warning("a message that does not parse was dropped (%s)", name)
            return _Refused(str(method))

    def _structure(self, data: dict[str, Any]) -> Any:
        """pygls's reading of a message, without its traceback in the log."""
        converter = self._converter
        if "id" in data:
            if "error" in data:
                return converter.structure(data, ResponseErrorMessage)
            if "method" in data:
                request_type = self.get_message_type(data["method"])
                if request_type is None or request_type is _RawNotification:
                    request_type = JsonRPCRequestMessage  # a request to a notification: answered
                return converter.structure(data, request_type)
            response_type = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
            return converter.structure(data, response_type)
        notification_type = self.get_message_type(data.get("method", "")) or JsonRPCNotification
        return converter.structure(data, notification_type)

    def handle_message(self, message: Any) -> None:
        """Handles a message; a request that cannot be served gets an error, never silence."""
        if isinstance(message, _Refused):
            return
        get = message.get if isinstance(message, dict) else partial(getattr, message)
        method, msg_id = get("method", None), get("id", None)
        refusal = None
        if get("jsonrpc", None) != "2.0":
            refusal = "not a JSON-RPC 2.0 request"  # not an object, or no "jsonrpc": "2.0"
        elif self._shutdown and method != types.EXIT:
            refusal = "the server is shutting down"  # LSP: InvalidRequest after shutdown
        if refusal is None:
            super().handle_message(message)
        elif isinstance(method, str) and isinstance(msg_id, (int, str)):
            error = JsonRpcInvalidRequest(message=f"{method}: {refusal}")
            self._send_response(msg_id, None, error.to_response_error())
        else:
            log.warning("message dropped: %s", refusal)

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
        if msg_id not in self._request_futures:
            # Clients cancel requests already answered (coc.nvim does, dozens per session).
            log.debug("cancel of a request already answered: %s", msg_id)
            return
        super()._handle_cancel_notification(msg_id)

    # ------------------------------------------------------------ handler futures

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        """Answers a request; a refusal (a JSON-RPC error we raised on purpose) is logged in
        one line, not as a traceback (pygls logs every refusal as an exception)."""
        if not future.cancelled() and isinstance(future.exception(), JsonRpcException):
            self._request_futures.pop(msg_id, None)
            error = future.exception()
            assert isinstance(error, JsonRpcException)
            log.info("request %s refused: %s", msg_id, error.message)
            self._send_response(msg_id, error=error.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

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
        """Exits once the shutdown answer is out (within 2 s), never waiting for anything else.

        pygls exits at once: a client that sends exit right behind shutdown lost the answer.
        Other requests in flight (a reject restoring, an edit to a client that never answers)
        must not hold the process: the client is leaving.
        """
        shutdown = self._request_futures.get(self._shutdown_id)
        pending = [shutdown] if shutdown is not None and not shutdown.done() else []

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
            if self.on_exit is None:
                sys.exit(code)
            self.on_exit(code)

        self._exit_task = asyncio.ensure_future(finish())

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """Cancels running work, then lets the client exit."""
        current_id = self._shutdown_id = self.msg_id
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None
