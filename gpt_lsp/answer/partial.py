"""The line of an answer still coming in: held whole, or written as it streams (pure).

A line that streams holds back backticks at its end (they may be a closing fence) and stops
at a run of three (a fence in the middle of the line): the rest waits for the line's end.
"""

from __future__ import annotations

from collections.abc import Callable

from gpt_lsp.answer.writer import CodeWriter

HEAD = 64  # characters of a line looked at before it may stream

# Given the line's first HEAD characters (or fewer, so far): True streams it from now on,
# False looks again at the next piece, None holds it until it is complete.
Decide = Callable[[str], "bool | None"]


class PartialLine:
    """The current line: its pieces, and how much of it the writer has."""

    def __init__(self, writer: CodeWriter) -> None:
        """Writes streaming lines with `writer`."""
        self._writer = writer
        self._buf: list[str] = []
        self._clear()

    def _clear(self) -> None:
        self._buf.clear()
        self._head = ""
        self._wait = False  # held until complete
        self._live = False  # written as it streams
        self._stopped = False  # a backtick run came: the rest waits
        self._ticks = ""  # trailing backticks held back
        self._streamed = 0  # characters written

    @property
    def pending(self) -> bool:
        """Returns whether part of a line came (and its end did not)."""
        return bool(self._buf)

    def add(self, chunk: str, decide: Decide) -> None:
        """Takes a piece of the line (no line break in it)."""
        self._buf.append(chunk)
        if self._live:
            self._stream(chunk)
            return
        if self._wait:
            return
        if len(self._head) < HEAD:
            self._head += chunk[: HEAD - len(self._head)]
        verdict = decide(self._head)
        if verdict is None:
            self._wait = True
        elif verdict:
            self._live = True
            self._stream("".join(self._buf))

    def take(self) -> tuple[str, int]:
        """Ends the line: returns it and how many of its characters were written."""
        line, streamed = "".join(self._buf), self._streamed
        self._clear()
        return line, streamed

    def _stream(self, chunk: str) -> None:
        if self._stopped:
            return
        text = self._ticks + chunk
        run = text.find("```")
        if run >= 0:
            text, self._stopped = text[:run], True
            self._ticks = ""
        else:
            body = text.rstrip("`")
            self._ticks, text = text[len(body) :], body
        if not text:
            return
        if self._writer.open:
            self._writer.more(text)
        else:
            self._writer.start(text)
        self._streamed += len(text)
