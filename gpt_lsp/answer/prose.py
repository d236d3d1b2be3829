"""The filter of answers that are prose (explain): kept whole, markdown and all (pure)."""

from __future__ import annotations

from gpt_lsp.answer.indent import ANY_BREAK


class ProseOutputFilter:
    """Streams an answer as it is (markdown kept), with line breaks turned into `eol`. Line
    breaks at the end are held until more text follows and dropped at the end: the notes
    document's own last line break ends the answer."""

    def __init__(self, eol: str = "\n") -> None:
        """Prepares to write with the document's line ending."""
        if eol not in ("\n", "\r\n", "\r"):
            raise ValueError(f"not a line ending: {eol!r}")
        self._eol = eol
        self._cr = False  # a held "\r": the next delta may start with its "\n"
        self._breaks = 0  # line breaks held at the end of what came so far

    def feed(self, delta: str) -> str:
        """Takes the next piece of the answer; returns the text to append now."""
        text = "\r" + delta if self._cr else delta
        self._cr = text.endswith("\r")
        if self._cr:
            text = text[:-1]
        text = ANY_BREAK.sub(self._eol, text)
        body = text.rstrip("\r\n")
        trailing = (len(text) - len(body)) // len(self._eol)
        if not body:
            self._breaks += trailing
            return ""
        out = self._eol * self._breaks + body
        self._breaks = trailing
        return out

    def finish(self) -> str:
        """Ends the answer; the line breaks still held are dropped."""
        self._cr, self._breaks = False, 0
        return ""
