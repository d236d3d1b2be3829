"""Output hygiene: turn a model's streamed answer into the exact text to write into a document.

`CodeOutputFilter` rules, in the order they apply:

- Leading blank lines are dropped.
- The first non-blank line decides the mode:
  * an opening fence (```` ``` ````, ```` ```lang ````, ``~~~``): it is dropped; the code up to
    the matching closing fence is written; the closing fence and everything after it are
    dropped (`done` turns true so the caller may stop the stream);
  * prose (a line opening with "Here is", "Sure", "以下", "这是"...; or plain words, without
    code characters such as ()=;{} and not opening with a keyword such as for/if/def, that end
    with ':' '.' '!' '?' (or full-width forms), or are four words or more; a "**bold**" line
    counts by its text): held back, with what follows, until a fence shows up; then the
    prose is dropped and the fenced code is written. If no fence ever comes, `finish` decides:
    when the first line was clearly prose ("Here is...", a sentence) and something other than
    prose follows, the leading prose block is dropped and the rest is written; otherwise
    everything held is written (prompts ask for code only, so a line we were unsure about is
    more likely code than chatter, and dropping code would be worse than keeping a line);
  * anything else is code, written as it streams; a later bare fence line ends the output.
- Part of a fence is never written: a line that could still become a fence is held back until
  it is complete or clearly not a fence; other partial lines are written at once.
- Indentation: when the first code line is indented less than the original's first non-blank
  line, the difference (tabs if the original indents with tabs) is added to every non-blank
  line. Answers indented more are left alone.
- Line breaks ("\\n", "\\r\\n" or a lone "\\r") become `eol`. Whitespace-only lines become
  empty lines. Trailing blank lines are dropped; the output then ends with exactly one `eol`
  when the original ended with a line break, and with none otherwise (nothing at all when
  nothing was written).

Every `feed` does work proportional to its delta (plus a bounded window for the first line),
and what it returns is final: the output only ever grows.
"""

from __future__ import annotations

from enum import Enum

from gpt_lsp.jobs.lines import (
    ANY_BREAK,
    BARE_FENCE,
    BREAK_CHAR,
    CODE_CHARS,
    PHRASE_HEAD,
    LineKind,
    classify_line,
    first_indent,
    indent_delta,
    leading_ws,
    opening_fence,
    phrase_possible,
    unbold,
)


class _State(Enum):
    START = 0
    PROSE = 1
    FENCED = 2
    PLAIN = 3
    DONE = 4


