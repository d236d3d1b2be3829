"""Built-in and user actions, and the `AI:` comment marker (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gpt_lsp.i18n import N_, _
from gpt_lsp.prompting.secrets import conceal
from gpt_lsp.settings import ActionConfig

CHAT_ACTION = "chat"


@dataclass(frozen=True)
class Action:
    """What an action does: its menu entry, task text and where its output goes."""

    id: str
    title: str
    task: str
    kind: str = "refactor.rewrite"
    output: str = "replace"  # replace | insert | notes
    template: str | None = None  # a user action's prompt template
    relay: str | None = None
    model: str | None = None
    needs_diagnostics: bool = False
    translated: bool = False  # a built-in title, shown in the UI language

    @property
    def label(self) -> str:
        """Returns the title as the user sees it (`AI: {label}`)."""
        return _(self.title) if self.translated else self.title

    @property
    def writes_code(self) -> bool:
        """True when the answer goes into the source document."""
        return self.output != "notes"


BUILTIN_ACTIONS: tuple[Action, ...] = (
    Action(
        id="refactor",
        title=N_("Refactor"),
        translated=True,
        task="Refactor the selection: make it clearer, simpler and more idiomatic without "
        "changing its behaviour.",
    ),
    Action(
        id="fix",
        title=N_("Fix"),
        translated=True,
        kind="quickfix",
        task="Fix the problems in the selection (the diagnostics below, and any obvious bug), "
        "changing as little as possible.",
        needs_diagnostics=True,
    ),
    Action(
        id="document",
        title=N_("Document"),
        translated=True,
        task="Add documentation to the selection: docstrings or doc comments in the "
        "language's usual style, and comments where the code is not obvious. Do not change "
        "the code itself.",
    ),
    Action(
        id="explain",
        title=N_("Explain"),
        translated=True,
        kind="refactor",
        output="notes",
        task="Explain what the selection does, how, and anything surprising or risky in it.",
    ),
)


def chat_action(instruction: str) -> Action:
    """Returns the inline-chat action for an instruction (its title shown with secrets hidden)."""
    return Action(
        id=CHAT_ACTION,
        title=conceal(instruction),
        task=instruction,
        kind="refactor.rewrite",
    )


def all_actions(user_actions: Sequence[ActionConfig]) -> list[Action]:
    """Returns built-ins with user actions added; a user id equal to a built-in replaces it."""
    by_id = {action.id: action for action in BUILTIN_ACTIONS}
    for config in user_actions:
        by_id[config.id] = Action(
            id=config.id,
            title=config.title,
            task=config.title,
            kind=config.kind,
            output=config.output,
            template=config.prompt,
            relay=config.relay,
            model=config.model,
        )
    return list(by_id.values())


def find_action(actions: Sequence[Action], action_id: str) -> Action | None:
    """Returns the action with this id."""
    return next((a for a in actions if a.id == action_id), None)


# ---------------------------------------------------------------- the AI: marker

# A comment opener, optional space, "AI:" and the instruction (closing */ or --> dropped).
_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)(?:#|//|--|;+|/\*+|<!--|%|\"|\*)[ \t]*AI:[ \t]*(?P<text>.*?)"
    r"[ \t]*(?:\*/|-->)?[ \t]*$"
)


@dataclass(frozen=True)
class Marker:
    """An `AI:` instruction comment on a line."""

    line: int
    instruction: str
    indent: str


def find_marker(line_text: str, line: int) -> Marker | None:
    """Returns the marker on a line, if it has one with a non-empty instruction."""
    match = _MARKER.match(line_text.rstrip("\r\n"))
    if match is None or not match.group("text").strip():
        return None
    return Marker(line, match.group("text").strip(), match.group("indent"))


def markers_in(lines: Sequence[str], first: int, last: int) -> list[Marker]:
    """Returns markers on lines first..last (inclusive, clamped)."""
    found = []
    for number in range(max(0, first), min(len(lines) - 1, last) + 1):
        marker = find_marker(lines[number], number)
        if marker is not None:
            found.append(marker)
    return found


def block_after(lines: Sequence[str], marker_line: int) -> tuple[int, int]:
    """Returns (first, last) lines of the block a marker sits on: the next non-blank line and
    every following line indented deeper than it (blank lines inside included).

    (first, last) == (marker_line + 1, marker_line) when nothing follows: an insertion point.
    """
    first = marker_line + 1
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first >= len(lines):
        return marker_line + 1, marker_line
    head_indent = _indent_width(lines[first])
    last = first
    probe = first + 1
    while probe < len(lines):
        text = lines[probe]
        if not text.strip():
            probe += 1
            continue
        # Closing brackets/keywords at the head's indent belong to the block (`}` / `end`).
        if _indent_width(text) > head_indent or _is_closer(text, head_indent):
            last = probe
            probe += 1
            continue
        break
    return first, last


def _indent_width(text: str) -> int:
    width = 0
    for char in text:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4
        else:
            break
    return width


_CLOSERS = re.compile(r"^[ \t]*(?:[}\])]|end\b|fi\b|done\b|esac\b)")


def _is_closer(text: str, head_indent: int) -> bool:
    return _indent_width(text) == head_indent and _CLOSERS.match(text) is not None
