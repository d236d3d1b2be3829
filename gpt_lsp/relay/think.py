"""Splits streamed `content` into answer text and a leading `<think>...</think>` reasoning block.

`<think>` counts as reasoning only at the very start of the answer (leading whitespace allowed),
so a model that writes the tag inside its answer keeps it; newlines right after `</think>` are
dropped. A tag may arrive split across deltas at any character: a possible partial tag is held
back until the next delta (or the end of the answer) decides it. An unclosed block stays
reasoning to the end.
"""

from __future__ import annotations

from typing import Final

from gpt_lsp.relay.events import ReasoningDelta, TextDelta

__all__ = ["ContentEvent", "ThinkSplitter"]

_OPEN: Final = "<think>"
_CLOSE: Final = "</think>"

# ThinkSplitter modes.
_START, _THINK, _AFTER, _TEXT = range(4)

ContentEvent = TextDelta | ReasoningDelta


class ThinkSplitter:
    """Splits streamed `content` into answer text and a leading `<think>` reasoning block."""

    __slots__ = ("_mode", "_pending", "passing")

    def __init__(self) -> None:
        self._mode = _START
        self.passing = False  # past the start and any reasoning block: text passes as it is
        # START: text seen so far (whitespace and a partial "<think>");
        # THINK: a held-back tail that may be the start of "</think>".
        self._pending = ""

    def feed(self, text: str) -> list[ContentEvent]:
        """Returns the events for one content delta; may hold back a possible partial tag."""
        if not text:
            return []
        mode = self._mode
        if mode == _TEXT:
            return [TextDelta(text)]
        if mode == _THINK:
            return self._think(text)
        if mode == _AFTER:
            return self._after(text)
        self._pending += text
        head = self._pending.lstrip()
        if not head or (len(head) < len(_OPEN) and _OPEN.startswith(head)):
            return []  # still could become "<think>"
        if head.startswith(_OPEN):
            self._mode = _THINK
            self._pending = ""
            return self._think(head[len(_OPEN) :])
        out, self._pending = self._pending, ""
        self._to_text()
        return [TextDelta(out)]

    def flush(self) -> list[ContentEvent]:
        """Returns held-back text at the end of the answer (an unclosed think stays reasoning)."""
        pending, self._pending = self._pending, ""
        if self._mode == _START:
            self._to_text()
            return [TextDelta(pending)] if pending else []
        if self._mode == _THINK and pending:
            return [ReasoningDelta(pending)]
        return []

    def _think(self, text: str) -> list[ContentEvent]:
        buf = self._pending + text if self._pending else text
        end = buf.find(_CLOSE)
        if end >= 0:
            self._pending = ""
            self._mode = _AFTER
            out: list[ContentEvent] = [ReasoningDelta(buf[:end])] if end else []
            out.extend(self._after(buf[end + len(_CLOSE) :]))
            return out
        keep = _partial_suffix(buf, _CLOSE)
        self._pending = buf[len(buf) - keep :] if keep else ""
        body = buf[: len(buf) - keep]
        return [ReasoningDelta(body)] if body else []

    def _after(self, text: str) -> list[ContentEvent]:
        # new-api and R1-style models put newlines between "</think>" and the answer.
        text = text.lstrip("\r\n")
        if not text:
            return []
        self._to_text()
        return [TextDelta(text)]

    def _to_text(self) -> None:
        self._mode = _TEXT
        self.passing = True


def _partial_suffix(buf: str, tag: str) -> int:
    """Returns the length of the longest end of buf that is a proper start of tag."""
    for size in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:size]):
            return size
    return 0
