"""Chooses a prompt's context from every source, each within its token budget (pure).

Sources: definitions of the names the code uses (the same file, open documents, the index),
outlines of the open documents most related to it, the user's recent edits elsewhere, and the
project's instructions file. Nothing the prompt already holds is sent twice.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gpt_lsp.context.block import ContextPack
from gpt_lsp.context.edits import Hunk
from gpt_lsp.context.names import imported_modules, imported_names, names_used
from gpt_lsp.context.packing import Offer, Piece, clip, fill, outline_text, pack_definitions, whole
from gpt_lsp.context.ranking import Found, Lookup, rank_definitions
from gpt_lsp.context.symbols import Symbol

EDIT_MARGIN = 1  # lines shown around an edited hunk
MAX_EDIT_LINES = 30
MAX_DOCUMENTS = 2


@dataclass(frozen=True)
class Budgets:
    """Tokens each source may use; 0 turns it off."""

    definitions: int = 0
    documents: int = 0
    edits: int = 0
    instructions: int = 0


@dataclass(frozen=True)
class Doc:
    """A file as context sees it: its lines and definitions."""

    uri: str
    label: str
    language: str
    lines: Sequence[str]
    symbols: Sequence[Symbol]


@dataclass(frozen=True)
class Here:
    """Where the prompt is: the document, the lines the prompt holds, the code it is about."""

    doc: Doc
    shown: tuple[int, int]
    code: str  # the selection (or the lines at the cursor): its names are looked up
    local: frozenset[str] = frozenset()  # names the file defines (when its symbols are not used)


@dataclass(frozen=True)
class Sources:
    """What context may come from."""

    open_docs: Sequence[Doc] = ()
    index: Lookup | None = None
    load: Callable[[str], Doc | None] = lambda uri: None  # an indexed file, read now
    hunks: Sequence[Hunk] = ()
    instructions: tuple[str, str, str] | None = None  # uri, label, text


def gather(here: Here, sources: Sources, budgets: Budgets) -> ContextPack:
    """Returns the context for a prompt: definitions, related documents, edits, instructions."""
    pieces: list[Piece] = []
    if budgets.instructions > 0 and sources.instructions is not None:
        uri, label, text = sources.instructions
        text = clip(text, budgets.instructions - 16)
        if text.strip():
            pieces.append(Piece(uri, label, 0, text.count("\n"), text, "instructions"))
    head = "".join(here.doc.lines[:200])
    imports = imported_modules(head)
    if budgets.definitions > 0:
        pieces += definitions(here, sources, imports, budgets.definitions, imported_names(head))
    if budgets.documents > 0:
        pieces += related_documents(here, sources.open_docs, imports, pieces, budgets.documents)
    if budgets.edits > 0:
        pieces += recent_edits(here, sources, budgets.edits)
    return ContextPack(tuple(pieces))


def definitions(
    here: Here, sources: Sources, imports: set[str], budget: int, named: dict[str, str]
) -> list[Piece]:
    """The definitions of the names the code uses, packed in the budget."""
    used = [u for u in names_used(here.code) if u.name not in here.local]
    if not used:
        return []
    lookups: list[Lookup] = [open_lookup(sources.open_docs)]
    if sources.index is not None:
        lookups.append(sources.index)
    ranked = rank_definitions(
        used, here.doc.uri, here.doc.symbols, here.shown, lookups, imports, named
    )
    docs = {d.uri: d for d in sources.open_docs}
    docs[here.doc.uri] = here.doc
    offers: list[Offer] = []
    for candidate in ranked:
        found = candidate.found
        doc = docs.get(found.uri)
        if doc is None and found.origin == "index":
            doc = sources.load(found.uri)
            if doc is not None:
                docs[found.uri] = doc
        symbol = _current(found.symbol, doc)
        if doc is None or symbol is None:
            continue
        offers.append(Offer(doc.uri, doc.label, symbol, doc.lines, doc.language))
    return pack_definitions(offers, budget)


def _current(symbol: Symbol, doc: Doc | None) -> Symbol | None:
    """The symbol as the file has it now (an index entry may be older than the file)."""
    if doc is None:
        return None
    if symbol in doc.symbols:
        return symbol
    same = [s for s in doc.symbols if s.name == symbol.name and s.parent == symbol.parent]
    return same[0] if same else None


def open_lookup(docs: Sequence[Doc]) -> Lookup:
    """Returns a lookup by name over open documents' definitions."""
    table: dict[str, list[Found]] = {}
    for doc in docs:
        for symbol in doc.symbols:
            table.setdefault(symbol.name, []).append(Found(doc.uri, symbol, "open"))

    def lookup(name: str) -> Iterable[Found]:
        return table.get(name, ())

    return lookup


def related_documents(
    here: Here, docs: Sequence[Doc], imports: set[str], taken: Sequence[Piece], budget: int
) -> list[Piece]:
    """Outlines of the open documents the code is most related to: imported, or sharing names."""
    names = {u.name for u in names_used("".join(here.doc.lines[here.shown[0] : here.shown[1] + 1]))}
    scored: list[tuple[float, Doc]] = []
    for doc in docs:
        if doc.uri == here.doc.uri or not doc.symbols:
            continue
        stem = posixpath.splitext(posixpath.basename(doc.uri))[0]
        shared = sum(1 for s in doc.symbols if s.name in names)
        score = (2.0 if stem in imports else 0.0) + shared
        if score > 0:
            scored.append((score, doc))
    scored.sort(key=lambda item: -item[0])
    sent = {(p.uri, p.first) for p in taken}
    out: list[Piece] = []
    for _score, doc in scored[:MAX_DOCUMENTS]:
        tops = [s for s in doc.symbols if s.parent is None and (doc.uri, s.first) not in sent]
        if not tops:
            continue
        text = "".join(outline_text(doc.lines, s, doc.language) for s in tops)
        left = budget - sum(p.tokens for p in out) - 24
        text = clip(text, left)
        if text.strip():
            last = tops[-1].last
            out.append(
                Piece(
                    doc.uri,
                    doc.label,
                    tops[0].first,
                    last,
                    text,
                    "document",
                    "outline",
                    doc.language,
                )
            )
    return fill(out, budget)


def recent_edits(here: Here, sources: Sources, budget: int) -> list[Piece]:
    """The lines around the user's latest edits, outside what the prompt already holds."""
    docs = {d.uri: d for d in sources.open_docs}
    docs[here.doc.uri] = here.doc
    pieces: list[Piece] = []
    for hunk in sources.hunks:
        doc = docs.get(hunk.uri)
        if doc is None or not doc.lines:
            continue
        first = max(0, hunk.first - EDIT_MARGIN)
        last = min(len(doc.lines) - 1, hunk.last + EDIT_MARGIN, first + MAX_EDIT_LINES)
        if doc.uri == here.doc.uri and first <= here.shown[1] and last >= here.shown[0]:
            continue  # the prompt shows it already
        if any(p.uri == doc.uri and p.first <= last and first <= p.last for p in pieces):
            continue
        text = whole(doc.lines, first, last)
        if text.strip():
            pieces.append(
                Piece(doc.uri, doc.label, first, last, text, "edit", "edited", doc.language)
            )
    return fill(pieces, budget)
