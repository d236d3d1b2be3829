"""Inline completion handlers: `textDocument/inlineCompletion`, and one AI item through
`textDocument/completion` for clients that do not declare inline completion."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gpt_lsp.i18n import _
from gpt_lsp.text.regions import Pos

if TYPE_CHECKING:
    from gpt_lsp.completion.service import Suggestion
    from gpt_lsp.session.session import Session


class Server(Protocol):
    """What the handlers use of the language server."""

    session: Session

    @property
    def client_capabilities(self) -> types.ClientCapabilities: ...


_WORD_END = re.compile(r"[\w$]*$")


def register(server: LanguageServer) -> None:
    """Adds the completion handlers (InlineCompletionOptions: pygls advertises nothing
    without them)."""

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: Server, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        if not ls.session.settings.completion.enabled:
            return types.InlineCompletionList(items=[])  # the service is not even built
        # The trigger kind is not read: whether the user stopped typing is the server's call.
        found = await ls.session.completion.complete(
            params.text_document.uri, _pos(params.position)
        )
        if found is None:
            return types.InlineCompletionList(items=[])
        at = types.Position(line=found.line, character=found.character)
        item = types.InlineCompletionItem(
            insert_text=found.text, range=types.Range(start=at, end=at)
        )
        return types.InlineCompletionList(items=[item])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: Server, params: types.CompletionParams) -> types.CompletionList:
        empty = types.CompletionList(is_incomplete=False, items=[])
        document = ls.client_capabilities.text_document
        if document is not None and document.inline_completion is not None:
            return empty  # the client shows ghost text instead
        if not ls.session.settings.completion.enabled:
            return empty  # the service is not even built (Helix asks at every pause)
        found = await ls.session.completion.complete(
            params.text_document.uri, _pos(params.position)
        )
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        return types.CompletionList(is_incomplete=True, items=[_item(found.text, found)])


def _item(text: str, found: Suggestion) -> types.CompletionItem:
    """One completion item carrying the suggestion as an edit at the cursor."""
    match = _WORD_END.search(found.prefix)
    word = match.group(0) if match else ""
    first = text.strip().splitlines()[0]
    at = types.Position(line=found.line, character=found.character)
    return types.CompletionItem(
        label=f"AI: {word}{first}"[:80],
        kind=types.CompletionItemKind.Snippet,
        detail=_("gpt-lsp AI suggestion"),
        label_details=types.CompletionItemLabelDetails(description="AI"),
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=text),
        filter_text=word + text,  # matched against the word being typed
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start=at, end=at), new_text=text),
    )


def _pos(position: types.Position) -> Pos:
    return Pos(position.line, position.character)
