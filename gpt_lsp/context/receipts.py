"""What context was sent, said briefly: the receipts a chat heading lists and the words a
jobFinished summary adds (pure; one source for what every editor shows)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from gpt_lsp.context.packing import Piece
from gpt_lsp.i18n import _, ngettext

MAX_LISTED = 3  # pieces a heading names; the rest are counted
MAX_NAME = 40  # characters of a file name in a heading


def listed(pieces: Sequence[Piece], limit: int = MAX_LISTED) -> str:
    """Returns one line naming what was sent: `context: pricing.py:6-10 (120 tok), ...`."""
    if not pieces:
        return ""
    items = [
        _("{where} ({tokens} tok)").format(where=_where(p), tokens=p.tokens) for p in pieces[:limit]
    ]
    rest = pieces[limit:]
    if rest:
        more = _("+{count} more ({tokens} tok)")
        items.append(more.format(count=len(rest), tokens=sum(p.tokens for p in rest)))
    return _("context: {pieces}").format(pieces=_(", ").join(items))


def summary(receipts: Sequence[Mapping[str, object]]) -> str:
    """Returns the count and tokens of the receipts: `context: 3 pieces, 390 tokens`."""
    if not receipts:
        return ""
    tokens = 0
    for receipt in receipts:
        count = receipt.get("tokens")
        tokens += count if isinstance(count, int) else 0
    text = ngettext(
        "context: {count} piece, {tokens} tokens",
        "context: {count} pieces, {tokens} tokens",
        len(receipts),
    )
    return text.format(count=len(receipts), tokens=tokens)


def _where(piece: Piece) -> str:
    """A piece's file name (printable, bounded) and, but for instructions, its lines."""
    name = "".join(c if c.isprintable() else "?" for c in posixpath.basename(piece.label))
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 1] + "…"
    if piece.source == "instructions":
        return name
    return f"{name}:{piece.first + 1}-{piece.last + 1}"