class CodeOutputFilter:
    """Streams the code of an answer, without fences or prose, shaped for the document."""

    def __init__(
        self,
        original: str,
        eol: str = "\n",
        *,
        base_indent: str | None = None,
        indent_first_line: bool = True,
        trailing_newline: bool | None = None,
        tab_size: int = 4,
    ) -> None:
        """Prepares to replace `original`; keyword arguments override what it implies."""
        if eol not in ("\n", "\r\n", "\r"):
            raise ValueError(f"not a line ending: {eol!r}")
        self._eol = eol
        self._base = first_indent(original) if base_indent is None else base_indent
        self._trailing = (
            original.endswith(("\n", "\r")) if trailing_newline is None else trailing_newline
        )
        # False when inserting after a line's existing indentation: the cursor is already there.
        self._indent_first = indent_first_line
        self._tab_size = tab_size
        self._state = _State.START
        self._finished = False
        self._skip_lf = False  # the last delta ended with "\r": a leading "\n" belongs to it
        # The current line: held chunks, or already being written (_open).
        self._buf: list[str] = []
        self._open = False
        self._scan = 0  # fence scanner: 0 indentation, 1 fence run, 2 after it, -1 not a fence
        self._scan_char = ""
        self._scan_len = 0
        self._head = ""  # first PHRASE_HEAD characters of a held first line, indentation stripped
        self._code_char = False  # a code character was seen past the head
        # Output state.
        self._pending = 0  # line breaks owed before the next written text
        self._wrote = False
        self._add: str | None = None  # indentation added to code lines, fixed by the first
        self._fence: tuple[str, int] = ("`", 3)
        self._held: list[tuple[str, LineKind]] = []
        self._held_code = False
        self._first_kind = LineKind.CODE
        self._prose: list[str] = []

    @property
    def done(self) -> bool:
        """Returns whether more input is ignored (closing fence seen, or finished)."""
        return self._state is _State.DONE

    @property
    def prose(self) -> str:
        """Returns the prose dropped before the code, for showing elsewhere."""
        return "\n".join(self._prose)

    def feed(self, delta: str) -> str:
        """Takes the next piece of the answer; returns the text to append to the document now."""
        if self._finished:
            raise ValueError("feed() after finish()")
        if not delta or self._state is _State.DONE:
            return ""
        out: list[str] = []
        i, n = 0, len(delta)
        if self._skip_lf:
            self._skip_lf = False
            if delta[0] == "\n":
                i = 1
        while i < n and not self.done:
            m = BREAK_CHAR.search(delta, i)
            if m is None:
                self._add_text(delta[i:], out)
                break
            j = m.start()
            if j > i:
                self._add_text(delta[i:j], out)
            self._end_line(out)
            if delta[j] == "\r":
                if j + 1 == n:
                    self._skip_lf = True
                elif delta[j + 1] == "\n":
                    j += 1
            i = j + 1
        return "".join(out)

    def finish(self) -> str:
        """Ends the answer; returns the rest of the text to append."""
        if self._finished:
            return ""
        self._finished = True
        out: list[str] = []
        if self._state is not _State.DONE and (self._buf or self._open):
            self._end_line(out)
        if self._state is _State.PROSE:
            self._release_held(out)
        self._state = _State.DONE
        if self._wrote and self._trailing:
            out.append(self._eol)
        return "".join(out)

    # --- the current line ---------------------------------------------------------------

    def _add_text(self, chunk: str, out: list[str]) -> None:
        """Adds a piece of the current line (no line breaks in it)."""
        if self._open:
            out.append(chunk)
            return
        self._buf.append(chunk)
        if self._state is _State.START:
            if self._start_may_be_prose(chunk):
                return
            self._state = _State.PLAIN
        elif self._state is _State.PROSE or self._may_be_fence(chunk):
            return
        self._open_line(out)

    def _start_may_be_prose(self, chunk: str) -> bool:
        """Returns whether the held first line may still be blank, a fence or prose."""
        piece = chunk if self._head else chunk.lstrip(" \t")
        take = piece[: PHRASE_HEAD - len(self._head)]
        self._head += take
        if not self._code_char and CODE_CHARS.search(piece, len(take)):
            self._code_char = True
        head = self._head
        if not head or head[0] in "`~":
            return True
        if self._buf[0][:1] in (" ", "\t") and head[0] != "*":
            return False  # prose is never indented (bold headings aside): stream it at once
        core = unbold(head)
        if not (self._code_char or CODE_CHARS.search(core)):
            return True
        # Whatever else the line holds, classify_line calls it code unless a phrase opens it.
        return phrase_possible(core)

    def _may_be_fence(self, chunk: str) -> bool:
        """Returns whether the held line may still be blank or a bare fence."""
        phase, char, length = self._scan, self._scan_char, self._scan_len
        for ch in chunk:
            if phase == 0:
                if ch in "`~":
                    phase, char, length = 1, ch, 1
                elif ch not in " \t":
                    phase = -1
            elif phase == 1:
                if ch == char:
                    length += 1
                elif ch in " \t" and length >= 3:
                    phase = 2
                else:
                    phase = -1
            elif ch not in " \t":
                phase = -1
            if phase < 0:
                break
        self._scan, self._scan_char, self._scan_len = phase, char, length
        return phase >= 0

    def _open_line(self, out: list[str]) -> None:
        """Writes the held beginning of a code line; the rest of the line streams through."""
        text = "".join(self._buf)
        self._buf.clear()
        self._write(text, out)
        self._open = True

    def _end_line(self, out: list[str]) -> None:
        """Handles a line break in the answer."""
        self._scan, self._scan_char, self._scan_len = 0, "", 0
        self._head, self._code_char = "", False
        if self._open:
            self._open = False
            self._pending += 1
            return
        line = "".join(self._buf)
        self._buf.clear()
        state = self._state
        if state is _State.START:
            self._first_line(line, out)
        elif state is _State.PROSE:
            self._prose_line(line, out)
        elif state is _State.FENCED:
            m = BARE_FENCE.fullmatch(line)
            char, length = self._fence
            if m and m.group(1)[0] == char and len(m.group(1)) >= length:
                self._state = _State.DONE
            else:
                self._code_line(line, out)
        elif BARE_FENCE.fullmatch(line):
            self._state = _State.DONE
        else:
            self._code_line(line, out)

    # --- whole lines ----------------------------------------------------------------------

    def _first_line(self, line: str, out: list[str]) -> None:
        if not line.strip():
            return
        fence = opening_fence(line)
        if fence is not None:
            self._fence = fence[:2]
            self._state = _State.FENCED
            return
        kind = classify_line(line)
        if kind is LineKind.CODE:
            self._state = _State.PLAIN
            self._code_line(line, out)
            return
        self._state = _State.PROSE
        self._first_kind = kind
        self._held = [(line, kind)]

    def _prose_line(self, line: str, out: list[str]) -> None:
        if not line.strip():
            self._held.append((line, LineKind.BLANK))
            return
        fence = opening_fence(line)
        if fence is None:
            kind = classify_line(line)
            self._held_code = self._held_code or kind is LineKind.CODE
            self._held.append((line, kind))
        elif fence[2] or not self._held_code:
            # Only prose so far (or a fence naming a language): the code starts here.
            self._prose = [held for held, _ in self._held]
            self._held = []
            self._fence = fence[:2]
            self._state = _State.FENCED
        else:
            # Code came after the "prose": this bare fence closes it.
            self._release_held(out)
            self._state = _State.DONE

    def _release_held(self, out: list[str]) -> None:
        """Writes what was held after a prose-like first line when no fence opened."""
        lines = self._held
        self._held = []
        self._state = _State.PLAIN
        if self._first_kind is LineKind.STRONG:
            rest = next(
                (
                    i
                    for i, (_, k) in enumerate(lines)
                    if i and k not in (LineKind.STRONG, LineKind.BLANK)
                ),
                None,
            )
            if rest is not None:
                self._prose = [line for line, _ in lines[:rest]]
                lines = lines[rest:]
        for line, _ in lines:
            self._code_line(line, out)

    def _code_line(self, line: str, out: list[str]) -> None:
        """Writes a complete code line (blank lines only as owed line breaks)."""
        if not line.strip():
            if self._wrote:
                self._pending += 1
            return
        self._write(line, out)
        self._pending += 1

    def _write(self, text: str, out: list[str]) -> None:
        """Writes the beginning of a non-blank code line, re-indented."""
        if self._add is None:
            self._add = indent_delta(self._base, leading_ws(text), self._tab_size)
            prefix = self._add if self._indent_first else ""
        else:
            prefix = self._add
        if self._pending and self._wrote:
            out.append(self._eol * self._pending)
        self._pending = 0
        out.append(prefix)
        out.append(text)
        self._wrote = True


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
