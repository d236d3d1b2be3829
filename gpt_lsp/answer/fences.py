"""Markdown fences in a model's answer: at a line's start or in its middle, opening or closing.

Models write fences CommonMark would not accept: in the middle of a sentence ("... like this:
```def f():"), or with the first line of code where the language tag goes. An opening run is
followed by nothing, by a language tag (one word that is not a code keyword), or by code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpt_lsp.answer.shape import KEYWORDS

_OPEN = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
BARE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*")
_TICKS = re.compile(r"`{3,}")
_TAG = re.compile(r"[\w.+#-]{1,30}")
_QUOTE = re.compile(r"(?<![^\W\d_])'|'(?![^\W\d_])")  # a ' that is not inside a word


@dataclass(frozen=True)
class Fence:
    """An opening fence: its character and length, and code that followed it on its line."""

    char: str
    length: int
    tagged: bool  # a language tag followed the run
    code: str | None = None  # text after the run that is code, not a language tag
    tag: str = ""  # the language tag, lower case

    @property
    def markdown(self) -> bool:
        """Returns whether the fenced text is Markdown (its own code blocks nest inside)."""
        return self.tag in ("markdown", "md")


def _after_run(run: str, rest: str) -> Fence | None:
    """Reads what follows an opening run: nothing, a language tag, or code."""
    if run[0] == "`" and "`" in rest:
        return None  # ```a``` is inline code, not a fence (CommonMark)
    info = rest.strip()
    if not info:
        return Fence(run[0], len(run), False)
    word = _TAG.match(info)
    if word is not None and (
        word.end() == len(info)  # one word: a tag, even "go"
        or (info[word.end()] in " \t{" and word.group().lower() not in KEYWORDS)
    ):
        return Fence(run[0], len(run), True, tag=word.group().lower())
    return Fence(run[0], len(run), False, rest.lstrip(" \t"))


def opening(line: str) -> Fence | None:
    """Returns the fence a whole line opens (indentation allowed), if it opens one."""
    m = _OPEN.fullmatch(line)
    if m is None:
        return None
    return _after_run(m.group(1), m.group(2))


def opening_inside(line: str, *, in_code: bool = False) -> tuple[str, Fence] | None:
    """Returns (text before it, fence) when a backtick fence opens after other text on a line.

    `in_code`: the line follows code, where a fence inside a string literal is content; in
    prose quotes are apostrophes as often as not ("the users' code: ```python").
    """
    for m in _TICKS.finditer(line):
        before = line[: m.start()]
        if not before.strip():
            return None  # a fence at the line's start: `opening` decides
        if before[-1] not in " \t:：" or "`" in before or (in_code and _in_quotes(before)):
            continue
        fence = _after_run(m.group(), line[m.end() :])
        if fence is not None:
            return before, fence
    return None


def _in_quotes(text: str) -> bool:
    """Returns whether code `text` leaves a string literal open (a fence in it is content)."""
    return (text.count('"') + len(_QUOTE.findall(text))) % 2 == 1


def closing(line: str, fence: Fence) -> str | None:
    """Returns the code before the closing fence when `line` closes `fence` ("" when bare)."""
    m = _OPEN.fullmatch(line)
    if m is not None:
        run, rest = m.group(1), m.group(2).strip()
        same = run[0] == fence.char and len(run) >= fence.length
        # "``` Hope this helps!": a closing fence with the model's words after it; a run with
        # one word after it ("```js") is content, the start of a block shown in the code.
        return "" if same and (not rest or len(rest.split()) > 1) else None
    if fence.char != "`":
        return None
    stripped = line.rstrip(" \t")
    body = stripped.rstrip("`")
    run = len(stripped) - len(body)
    if run >= fence.length and body.strip() and "`" not in body:
        return body  # "    return x```": code, then the fence
    return None


def nests(line: str, outer: Fence) -> bool:
    """Returns whether `line` opens a block whose closing fence would close `outer` too."""
    fence = opening(line)
    return (
        fence is not None
        and fence.tagged
        and fence.char == outer.char
        and fence.length >= outer.length
    )
