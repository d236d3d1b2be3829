"""What the code filter asks of one line of an answer (pure): prose or code (the shape rules,
then the parser), a tokenizer's stray space, a `<think>` tag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_lsp.answer.partial import HEAD
from gpt_lsp.answer.shape import LineKind, classify, starts_like_code

if TYPE_CHECKING:
    from gpt_lsp.answer.syntax import Parses

THINK, UNTHINK = "<think>", "</think>"


class LineJudge:
    """Tells prose from code in an answer's lines: the shape rules, and the parser on the
    lines they are unsure of."""

    def __init__(self, *, prose_document: bool, parses: Parses | None, stray_space: bool) -> None:
        self.prose_document = prose_document
        self.parses = parses
        # One leading space on the first line is a tokenizer's (" You just need..."), not
        # indentation, unless the original is indented by one space.
        self.stray_space = stray_space

    def kind(self, line: str) -> LineKind:
        """The line's shape: code, clear prose, maybe prose, blank."""
        return classify(line, prose_document=self.prose_document)

    def is_code(self, held: list[tuple[str, LineKind]]) -> bool:
        """Asks the parser about held lines the shape rules were unsure of (no parser: yes)."""
        return self.parses is None or self.parses("\n".join(line for line, _ in held))

    def is_sentence(self, line: str) -> bool:
        """Returns whether a line after code is clear prose (and not code to the parser)."""
        if starts_like_code(line[:HEAD]) or self.kind(line) is not LineKind.STRONG:
            return False
        return self.parses is None or not self.parses(line)

    def stray(self, line: str, *, first: bool) -> bool:
        """Returns whether the answer's `first` line starts with one stray space."""
        return self.stray_space and first and line[:1] == " " and line[1:2] not in (" ", "\t")


class ThinkTags:
    """`<think>...</think>` blocks, dropped wherever a line starts with one."""

    def __init__(self) -> None:
        self.inside = False  # in a block: nothing of it is written

    def take(self, line: str, *, streamed: int, literal: bool, fenced: bool) -> Tag:
        """Looks for a tag in a line (`streamed`: its first characters are written; `literal`:
        inside a triple-quoted string): whether it had one, what follows it (None: nothing
        more of the line), and whether a closing tag came without its opening one."""
        if self.inside:
            end = line.find(UNTHINK)
            if end < 0:
                return Tag(True, None)
            self.inside = False
            return Tag(True, line[end + len(UNTHINK) :])
        stripped = line.lstrip()
        if not streamed and not literal and stripped.startswith(THINK):
            self.inside = True
            rest = stripped[len(THINK) :]
            return Tag(True, rest if UNTHINK in rest else None)
        end = line.find(UNTHINK)
        if end >= 0 and not fenced and not literal:
            # Reasoning whose opening tag got lost (R1 models behind some relays): all so far.
            return Tag(True, line[end + len(UNTHINK) :], lost_opening=True)
        return Tag(False, None)


class Tag:
    """What `ThinkTags.take` found in a line."""

    __slots__ = ("found", "lost_opening", "rest")

    def __init__(self, found: bool, rest: str | None, *, lost_opening: bool = False) -> None:
        self.found = found
        self.rest = rest
        self.lost_opening = lost_opening
