"""`<think>...</think>` blocks dropped from a prose answer where a line starts with one, as
for jobs (the relay layer drops the one at the very start); the rest streams as it comes
(pure)."""

from __future__ import annotations

_OPEN, _CLOSE = "<think>", "</think>"


class ThinkFilter:
    """Streams text with reasoning blocks left out; holds only what may be a tag's start."""

    def __init__(self) -> None:
        self._held = ""
        self._thinking = False
        self._line_start = True
        self._after_close = False  # line breaks right after "</think>" go too

    def feed(self, text: str) -> str:
        """Returns the text to write now of what came so far."""
        buf, self._held = self._held + text, ""
        out: list[str] = []
        i = 0
        while i < len(buf):
            if self._thinking:
                end = buf.find(_CLOSE, i)
                if end < 0:
                    self._held = _tag_start(buf[i:], _CLOSE)
                    return "".join(out)
                i, self._thinking, self._after_close = end + len(_CLOSE), False, True
                continue
            if self._after_close:
                rest = buf[i:].lstrip("\r\n")
                i = len(buf) - len(rest)
                if not rest:
                    break
                self._after_close, self._line_start = False, True
            if self._line_start:
                rest = buf[i:]
                word = rest.lstrip(" \t")
                if len(word) < len(_OPEN) and _OPEN.startswith(word):
                    self._held = rest  # may still become "<think>"
                    return "".join(out)
                if word.startswith(_OPEN):
                    i += len(rest) - len(word) + len(_OPEN)
                    self._thinking = True
                    continue
            end = buf.find("\n", i)
            if end < 0:
                out.append(buf[i:])
                self._line_start = False
                break
            out.append(buf[i : end + 1])
            i, self._line_start = end + 1, True
        return "".join(out)

    def finish(self) -> str:
        """Returns what was held at the end (an unclosed block stays dropped)."""
        held, self._held = self._held, ""
        return "" if self._thinking else held


def _tag_start(text: str, tag: str) -> str:
    """Returns the end of `text` that may be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return text[-size:]
    return ""
