"""The one editor fake: an editor's copy of its documents and how it answers a server's edits.

Transport-free, so that in-process tests (a Session, a DocumentChannel), the e2e client over
stdio and the bench all drive the server the same way. Positions are computed plainly here,
independent of gpt_lsp. The profiles copy what the real editors do (docs/clients.md):

- "vscode" (utf-16): a stale versioned edit is refused (`applied: false`); an applied edit is
  answered first, then reported as a character diff in several changes, the last first.
- "neovim" (utf-8): a stale edit is skipped but answered `applied: true`; an edit at version 0
  is applied unchecked; changes are reported debounced, as the minimal diff of the lines.
- "eglot" (utf-16): a version mismatch is refused; changes are reported only when the editor
  is idle (after `idle_delay`), merged into the minimal diff.
- "coc" (coc.nvim in Vim 9, utf-16): an edit is checked against the version of the editor's
  last report, not its buffer: typing not yet reported passes the check. The typing is then
  reported first, the edit applied on top of it at its positions as sent (stale, when the
  typing was above it) and reported at once, then answered `applied: true`.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Position = tuple[int, int]  # (line, character in the profile's code units)
Change = tuple[Position, Position, str]  # a content change: range start, end, new text
Report = Callable[[str, int, list[Change]], None]  # (uri, version, changes) -> didChange


@dataclass(frozen=True)
class Profile:
    """How one editor answers applyEdit and reports changes."""

    name: str
    encoding: Literal["utf-8", "utf-16", "utf-32"]
    stale_edit: Literal["refused", "skipped"]  # skipped: not applied, answered applied:true
    report: Literal["split", "lines"]  # split: character diff, last first; lines: minimal diff
    delay: float = 0.0  # seconds a change waits before it is reported (debounce, idle)
    version0_unchecked: bool = False
    lazy_version: bool = False  # edits are checked against the last reported version (coc)


PROFILES: dict[str, Profile] = {
    "vscode": Profile("vscode", "utf-16", "refused", "split"),
    # Neovim waits 150 ms; shorter keeps the suites fast with the same ordering.
    "neovim": Profile("neovim", "utf-8", "skipped", "lines", delay=0.05, version0_unchecked=True),
    "eglot": Profile("eglot", "utf-16", "refused", "lines", delay=0.1),
    "coc": Profile("coc", "utf-16", "refused", "lines", delay=0.05, lazy_version=True),
}


def units(text: str, encoding: str) -> int:
    """Returns the length of text in code units."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text)


def split_keep(text: str) -> list[str]:
    """Splits text into lines that keep their breaks (\\n, \\r\\n, \\r); the last has none."""
    lines: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            lines.append(text[start : i + 2])
            i += 2
            start = i
            continue
        if text[i] in "\r\n":
            lines.append(text[start : i + 1])
            start = i + 1
        i += 1
    lines.append(text[start:])
    return lines


def offset_of(text: str, pos: Position, encoding: str) -> int:
    """Returns the offset of a position in text (past a line's end: its end; inside a
    character, as a stale position may be: that character's start, as VS Code does)."""
    line, character = pos
    lines = split_keep(text)
    if line >= len(lines):
        return len(text)
    base = sum(len(x) for x in lines[:line])
    body = lines[line].rstrip("\r\n")
    count = 0
    for index, char in enumerate(body):
        count += units(char, encoding)
        if count > character:
            return base + index  # inside a character (a stale position): its start, as the server
    return base + len(body)


def position_of(text: str, offset: int, encoding: str) -> Position:
    """Returns the position of an offset in text."""
    lines = split_keep(text[:offset])
    return len(lines) - 1, units(lines[-1], encoding)


def character_diff(old: str, new: str, encoding: str) -> list[Change]:
    """VS Code's report of an edit: one change per differing run, the last first (each range
    is valid after the changes before it)."""
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag != "equal":
            start, end = position_of(old, i1, encoding), position_of(old, i2, encoding)
            changes.append((start, end, new[j1:j2]))
    return changes


