"""The filter of answers that are prose (explain): kept whole, markdown and all (pure)."""

from __future__ import annotations

from gpt_lsp.jobs.answer.indent import ANY_BREAK


class ProseOutputFilter:
    """Streams an answer as it is (markdown kept), with line breaks turned into `eol`."""

    def __init__(self, eol: str = "\n") -> None:
        """Prepares to write with the document's line ending."""
        if eol not in ("\n", "\r\n", "\r"):
            raise ValueError(f"not a line ending: {eol!r}")
        self._eol = eol
        self._cr = False  # a held "\r": the next delta may start with its "\n"

    def feed(self, delta: str) -> str:
        """Takes the next piece of the answer; returns the text to append now."""
        text = "\r" + delta if self._cr else delta
        self._cr = text.endswith("\r")
        if self._cr:
            text = text[:-1]
        return ANY_BREAK.sub(self._eol, text)

    def finish(self) -> str:
        """Ends the answer; returns the rest of the text."""
        held, self._cr = self._cr, False
        return self._eol if held else ""
