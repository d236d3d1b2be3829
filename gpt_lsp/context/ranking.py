"""Which definitions the names of a selection point to, best first (pure).

The same file first (outside what the prompt already holds), then open documents, then the
workspace index; among files, those the document imports and those beside it first.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gpt_lsp.context.names import Used
from gpt_lsp.context.symbols import Symbol

ORIGINS = ("file", "open", "index")
MAX_PER_NAME = 2
MAX_AMBIGUOUS = 3  # a method name defined in more places than this is not guessed at
MAX_CANDIDATES = 32


@dataclass(frozen=True)
class Found:
    """A definition somewhere: its file, the symbol, and where it was found."""

    uri: str
    symbol: Symbol
    origin: str  # file | open | index


@dataclass(frozen=True)
class Candidate:
    """A definition worth sending, with its score."""

    found: Found
    score: float
    name: str


Lookup = Callable[[str], Iterable[Found]]


def rank_definitions(
    used: Sequence[Used],
    here_uri: str,
    here_symbols: Sequence[Symbol],
    shown: tuple[int, int],
    lookups: Sequence[Lookup],
    imports: set[str],
    named: Mapping[str, str] | None = None,
) -> list[Candidate]:
    """Returns the definitions the used names point to, best first.

    `shown` is the line range of the document the prompt already holds (selection and the
    code around it); `lookups` are the open documents' then the index's, by name."""
    out: dict[tuple[str, int, str], Candidate] = {}
    free = {u.name for u in used if not u.member}
    here_dir = posixpath.dirname(here_uri)
    for rank, name_used in enumerate(used):
        weight = _weight(name_used)
        weight -= rank * 0.01
        found = _resolve(name_used, here_uri, here_symbols, shown, lookups)
        if name_used.member:
            found = [f for f in found if f.symbol.parent is not None]
            owners = [f for f in found if f.symbol.parent == name_used.owner]
            owners = owners or [f for f in found if f.symbol.parent in free]
            if owners:
                found = owners
            elif len(found) > MAX_AMBIGUOUS:
                continue
        scored = []
        for item in found:
            score = weight + {"file": 0.6, "open": 0.3}.get(item.origin, 0.0)
            if _imported(item.uri, imports):
                score += 0.5
            if posixpath.dirname(item.uri) == here_dir:
                score += 0.2
            scored.append(Candidate(item, score, name_used.name))
        source = (named or {}).get(name_used.name)
        if source is not None and any(_imported(c.found.uri, {source}) for c in scored):
            scored = [c for c in scored if _imported(c.found.uri, {source})]
        elif any(_imported(c.found.uri, imports) for c in scored):
            scored = [c for c in scored if _imported(c.found.uri, imports)]  # what it imports
        scored.sort(key=lambda c: -c.score)
        for candidate in scored[:MAX_PER_NAME]:
            key = (candidate.found.uri, candidate.found.symbol.first, candidate.found.symbol.name)
            if key not in out or out[key].score < candidate.score:
                out[key] = candidate
    ranked = sorted(out.values(), key=lambda c: -c.score)
    return ranked[:MAX_CANDIDATES]


def _resolve(
    used: Used,
    here_uri: str,
    here_symbols: Sequence[Symbol],
    shown: tuple[int, int],
    lookups: Sequence[Lookup],
) -> list[Found]:
    """Returns the definitions of a name: the nearest origin that has any (shadowing)."""
    local = [s for s in here_symbols if s.name == used.name]
    if local:
        # Defined here: the prompt may already hold it; either way, not elsewhere.
        outside = [s for s in local if s.last < shown[0] or s.first > shown[1]]
        return [Found(here_uri, s, "file") for s in outside]
    for lookup in lookups:
        found = [f for f in lookup(used.name) if f.uri != here_uri]
        if found:
            return found
    return []


def _imported(uri: str, imports: set[str]) -> bool:
    """True when a file is one the document imports (by its name or its package's)."""
    stem = posixpath.splitext(posixpath.basename(uri))[0]
    return stem in imports or posixpath.basename(posixpath.dirname(uri)) in imports


def _weight(used: Used) -> float:
    """Calls first (what the code does), then types, then other names, then members."""
    if used.member:
        return 2.0 if used.owner else 1.0
    if used.called:
        return 3.0
    return 2.5 if used.name[:1].isupper() else 2.0