def minimal_diff(old: str, new: str, encoding: str) -> Change:
    """The one change that turns old into new: common prefix and suffix left out."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    start = position_of(old, prefix, encoding)
    end = position_of(old, len(old) - suffix, encoding)
    return start, end, new[prefix : len(new) - suffix]


class FakeDocument:
    """The editor's copy of one document, kept as lines: an edit costs O(the lines it touches),
    so that a 100,000-line file is cheap on the editor's side (the bench needs that)."""

    def __init__(
        self, uri: str, text: str, profile: Profile, report: Report, version: int = 1
    ) -> None:
        self.uri = uri
        self.profile = profile
        self.report = report
        self.version = version
        self.reported_version = version  # what the server was last told
        self.lines = split_keep(text)
        self.pending: list[Change] = []  # held back (debounce, idle)
        self.edits_applied = 0
        self.edits_skipped = 0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def text(self) -> str:
        """Returns the whole text (O(document): for assertions)."""
        return "".join(self.lines)

    @property
    def encoding(self) -> str:
        """Returns the profile's position encoding."""
        return self.profile.encoding

    # ------------------------------------------------------------ the server's edits

    def apply_edit(self, version: int | None, edits: list[Change]) -> bool:
        """Applies a server's edit to this document; returns what the editor answers."""
        unchecked = self.profile.version0_unchecked and version == 0
        if self.profile.lazy_version and version is not None:
            if version != self.reported_version:
                self.edits_skipped += 1
                return False
            self.flush()  # the typing not yet reported goes first ...
            for start, end, new_text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
                self._replace(start, end, new_text, split=True)  # ... the edit on top of it
            self.flush()
            self.edits_applied += 1
            return True
        if version is not None and version != self.version and not unchecked:
            self.edits_skipped += 1
            return self.profile.stale_edit == "skipped"  # Neovim says applied, did nothing
        # Edits of one TextDocumentEdit refer to the text before any of them: last first.
        for start, end, new_text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            self._replace(start, end, new_text, split=True)
        self.edits_applied += 1
        return True

    # ------------------------------------------------------------ the user

    def type_at(self, offset: int, inserted: str, removed: int = 0) -> None:
        """The user replaces `removed` characters at `offset` with `inserted`."""
        text = self.text
        start = position_of(text, offset, self.encoding)
        end = position_of(text, offset + removed, self.encoding)
        self._replace(start, end, inserted, split=False)

    def type_range(self, start: Position, end: Position, inserted: str) -> None:
        """The user replaces a range with `inserted`."""
        self._replace(start, end, inserted, split=False)

    def undo_to(self, text: str) -> None:
        """The user's undo: the document becomes `text`, reported as the editor reports a
        change it made itself (VS Code: a character diff; Neovim: the minimal diff)."""
        start, end, new_text = minimal_diff(self.text, text, self.encoding)
        self._replace(start, end, new_text, split=True)

    def flush(self) -> None:
        """Reports the changes held back (debounce, idle) now, in one didChange."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.pending:
            changes, self.pending = self.pending, []
            self._send(self.version, changes)

    def _send(self, version: int, changes: list[Change]) -> None:
        self.reported_version = version
        self.report(self.uri, version, changes)

    def _replace(self, start: Position, end: Position, new_text: str, *, split: bool) -> None:
        first = min(start[0], len(self.lines) - 1)
        last = min(end[0], len(self.lines) - 1)
        old = "".join(self.lines[first : last + 1])  # whole lines: the edit's window
        local_start = offset_of(old, (start[0] - first, start[1]), self.encoding)
        if end[0] >= len(self.lines):
            local_end = len(old)  # past the last line: the document's end
        else:
            local_end = offset_of(old, (end[0] - first, end[1]), self.encoding)
        new = old[:local_start] + new_text + old[local_end:]
        replacement = split_keep(new)
        if last + 1 < len(self.lines) and replacement[-1] == "":
            replacement.pop()  # the window ended with a break: the next line follows it
        self.lines[first : last + 1] = replacement
        self.version += 1
        if split and self.profile.report == "split":
            changes = character_diff(old, new, self.encoding)
        elif self.profile.report == "lines":
            changes = [minimal_diff(old, new, self.encoding)]
        else:
            changes = [
                (
                    position_of(old, local_start, self.encoding),
                    position_of(old, local_end, self.encoding),
                    new_text,
                )
            ]
        changes = [((s[0] + first, s[1]), (e[0] + first, e[1]), t) for s, e, t in changes]
        if self.profile.delay > 0:
            self.pending.extend(changes)
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.profile.delay, self.flush)
            return
        version = self.version
        # After the applyEdit answer, and in order with the user's own changes.
        asyncio.get_running_loop().call_soon(self._send, version, changes)
