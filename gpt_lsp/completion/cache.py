"""Suggestions already shown: typing their first characters, or coming back to where they
were asked, is answered from here without a relay request.

Typing through a suggestion in an editor that closes brackets (Helix, VS Code) puts the
closer after the cursor: the rest then stops before the bracket the editor already wrote.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gpt_lsp.completion.clean import CLOSERS, OPENERS, cut_at_context_closer

ANCHOR_CHARS = 256  # characters before the cursor that identify where a suggestion was made
SUFFIX_CHARS = 256  # characters after the cursor that must not have changed
AUTO_CLOSED = 3  # closing brackets an editor may have added after the cursor meanwhile


@dataclass(frozen=True)
class Entry:
    """One suggestion and where it was made."""

    anchor: str  # the end of the text before the cursor
    whole: bool  # the anchor is all the text before the cursor (it must match exactly)
    suffix: str  # the start of the text after it
    text: str  # "" when the answer was empty: coming back asks nothing either
    at: float


class SuggestionCache:
    """A few suggestions per document, for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = 30.0,
        per_document: int = 16,
        documents: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.per_document = per_document
        self.documents = documents
        self._clock = clock
        self._entries: OrderedDict[str, list[Entry]] = OrderedDict()

    def put(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        """Remembers the suggestion made with this text before and after the cursor."""
        entries = [e for e in self._live(uri) if e.anchor != prefix[-ANCHOR_CHARS:]]
        anchor = prefix[-ANCHOR_CHARS:]
        entry = Entry(
            anchor, len(anchor) == len(prefix), suffix[:SUFFIX_CHARS], text, self._clock()
        )
        entries.append(entry)
        self._entries[uri] = entries[-self.per_document :]
        self._entries.move_to_end(uri)
        while len(self._entries) > self.documents:
            self._entries.popitem(last=False)

    def get(self, uri: str, prefix: str, suffix: str) -> str | None:
        """Returns what is still missing of a suggestion at this cursor, or None (ask)."""
        suffix = suffix[:SUFFIX_CHARS]
        for entry in reversed(self._live(uri)):
            typed = _typed(entry, prefix)
            if typed is None:
                continue
            rest = entry.text[typed:]
            if entry.suffix == suffix:
                return rest
            closed = _auto_closed(entry.suffix, suffix, entry.text[:typed])
            if closed:
                return cut_at_context_closer(rest, closed)
        return None

    def forget(self, uri: str) -> None:
        """Drops a document's suggestions (closed)."""
        self._entries.pop(uri, None)

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())

    def _live(self, uri: str) -> list[Entry]:
        now = self._clock()
        entries = [e for e in self._entries.get(uri, []) if now - e.at <= self.ttl]
        if entries:
            self._entries[uri] = entries
        else:
            self._entries.pop(uri, None)
        return entries


def _auto_closed(before: str, now: str, typed: str) -> str:
    """The closing brackets an editor put after the cursor for the brackets typed through
    ("" when the text after the cursor changed otherwise)."""
    expected = "".join(OPENERS[c] for c in reversed(_open_in(typed)))
    for count in range(min(len(expected), AUTO_CLOSED), 0, -1):
        added = now[:count]
        if added == expected[:count] and now[count:] == before[: len(now) - count]:
            return added
    return ""


def _open_in(text: str) -> list[str]:
    """The brackets a text opens and leaves open."""
    depth: list[str] = []
    for char in text:
        if char in OPENERS:
            depth.append(char)
        elif char in CLOSERS and depth and depth[-1] == CLOSERS[char]:
            depth.pop()
    return depth


def _typed(entry: Entry, prefix: str) -> int | None:
    """How much of the suggestion the prefix has typed after its place (0: at its place),
    or None when the prefix is elsewhere or typed something else."""
    if _at_anchor(entry, prefix):
        return 0  # the same place (an empty text: nothing to suggest there)
    for typed in range(1, len(entry.text)):
        if prefix.endswith(entry.text[:typed]) and _at_anchor(entry, prefix[: len(prefix) - typed]):
            return typed
    return None


def _at_anchor(entry: Entry, prefix: str) -> bool:
    """True when the text before the cursor is the one the suggestion was made at."""
    return prefix == entry.anchor if entry.whole else prefix.endswith(entry.anchor)
