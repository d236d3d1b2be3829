"""What a job wrote: every text its region showed after one of its edits, across turns (pure).

An undo may land between the job's states (Neovim after the user typed during the stream;
VS Code and Emacs after a follow-up turn, whose first undo takes back only that turn): the
region then shows text the job wrote earlier, which no user typed. States are kept as segments:
a first edit, a rewrite or a restore starts one, appends grow it, so that the states of one
segment are prefixes of its text and cost no copy each.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Segment:
    """A text written whole, then appended to: its states are its prefixes at `lengths`."""

    pieces: list[str]
    lengths: list[int]
    _text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.pieces)
        return self._text

    def append(self, text: str) -> None:
        self.pieces.append(text)
        self.lengths.append(self.lengths[-1] + len(text))
        self._text = None

    def shows(self, text: str) -> bool:
        """True when `text` is one of this segment's states."""
        return len(text) in self.lengths and self.text.startswith(text)


@dataclass
class WrittenStates:
    """The texts a job's region showed after each of its confirmed edits."""

    _segments: list[_Segment] = field(default_factory=list)

    def replaced(self, text: str) -> None:
        """Records an edit that made `text` the region's whole text."""
        self._segments.append(_Segment([text], [len(text)]))

    def appended(self, text: str) -> None:
        """Records an edit that appended `text` to the region."""
        if self._segments:
            self._segments[-1].append(text)
        else:
            self.replaced(text)

    def retract(self) -> None:
        """Forgets the newest state (its edit was a change of the user's taken for it)."""
        segment = self._segments[-1]
        if len(segment.pieces) == 1:
            self._segments.pop()
        else:
            segment.pieces.pop()
            segment.lengths.pop()
            segment._text = None

    @property
    def current(self) -> str | None:
        """The region's text after the job's last edit (None before any)."""
        return self._segments[-1].text if self._segments else None

    def earlier(self, text: str) -> bool:
        """True when `text` is a state the job's region showed before its current one."""
        if text == self.current:
            return False
        return any(segment.shows(text) for segment in self._segments)

    def ends(self) -> list[str]:
        """The last state of every segment but the current one, newest first: what an undo of
        a whole turn (or of a rewrite) puts back, maybe as an insertion at the region's edge."""
        return [segment.text for segment in reversed(self._segments[:-1])]
