"""Conversions between lsprotocol types and the session's own (spans, changes, offers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types

from gpt_lsp.text.regions import Encoding, Pos, Span

if TYPE_CHECKING:
    from gpt_lsp.jobs.review import Lens
    from gpt_lsp.prompting.offers import Offer


def span_from_lsp(rng: types.Range) -> Span:
    """Returns the span of an lsprotocol Range."""
    return Span(Pos(rng.start.line, rng.start.character), Pos(rng.end.line, rng.end.character))


def span_to_lsp(span: Span) -> types.Range:
    """Returns an lsprotocol Range for a span."""
    return types.Range(
        start=types.Position(line=span.start.line, character=span.start.character),
        end=types.Position(line=span.end.line, character=span.end.character),
    )


def changes_from_lsp(
    changes: Sequence[types.TextDocumentContentChangeEvent],
) -> list[tuple[Span | None, str]]:
    """Returns content changes as (span, text); span None replaces the whole document."""
    return [
        (
            span_from_lsp(change.range)
            if isinstance(change, types.TextDocumentContentChangePartial)
            else None,
            change.text,
        )
        for change in changes
    ]


def encoding_of(kind: str | None) -> Encoding:
    """Returns the position encoding pygls negotiated."""
    name = str(kind or "utf-16").lower()
    if "8" in name:
        return "utf-8"
    if "32" in name:
        return "utf-32"
    return "utf-16"


def code_action(offer: Offer) -> types.CodeAction:
    """Returns an offer as a code action carrying its command."""
    action = types.CodeAction(
        title=offer.title,
        kind=offer.kind,
        command=types.Command(
            title=offer.title, command=offer.command, arguments=[offer.arguments]
        ),
    )
    if offer.disabled is not None:
        action.disabled = types.CodeActionDisabled(reason=offer.disabled)
    return action


def code_lens(lens: Lens) -> types.CodeLens:
    """Returns a review lens as an LSP code lens carrying its command."""
    return types.CodeLens(
        range=span_to_lsp(lens.span),
        command=types.Command(title=lens.title, command=lens.command, arguments=[lens.arguments]),
    )
