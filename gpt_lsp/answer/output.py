"""Output hygiene: a model's streamed answer turned into the exact text a job writes (pure).

`CodeOutputFilter`, line by line:

- Leading blank lines go. The first non-blank line decides:
  * a fence (```` ``` ````, ```` ```lang ````, ``~~~``, a fence after a sentence on the same
    line, or a fence with code where the tag goes: ```` ```def f(): ````): the fenced code is
    written, up to the closing fence (then `done` turns true: the caller may stop reading);
  * prose (`answer.shape.classify`: sentence shape or an opening phrase): held, with what
    follows, until a fence opens (the prose is dropped) or code comes (clear prose dropped,
    an unsure line kept); an answer that is only prose writes nothing and sets `no_code`;
  * anything else is code, written as it streams.
- Unfenced code is corrected when it turns out to be something else, with a `Rewrite` (the
  region's text so far replaced, one job still): a fence opening later, at a line's start or
  in its middle, tagged or not, replaces what was written by the fenced code; a bare fence
  after code closes it when prose follows, or opens a block that replaces it when code
  follows and a closing fence comes; a clear sentence at a line's start after code begins
  commentary, dropped unless code follows (then only the sentence goes) or a fence opens.
- Inside a triple-quoted string (a docstring) fences and sentences are code.
- A `<think>...</think>` block is dropped wherever a line starts with one.
- Context the answer repeats at its start or end is dropped (`answer.repeats`).
- Lines the shape rules are unsure of are asked of the parser (`parses`, tree-sitter) when the
  document's language has one: held "Code:" that does not parse is prose, a sentence that does
  is code.
- Part of a fence is never written: fence-like lines, lines that may still be prose, repeated
  context or `<think>` wait until complete; a line streams once it is inside a fence, indented,
  or starts like code (`answer.shape.starts_like_code`).
- Indentation and line breaks follow the original (`answer.writer`).

Every `feed` does work proportional to its delta (plus a bounded head of the current line).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from gpt_lsp.answer.fences import BARE, Fence, closing, nests, opening, opening_inside
from gpt_lsp.answer.indent import ANY_BREAK, first_indent
from gpt_lsp.answer.lines import THINK, LineJudge, ThinkTags
from gpt_lsp.answer.partial import HEAD as _HEAD
from gpt_lsp.answer.partial import PartialLine
from gpt_lsp.answer.prose import ProseOutputFilter
from gpt_lsp.answer.quotes import TripleQuotes
from gpt_lsp.answer.repeats import RepeatTrimmer
from gpt_lsp.answer.shape import LineKind, starts_like_code
from gpt_lsp.answer.writer import CodeWriter, Output, Rewrite

if TYPE_CHECKING:
    from gpt_lsp.answer.syntax import Parses

__all__ = ["CodeOutputFilter", "Output", "ProseOutputFilter", "Rewrite"]


class _State(Enum):
    START = 0
    PROSE = 1  # leading prose held
    FENCED = 2
    PLAIN = 3  # unfenced code
    AFTER = 4  # a bare fence after unfenced code: lines held until it is known what it was
    TRAIL = 5  # a sentence after unfenced code: held
    DONE = 6


_STREAMING = frozenset({_State.START, _State.FENCED, _State.PLAIN})  # states where lines stream


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
        before: Sequence[str] = (),
        after: Sequence[str] = (),
        prose_document: bool = False,
        parses: Parses | None = None,
    ) -> None:
        """Prepares to replace `original`; `before`/`after` are the context lines around it,
        `parses` tells whether text is valid code in the document's language (doubtful lines)."""
        if eol not in ("\n", "\r\n", "\r"):
            raise ValueError(f"not a line ending: {eol!r}")
        trailing = original.endswith(("\n", "\r")) if trailing_newline is None else trailing_newline
        self._writer = CodeWriter(
            first_indent(original) if base_indent is None else base_indent,
            eol,
            indent_first=indent_first_line,
            trailing=trailing,
            tab_size=tab_size,
        )
        self._trim = RepeatTrimmer(before, after, original)
        self._quotes = TripleQuotes()
        self._prose_doc = prose_document
        self._judge = LineJudge(
            prose_document=prose_document,
            parses=parses,
            stray_space=first_indent(original) != " ",
        )
        self._think = ThinkTags()
        self._state = _State.START
        self._fence = Fence("`", 3, False)
        self._nested = 0  # code blocks open inside the fence (Markdown documents)
        self._held: list[tuple[str, LineKind]] = []
        self._code_seen = False
        self._finished = False
        self._answer: list[str] = []
        self._skip_lf = False  # the last delta ended with "\r": a leading "\n" belongs to it
        self._partial = PartialLine(self._writer)  # the current line

    @property
    def done(self) -> bool:
        """Returns whether more input is ignored (closing fence seen, or finished)."""
        return self._state is _State.DONE

    @property
    def no_code(self) -> bool:
        """Returns whether the answer, once finished, held no code at all."""
        return self._finished and not self._code_seen

    @property
    def answer(self) -> str:
        """Returns the whole answer as it came."""
        return "".join(self._answer)

    def feed(self, delta: str) -> Output:
        """Takes the next piece of the answer; returns what to send to the document now."""
        if self._finished:
            raise ValueError("feed() after finish()")
        self._answer.append(delta)
        if not delta or self.done:
            return ""
        i, n = 0, len(delta)
        if self._skip_lf:
            self._skip_lf = False
            if delta[0] == "\n":
                i = 1
        for _ in range(n + 1):  # each round takes one line's piece
            if i >= n or self.done:
                break
            m = ANY_BREAK.search(delta, i)
            if m is None:
                self._partial.add(delta[i:], self._decide)
                break
            if m.start() > i:
                self._partial.add(delta[i : m.start()], self._decide)
            self._end_line()
            if m.group() == "\r" and m.end() == n:
                self._skip_lf = True
            i = m.end()
        return self._writer.take()

    def finish(self) -> Output:
        """Ends the answer; returns the rest to send."""
        if self._finished:
            return ""
        self._finished = True
        if not self.done and self._partial.pending:
            self._end_line()
        if self._state is _State.PROSE:
            held, self._held = self._held, []
            unsure = all(kind is not LineKind.STRONG for _, kind in held)
            if unsure and self._judge.is_code(held):
                for line, _ in held:  # unsure it was prose: keep it rather than lose code
                    self._code(line, 0)
        self._end()
        self._writer.finish()
        return self._writer.take()

    # ------------------------------------------------------------ the current line

    def _decide(self, head: str) -> bool | None:
        """Returns whether the current line may stream now (see `PartialLine`)."""
        if self._think.inside or self._state not in _STREAMING:
            return None
        lead = head.lstrip(" \t")
        if not lead:
            return False
        if lead[0] in "`~":
            return None  # maybe a fence: fence lines are short
        if lead[0] == "<" and (lead.startswith(THINK) or THINK.startswith(lead)):
            return None if lead.startswith(THINK) else False
        sure = self._state is _State.FENCED or self._quotes.open is not None
        indented = lead != head and not self._stray(head)
        if not (sure or indented or starts_like_code(head)) or self._trim.may_hold(head):
            return None if len(head) >= _HEAD else False  # maybe prose or repeated context
        self._trim.passed()
        return True

    def _end_line(self) -> None:
        """Handles a line break in the answer."""
        self._line(*self._partial.take())

    # ------------------------------------------------------------ whole lines

    def _line(self, line: str, streamed: int) -> None:
        """Handles a complete line, of which `streamed` characters are written already."""
        for _ in range(len(line) + 2):  # each round takes a think tag off the line
            literal = self._quotes.open is not None
            fenced = self._state is _State.FENCED
            tag = self._think.take(line, streamed=streamed, literal=literal, fenced=fenced)
            if not tag.found:
                break
            if tag.lost_opening:  # all so far was reasoning
                self._restart()
                self._state, self._code_seen = _State.START, False
            if tag.rest is None or not tag.rest.strip():
                return
            line, streamed = tag.rest, 0
        else:
            return
        state = self._state
        if state is _State.START:
            self._start(line, streamed)
        elif state is _State.PROSE:
            self._prose(line)
        elif state is _State.FENCED:
            self._fenced(line, streamed)
        elif state is _State.PLAIN:
            self._plain(line, streamed)
        elif state is _State.AFTER:
            self._after_bare(line)
        elif state is _State.TRAIL:
            self._trail(line)

    def _stray(self, line: str) -> bool:
        """Returns whether the answer's first line starts with one stray space."""
        return self._judge.stray(line, first=self._state is _State.START)

    def _start(self, line: str, streamed: int) -> None:
        if not line.strip() or self._open_fence(line):
            return
        kind = self._judge.kind(line)
        # Prose is never indented, and a line that starts like code streamed as code.
        indented = line[:1] in (" ", "\t") and not self._stray(line)
        if indented or starts_like_code(line[:_HEAD]) or kind is LineKind.CODE:
            self._state = _State.PLAIN
            self._code(line, streamed)
        else:
            self._state = _State.PROSE
            self._held = [(line, kind)]

    def _prose(self, line: str) -> None:
        if not line.strip():
            self._held.append((line, LineKind.BLANK))
            return
        if self._open_fence(line):
            return
        kind = self._judge.kind(line)
        if kind is not LineKind.CODE:
            self._held.append((line, kind))
            return
        held, self._held = self._held, []
        self._state = _State.PLAIN
        if held[0][1] is LineKind.WEAK and self._judge.is_code(held):  # unsure: keep it all
            for text, _ in held:
                self._code(text, 0)
        self._code(line, 0)

    def _fenced(self, line: str, streamed: int) -> None:
        if self._quotes.open is None:
            code = closing(line, self._fence)
            markdown = self._prose_doc or self._fence.markdown
            if markdown and ((code is not None and self._nested) or nests(line, self._fence)):
                # Markdown (into Markdown, or in a ```markdown fence): its code blocks nest.
                self._nested += -1 if code is not None else 1
                code = None
            if code is not None:
                if code.strip():
                    self._code(code, streamed)
                self._end()
                return
        self._code(line, streamed)

    def _plain(self, line: str, streamed: int) -> None:
        literal = self._quotes.open is not None or self._prose_doc  # Markdown has fences
        if literal or streamed:
            if not literal and opening_inside(line, in_code=True) and self._open_fence(line):
                return
            self._code(line, streamed)
            return
        if BARE.fullmatch(line):
            self._state = _State.AFTER
            self._held = []
            return
        if self._open_fence(line):
            return
        if line[:1] not in (" ", "\t") and self._judge.is_sentence(line):  # (never when streamed)
            self._state = _State.TRAIL
            self._held = [(line, LineKind.STRONG)]
            return
        self._code(line, 0)

    def _after_bare(self, line: str) -> None:
        """A line after a bare fence that followed unfenced code."""
        fence = opening(line)
        if fence is not None and not fence.tagged and fence.code is None:
            held = [text for text, _ in self._held]
            if any(text.strip() for text in held):  # code, then a closing fence: a block
                self._restart()
                for text in held:
                    self._code(text, 0)
            self._end()
            return
        if self._open_fence(line):
            return
        kind = self._judge.kind(line)
        if kind is LineKind.STRONG and not any(text.strip() for text, _ in self._held):
            self._end()  # prose after the fence: it closed the code
            return
        self._held.append((line, kind))

    def _trail(self, line: str) -> None:
        """A line after a sentence that followed unfenced code."""
        if not line.strip():
            self._held.append((line, LineKind.BLANK))
            return
        if self._open_fence(line):
            return
        kind = self._judge.kind(line)
        if kind is LineKind.CODE:  # a sentence between code lines: only it goes
            self._held = []
            self._state = _State.PLAIN
            self._plain(line, 0)
        else:
            self._held.append((line, kind))

    # ------------------------------------------------------------ actions

    def _open_fence(self, line: str) -> bool:
        """Starts fenced code when `line` opens a fence (what was written is replaced)."""
        fence = opening(line)
        if fence is None:
            in_code = self._state in (_State.PLAIN, _State.AFTER) or starts_like_code(line[:_HEAD])
            found = opening_inside(line, in_code=in_code)
            if found is None:
                return False
            fence = found[1]
        self._restart()
        self._fence, self._nested = fence, 0
        self._state = _State.FENCED
        self._code_seen = True
        if fence.code is not None and fence.code.strip():
            self._fenced(fence.code, 0)
        return True

    def _restart(self) -> None:
        """Forgets the code written so far: what comes next replaces it."""
        self._writer.reset()
        self._trim.reset()
        self._quotes.reset()
        self._held = []

    def _code(self, line: str, streamed: int) -> None:
        """Writes a complete code line (its first `streamed` characters are written)."""
        self._code_seen = True
        self._quotes.feed(line)
        if streamed:
            self._writer.more(line[streamed:])
            self._writer.end()
            return
        for kept in self._trim.push(line):
            self._writer.line(kept)

    def _end(self) -> None:
        """No more code: releases held context lines; later input is ignored."""
        self._held = []
        for kept in self._trim.finish():
            self._writer.line(kept)
        self._state = _State.DONE
