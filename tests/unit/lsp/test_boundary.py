"""The command boundary: odd client input and unexpected errors never reach the client raw."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from gpt_lsp.errors import RequestRefused
from gpt_lsp.lsp.server import create_server
from gpt_lsp.prompting.slicing import describe_diagnostics


@pytest.mark.parametrize(
    "raw",
    [
        [{"message": "m", "range": "everywhere"}],
        [{"message": "m", "range": {"start": "top"}}],
        [{"message": "m", "range": {"start": {"line": "three"}}}],
        [{"message": "m", "range": {"start": {"line": True}}}],
        [{"message": "m", "range": {"start": {"line": -(10**30)}}}],
        ["text", 5, None, []],
    ],
)
def test_odd_diagnostics_are_described_without_crashing(raw: list[Any]) -> None:
    lines = describe_diagnostics(raw)
    assert all(line.startswith("m") for line in lines)


def test_diagnostic_lines_are_one_based() -> None:
    raw = [{"message": "bad", "range": {"start": {"line": 2}}, "source": "mypy"}]
    assert describe_diagnostics(raw) == ["line 3: bad (mypy)"]


async def _execute(command: str, handler: Any) -> Any:
    server = create_server()
    server.protocol.fm.commands[command] = handler
    params = types.ExecuteCommandParams(command=command, arguments=[{}])
    return await server.protocol.lsp_workspace__execute_command(params)


async def test_an_unexpected_error_is_an_internal_error_without_traceback() -> None:
    def broken(raw: Any) -> Any:
        raise ValueError("secret internals")

    with pytest.raises(JsonRpcInternalError) as caught:
        await _execute("gptLsp.status", broken)
    assert "gpt-lsp internal error in gptLsp.status (ValueError)" in caught.value.message
    assert caught.value.data is None  # pygls' own path puts the traceback here
    assert "secret internals" not in caught.value.message


async def test_a_refusal_is_invalid_params_with_the_user_message() -> None:
    def refuses(raw: Any) -> Any:
        raise RequestRefused("No, because.")

    with pytest.raises(JsonRpcInvalidParams) as caught:
        await _execute("gptLsp.status", refuses)
    assert caught.value.message == "No, because."
