"""Context pieces within a token budget, the prompt block they make and their receipts (pure).

Definitions go in their compact form (signature and docstring; a class with its members'
signatures) first, best first; then, best first again, a piece grows to its whole body when the
rest of the budget holds it. So a tight budget buys many signatures, a loose one whole bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gpt_lsp.accounting.usage import local_token_count
from gpt_lsp.context.symbols import COMMENT, Symbol

Lines = Sequence[str]


@dataclass(frozen=True)
class Piece:
    """One snippet sent as context, and what its receipt says."""

    uri: str
    label: str  # the file as the prompt names it (relative to the workspace)
    first: int
    last: int
    text: str
    source: str  # definition | document | edit | instructions
    title: str = ""  # what it is: "apply_discount", "recent edit"
    language: str = ""

    @property
    def tokens(self) -> int:
        """Returns the piece's token estimate, its heading included."""
        return local_token_count(self.heading()) + local_token_count(self.text) + 4

    def heading(self) -> str:
        """Returns the line that names the piece in the prompt."""
        where = f"{self.label}, lines {self.first + 1}-{self.last + 1}"
        return f"{where} ({self.title})" if self.title else where

    def receipt(self) -> dict[str, object]:
        """Returns the receipt {uri, range?, tokens, source} of jobFinished."""
        out: dict[str, object] = {"uri": self.uri, "source": self.source}
        if self.source != "instructions":
            out["range"] = {
                "start": {"line": self.first, "character": 0},
                "end": {"line": self.last + 1, "character": 0},
            }
        out["tokens"] = self.tokens
        return out


@dataclass
class Offer:
    """A definition on offer: where it is, and its text in both forms."""

    uri: str
    label: str
    symbol: Symbol
    lines: Lines
    language: str
    compact: str = field(init=False)
    full: str = field(init=False)

    def __post_init__(self) -> None:
        self.full = whole(self.lines, self.symbol.first, self.symbol.last)
        self.compact = outline_text(self.lines, self.symbol, self.language)

    def piece(self, text: str) -> Piece:
        """Returns the offer as a piece with the given text."""
        title = (
            f"{self.symbol.parent}.{self.symbol.name}" if self.symbol.parent else self.symbol.name
        )
        return Piece(
            self.uri, self.label, self.symbol.first, self.symbol.last, text, "definition",
            title, self.language,
        )  # fmt: skip


def whole(lines: Lines, first: int, last: int) -> str:
    """Returns whole lines first..last, ending with a line break."""
    text = "".join(lines[first : last + 1])
    return text if text.endswith("\n") else text + "\n"


def outline_text(lines: Lines, symbol: Symbol, language: str) -> str:
    """Returns a definition's compact form: its outline's lines, `...` where lines are left out."""
    if symbol.is_compact_whole:
        return whole(lines, symbol.first, symbol.last)
    comment = COMMENT.get(language, "//")
    parts: list[str] = []
    previous = symbol.first - 1
    for start, end in symbol.outline:
        if parts and any(line.strip() for line in lines[previous + 1 : start]):
            parts.append(_elided(lines, previous + 1, comment))
        parts.append(whole(lines, start, end))
        previous = end
    if any(line.strip() for line in lines[previous + 1 : symbol.last + 1]):
        parts.append(_elided(lines, previous + 1, comment))
    return "".join(parts)


def _elided(lines: Lines, at: int, comment: str) -> str:
    """`...` at the indentation of the first left-out line that is not blank."""
    while at + 1 < len(lines) and not lines[at].strip():
        at += 1
    text = lines[at] if 0 <= at < len(lines) else ""
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    return f"{indent}{comment} ...\n"


def pack_definitions(offers: Sequence[Offer], budget: int) -> list[Piece]:
    """Returns the pieces that fit in `budget` tokens: compact forms best first, then bodies."""
    chosen: list[tuple[Offer, Piece]] = []
    used = 0
    for offer in offers:
        if _inside_any(offer, [o for o, p in chosen if p.text == o.full]):
            continue
        piece = offer.piece(offer.compact)
        if used + piece.tokens <= budget:
            chosen.append((offer, piece))
            used += piece.tokens
    for index, (offer, piece) in enumerate(chosen):
        if piece.text == offer.full:
            continue
        bigger = offer.piece(offer.full)
        if used - piece.tokens + bigger.tokens <= budget:
            chosen[index] = (offer, bigger)
            used += bigger.tokens - piece.tokens
    return [piece for _offer, piece in chosen]


def _inside_any(offer: Offer, taken: Sequence[Offer]) -> bool:
    return any(
        o.uri == offer.uri
        and o.symbol.first <= offer.symbol.first
        and offer.symbol.last <= o.symbol.last
        for o in taken
    )


def fill(pieces: Sequence[Piece], budget: int) -> list[Piece]:
    """Returns the pieces, in order, that fit in `budget` tokens (one that does not is skipped)."""
    out: list[Piece] = []
    used = 0
    for piece in pieces:
        if used + piece.tokens <= budget:
            out.append(piece)
            used += piece.tokens
    return out


def clip(text: str, budget: int, count: Callable[[str], int] = local_token_count) -> str:
    """Returns text cut at a line boundary to fit in `budget` tokens."""
    if count(text) <= budget:
        return text
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        cost = count(line)
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "".join(kept)
