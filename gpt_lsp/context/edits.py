"""The user's recent edits: the last few changed line ranges per document, kept in place as
later changes move them (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpt_lsp.text.regions import Span

KEEP = 12  # hunks remembered across documents
NEAR = 2  # lines: an edit this close to the last one of the document grows it


@dataclass
class Hunk:
    """Lines of a document the user changed lately (in the document's current lines)."""

    uri: str
    first: int
    last: int
    seq: int


class RecentEdits:
    """The newest changed hunks, moved along with the changes that follow them."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._hunks: list[Hunk] = []
        self._seq = 0

    def record(self, uri: str, span: Span | None, text: str) -> None:
        """Takes one content change of a didChange (None: the whole document replaced)."""
        if span is None:
            self.forget(uri)
            return
        start, end = min(span.start.line, span.end.line), max(span.start.line, span.end.line)
        added = text.count("\n")
        delta = added - (end - start)
        new_last = start + added
        self._seq += 1
        for hunk in self._hunks:
            if hunk.uri != uri:
                continue
            if hunk.first > end:
                hunk.first += delta
                hunk.last += delta
            elif hunk.last >= start:  # overlapping the change: it covers the change's lines
                hunk.last = max(start, hunk.last + delta)
        newest = self._newest(uri)
        if newest is not None and newest.first - NEAR <= new_last and start <= newest.last + NEAR:
            newest.first = min(newest.first, start)
            newest.last = max(newest.last, new_last)
            newest.seq = self._seq
        else:
            self._hunks.append(Hunk(uri, start, new_last, self._seq))
        self._hunks.sort(key=lambda h: h.seq)
        del self._hunks[: max(0, len(self._hunks) - self._keep)]

    def _newest(self, uri: str) -> Hunk | None:
        for hunk in reversed(self._hunks):
            if hunk.uri == uri:
                return hunk
        return None

    def forget(self, uri: str) -> None:
        """Drops a document's hunks (closed, or replaced whole)."""
        self._hunks = [h for h in self._hunks if h.uri != uri]

    def hunks(self) -> Sequence[Hunk]:
        """Returns the hunks, newest first."""
        return sorted(self._hunks, key=lambda h: -h.seq)

    def __len__(self) -> int:
        return len(self._hunks)
