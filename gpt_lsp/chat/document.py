"""A chat document read as a conversation, and the text the server writes into one (pure).

The document is Markdown: a first line `<!-- gpt-lsp chat {...} -->` (what the chat was opened
from), then turns under `## You` and `## AI ...` headings. Headings inside code blocks are
code; a heading the user types is a turn like any other; the Chinese headings count in any
UI language, so a chat reads the same whichever language wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gpt_lsp.i18n import N_, _

MARKER = "<!-- gpt-lsp chat"
USER_WORD = N_("You")
# Every spelling of the user's heading, whatever the UI language was when it was written.
_USER_WORDS = frozenset({"you", "me", "user", "你", "我"})
_HEADING = re.compile(r"^##[ \t]+(?P<word>[^\s·(—-]+)(?P<rest>.*?)[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_SEPARATOR = " · "

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Meta:
    """What a chat was opened from: the source document and the selected range, if any."""

    source: str | None = None
    range: tuple[int, int, int, int] | None = None  # start line, char, end line, char

    def line(self) -> str:
        """Returns the document's first line, holding this."""
        data: dict[str, Any] = {}
        if self.source:
            data["source"] = self.source
        if self.range:
            data["range"] = list(self.range)
        return f"{MARKER} {json.dumps(data, ensure_ascii=False)} -->"


@dataclass(frozen=True)
class Turn:
    """One turn: who speaks, the text under the heading, and where the heading is."""

    role: Role
    text: str
    line: int  # the heading's line (-1: text before any heading)
    heading: str = ""


@dataclass(frozen=True)
class Block:
    """A fenced code block: its lines (the fences included), info string and code."""

    first: int
    last: int
    info: str
    code: str
    role: Role | None  # the turn it is in (None: before any heading)


@dataclass
class ChatDoc:
    """A parsed chat document."""

    meta: Meta | None
    turns: list[Turn] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def is_chat(first_line: str) -> bool:
    """True for a document whose first line is a chat's marker."""
    return first_line.startswith(MARKER)


def read_meta(first_line: str) -> Meta | None:
    """Returns the meta of a chat's first line (an empty one when unreadable), or None."""
    if not is_chat(first_line):
        return None
    body = first_line[len(MARKER) :].strip().removesuffix("-->").strip()
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return Meta()
    if not isinstance(data, dict):
        return Meta()
    source = data.get("source") if isinstance(data.get("source"), str) else None
    rng = data.get("range")
    if not isinstance(rng, list) or len(rng) != 4:
        return Meta(source)
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10**9 for n in rng):
        return Meta(source)
    return Meta(source, (rng[0], rng[1], rng[2], rng[3]))


def heading_role(line: str) -> Role | None:
    """Returns whose turn a heading line starts, or None for any other line."""
    found = _HEADING.match(line.rstrip("\r\n"))
    if found is None:
        return None
    word, rest = found["word"], found["rest"]
    if word == "AI" and (not rest or rest.lstrip().startswith(("·", "(", "—", "-"))):
        return "assistant"
    if word.lower() in _USER_WORDS and not rest.strip():
        return "user"
    return None


def parse(lines: Sequence[str]) -> ChatDoc:
    """Reads a document's lines (line breaks kept or not) into turns and code blocks."""
    meta = read_meta(lines[0]) if lines else None
    doc = ChatDoc(meta)
    role: Role = "user"
    start, heading = -1, ""
    body: list[str] = []
    fence: str | None = None
    fence_at, info = 0, ""  # the open block
    code: list[str] = []
    for number, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if number == 0 and meta is not None:
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                doc.blocks.append(
                    Block(fence_at, number, info, "\n".join(code), _role(start, role))
                )
                fence = None
            else:
                code.append(line)
            body.append(line)
            continue
        opened = _FENCE.match(line)
        if opened is not None:
            fence, fence_at, info, code = opened["fence"], number, opened["info"].strip(), []
            body.append(line)
            continue
        new_role = heading_role(line)
        if new_role is None:
            body.append(line)
            continue
        _close_turn(doc, role, start, heading, body)
        role, start, heading, body = new_role, number, line, []
    if fence is not None:  # an unclosed block runs to the end, as Markdown shows it
        doc.blocks.append(
            Block(fence_at, len(lines) - 1, info, "\n".join(code), _role(start, role))
        )
    _close_turn(doc, role, start, heading, body)
    return doc


def _role(start: int, role: Role) -> Role | None:
    return None if start < 0 else role


def _close_turn(doc: ChatDoc, role: Role, start: int, heading: str, body: list[str]) -> None:
    text = "\n".join(body).strip("\n")
    if start < 0 and not text.strip():
        return  # nothing before the first heading
    doc.turns.append(Turn(role, text, start, heading))


def messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """Returns the turns as chat messages: empty turns left out, a role's turns in a row
    joined, the conversation starting with the user."""
    out: list[dict[str, str]] = []
    for turn in turns:
        if not turn.text.strip():
            continue
        if not out and turn.role == "assistant":
            continue
        if out and out[-1]["role"] == turn.role:
            out[-1]["content"] += "\n\n" + turn.text
        else:
            out.append({"role": turn.role, "content": turn.text})
    return out


def block_at(doc: ChatDoc, line: int) -> Block | None:
    """Returns the code block holding a line, or None."""
    for block in doc.blocks:
        if block.first <= line <= block.last:
            return block
    return None


def last_user_line(doc: ChatDoc) -> int | None:
    """Returns the line of the last user heading, when the last turn is the user's."""
    if doc.turns and doc.turns[-1].role == "user" and doc.turns[-1].line >= 0:
        return doc.turns[-1].line
    return None


# ---------------------------------------------------------------- what the server writes


def user_heading() -> str:
    """Returns the user's heading line in the UI language."""
    return f"## {_(USER_WORD)}"


def ai_heading(model: str, figures: Sequence[str] = ()) -> str:
    """Returns an AI heading: the model, then the turn's figures."""
    return _SEPARATOR.join([f"## AI{_SEPARATOR}{model}", *[f for f in figures if f]])


def fenced(code: str, language: str = "") -> str:
    """Returns code in a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip(chr(10))}\n{fence}"


def new_document(meta: Meta, selection: str = "", question: str = "", eol: str = "\n") -> str:
    """Returns a new chat's text: the marker, the user's heading, the selection and the
    question, ending with a line break."""
    parts = [meta.line(), "", user_heading(), ""]
    if selection:
        parts += [selection, ""]
    if question.strip():
        parts += [question.strip(), ""]
    return eol.join(parts)


def title_of(doc: ChatDoc) -> str:
    """Returns a chat's title: the first line of the first question outside code blocks,
    a selection's caption left out; "" when there is none."""
    first = next((t for t in doc.turns if t.role == "user"), None)
    if first is None:
        return ""
    fence: str | None = None
    for line in first.text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        if opened is not None:
            fence = opened["fence"]
            continue
        text = line.strip().lstrip("#").strip()
        if text and not _is_caption(text):
            return text[:80]
    return ""


def _is_caption(text: str) -> bool:
    return text.startswith("`") and text.endswith((":", "："))
