"""SSE framing: the bytes of a body to (event name, data) pairs, a network read at a time.

* Bytes are UTF-8 (a leading byte order mark is dropped, invalid bytes become U+FFFD); a
  character split across reads is joined.
* Lines end at LF, CRLF or CR; a CR ends its line at once, even at the end of a read.
* Fields as the SSE standard decodes them: `data:` lines (one space after the colon dropped,
  or none) join with `\n`; `event:` names the event; lines starting with `:` are comments
  (`: PING` keep-alives); `id`, `retry` and unknown fields are ignored. A blank line ends an
  event; an event whose data is empty is dropped.
* At the end of the body, a last line without its line ending and a last event without its
  blank line still count; the caller is told which event was cut off that way.
* Bounded: a line, or the data of one event, longer than `limit` characters raises
  `FrameTooLarge` as soon as a read makes it so: a line that never ends cannot grow in memory.
"""

from __future__ import annotations

import codecs
from typing import Final

__all__ = ["FRAME_LIMIT", "FrameTooLarge", "SSEFramer", "SseEvent"]

FRAME_LIMIT: Final = 4 * 1024 * 1024
"""Characters one line or event may have by default (one chunk is rarely over a few KB)."""


class FrameTooLarge(ValueError):
    """A line or an event passed the framer's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an SSE line or event over {limit} characters")
        self.limit = limit


SseEvent = tuple[str, str]
"""(event name, data) of one SSE event; the name is "" when the event had none."""

_HEAD_LIMIT: Final = 200


class SSEFramer:
    """Turns the reads of an SSE body into complete events, keeping what a read left open."""

    __slots__ = ("_data", "_event", "_lines", "_text", "head", "limit")

    def __init__(self, limit: int = FRAME_LIMIT) -> None:
        self.limit = limit
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._lines = _LineSplitter()
        self._event = ""
        self._data: list[str] = []
        self.head = ""  # the body's start, for the error about a body that is no stream

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Returns the events that chunk completes."""
        text = self._text.decode(chunk)
        if not text:
            return []
        if len(self.head) < _HEAD_LIMIT:
            self.head += text[:_HEAD_LIMIT]
        lines = self._lines.feed(text)
        if len(text) > self.limit and any(len(line) > self.limit for line in lines):
            raise FrameTooLarge(self.limit)
        events = self._events(lines)
        # What stays open: the unfinished line, and the data of the unfinished event.
        if self._lines.size + sum(map(len, self._data)) > self.limit:
            raise FrameTooLarge(self.limit)
        return events

    def finish(self) -> tuple[list[SseEvent], SseEvent | None]:
        """Returns the events completed at the end of the body, and a last one cut off."""
        tail = self._text.decode(b"", final=True)
        lines = self._lines.feed(tail) if tail else []
        lines += self._lines.flush()
        events = self._events(lines)
        cut = self._events([""])
        return events, cut[0] if cut else None

    def _events(self, lines: list[str]) -> list[SseEvent]:
        out: list[SseEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    payload = data[0] if len(data) == 1 else "\n".join(data)
                    if len(payload) > self.limit:
                        raise FrameTooLarge(self.limit)
                    if payload:
                        out.append((self._event, payload))
                    data = []
                self._event = ""
            elif line.startswith("data:"):  # nearly every line: the fast path
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line[0] != ":":
                name, _, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    self._event = value
        self._data = data
        return out


class _LineSplitter:
    """Splits text into SSE lines at LF, CRLF or CR, in O(read) per read."""

    __slots__ = ("_buffer", "_skip_lf", "size")

    def __init__(self) -> None:
        self._buffer: list[str] = []
        self._skip_lf = False
        self.size = 0
        """Characters of the unfinished line."""

    def feed(self, text: str) -> list[str]:
        """Returns the lines completed by text."""
        # A read ending in CR ends its line at once (an LF starting the next read is then
        # skipped), unlike httpx-sse's line decoder: otherwise "data: [DONE]" CR CR would wait
        # for one more read, forever on relays that keep the connection open.
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if not text:
            return []
        if "\r" in text:
            self._skip_lf = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        rest = lines.pop()
        if lines and self._buffer:
            lines[0] = "".join(self._buffer) + lines[0]
            self._buffer = []
            self.size = 0
        if rest:
            self._buffer.append(rest)
            self.size += len(rest)
        return lines

    def flush(self) -> list[str]:
        """Returns the unterminated last line, if any."""
        if not self._buffer:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        self.size = 0
        return [line]
