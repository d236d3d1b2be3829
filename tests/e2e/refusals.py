"""A command that must fail cleanly: its error as the client has it, and no traceback in it
(shared by the e2e tests of bad input)."""

from __future__ import annotations

from typing import Any

from tests.e2e.editor import Editor


def assert_clean(text: str) -> None:
    """Nothing the client sees may carry a traceback."""
    assert "Traceback" not in text and 'File "' not in text, text[:2000]


def error_text(exc: BaseException) -> str:
    """The message and the data of a JSON-RPC error, as the client has them."""
    return f"{exc} {getattr(exc, 'data', '')!r}"


async def refused(editor: Editor, command: str, argument: Any, words: str = "") -> str:
    """Runs a command that must fail cleanly; returns the error text."""
    try:
        result = await editor.command(command, argument)
    except TimeoutError:
        raise AssertionError(f"{command} {argument!r:.80} got no answer") from None
    except Exception as exc:  # noqa: BLE001 - pygls raises its JsonRpc error types
        text = error_text(exc)
        assert_clean(text)
        assert words in text, (command, words, text)
        return text
    raise AssertionError(f"{command} {argument!r:.80} did not fail: {result!r}")
