"""Inline completion as the e2e tests ask it: editors that declare it, the requests, the
user's typing, the server's counts (shared by test_completion.py and test_fim.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e import editor as editor_module
from tests.e2e.editor import Editor

CURSOR = types.Position(line=1, character=11)  # after "return "


@pytest.fixture
def inline_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Editors declare inline completion, as VS Code 1.91+ and Neovim 0.12 do."""
    plain = editor_module.capabilities

    def with_inline(profile: str, encoding: str) -> types.ClientCapabilities:
        caps = plain(profile, encoding)
        assert caps.text_document is not None
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
        return caps

    monkeypatch.setattr(editor_module, "capabilities", with_inline)


async def inline(
    editor: Editor,
    uri: str,
    position: types.Position = CURSOR,
    *,
    msg_id: str | None = None,
    timeout: float = 10.0,
) -> list[types.InlineCompletionItem]:
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
    )
    async with asyncio.timeout(timeout):
        result = await editor.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
    if isinstance(result, list):
        return result
    return list(result.items) if result is not None else []


async def complete(
    editor: Editor, uri: str, position: types.Position = CURSOR, *, timeout: float = 10.0
) -> list[str]:
    """textDocument/completion as Helix asks it (Invoked, automatic or manual alike): the
    texts its items insert."""
    params = types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
    )
    async with asyncio.timeout(timeout):  # sent at once (as the first step of this task)
        result = await editor.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_COMPLETION, params
        )
    items = result.items if isinstance(result, types.CompletionList) else result or []
    return [i.text_edit.new_text for i in items if i.text_edit is not None]


async def typed(editor: Editor, uri: str, offset: int, text: str) -> None:
    """The user types; the editor reports it (on the next loop turn, as the fake does)."""
    editor.type_at(uri, offset, text)
    editor.flush(uri)
    await asyncio.sleep(0.05)


async def counted(editor: Editor, key: str, timeout: float = 5.0) -> int:
    """A completion count once it is non-zero (it is set as the stream closes), or 0."""
    async with asyncio.timeout(timeout):
        while not (value := (await status(editor))["completion"][key]):  # noqa: ASYNC110 - a count in the server
            await asyncio.sleep(0.05)
    return int(value)


async def status(editor: Editor) -> dict[str, Any]:
    result: dict[str, Any] = await editor.command("gptLsp.status")
    return result
