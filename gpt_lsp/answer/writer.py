"""Shapes code lines for the document (indentation, line ends) and says what to send (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from gpt_lsp.answer.indent import indent_delta, leading_ws


@dataclass(frozen=True)
class Rewrite:
    """A correction: the region's whole text written so far becomes `text`."""

    text: str


Output = str | Rewrite


class CodeWriter:
    """Collects the code to write; `take` returns what to append, or a `Rewrite` after a reset."""

    def __init__(
        self, base: str, eol: str, *, indent_first: bool, trailing: bool, tab_size: int
    ) -> None:
        """Prepares to write code indented like `base`, with `eol` line breaks."""
        self._base = base
        self._eol = eol
        self._indent_first = indent_first
        self._trailing = trailing
        self._tab_size = tab_size
        self._out: list[str] = []  # text since the last take (all of it after a reset)
        self._shown = False  # the caller's region holds text of ours
        self._reset = False
        self._clear()

    def _clear(self) -> None:
        self._pending = 0  # line breaks owed before the next written text
        self._wrote = False
        self._add: str | None = None  # indentation added to every line, fixed by the first
        self.open = False  # a line is being written and has not ended

    @property
    def wrote(self) -> bool:
        """Returns whether any non-blank code was written (since the last reset)."""
        return self._wrote

    def reset(self) -> None:
        """Forgets everything written: what comes next replaces it."""
        self._out.clear()
        self._reset = True
        self._clear()

    def line(self, text: str) -> None:
        """Writes a complete line (a blank one only as an owed line break)."""
        if not text.strip():
            if self._wrote:
                self._pending += 1
            return
        self.start(text)
        self.end()

    def start(self, text: str) -> None:
        """Writes the beginning of a non-blank line; the rest follows with `more`."""
        if self._add is None:
            self._add = indent_delta(self._base, leading_ws(text), self._tab_size)
            prefix = self._add if self._indent_first else ""
        else:
            prefix = self._add
        if self._pending and self._wrote:
            self._out.append(self._eol * self._pending)
        self._pending = 0
        self._out.append(prefix)
        self._out.append(text)
        self._wrote = True
        self.open = True

    def more(self, text: str) -> None:
        """Continues the open line."""
        self._out.append(text)

    def end(self) -> None:
        """Ends the open line."""
        if self.open:
            self.open = False
            self._pending += 1

    def finish(self) -> None:
        """Ends the code: one final line break when the original had one."""
        if self._wrote and self._trailing:
            self._out.append(self._eol)

    def take(self) -> Output:
        """Returns what to send now: text to append, or a Rewrite of the whole region."""
        text = "".join(self._out)
        self._out.clear()
        if self._reset:
            self._reset = False
            if self._shown:
                self._shown = bool(text)
                return Rewrite(text)
        self._shown = self._shown or bool(text)
        return text
