"""Context an answer repeats: lines just before or after the range, reproduced at the answer's
start or end although the prompt asked not to, are dropped (pure, line by line).

Lines compare without their indentation; blank lines are skipped. A repeat counts only when
the original does not itself start (or end) with those lines, and when it holds more than a
brace or a keyword.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_lsp.answer.indent import ANY_BREAK

CONTEXT_LINES = 8  # lines of context looked at on each side
MIN_CHARS = 6  # non-blank characters a repeat must hold to be dropped


def context_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """Returns the complete lines just before and after a range, nearest last / first."""
    head = ANY_BREAK.split(before)[:-1]  # the last piece is the start of the range's line
    tail = ANY_BREAK.split(after)[1:]  # the first piece is the rest of the range's line
    near_before = [s.strip() for s in head if s.strip()][-CONTEXT_LINES:]
    near_after = [s.strip() for s in tail if s.strip()][:CONTEXT_LINES]
    return near_before, near_after


def _nonblank(text: str) -> list[str]:
    return [s.strip() for s in ANY_BREAK.split(text) if s.strip()]


class RepeatTrimmer:
    """Holds code lines that may repeat the context; releases or drops them once it knows."""

    def __init__(self, before: Sequence[str], after: Sequence[str], original: str) -> None:
        """Takes the context lines (from `context_lines`) and the text the job replaces."""
        own = _nonblank(original)
        self._before = list(before)
        self._after = list(after)
        self._own_head = own[: len(before)]
        self._own_tail = own[-len(after) :] if after else []
        self.reset()

    def reset(self) -> None:
        """Starts over: the answer's code starts (again)."""
        self._held: list[str] = []
        self._head = bool(self._before)  # still looking at the answer's first lines
        self._cands: set[int] = set(range(1, len(self._before) + 1))  # repeats of m lines
        self._best = 0  # held lines (blank ones included) of the longest complete repeat
        self._tail: set[int] = set()  # held lines' ends that equal after[:j]
        self._dropped: list[str] = []  # the repeated start, kept if nothing else comes
        self._kept = False  # a non-blank line was let through

    def may_hold(self, partial: str) -> bool:
        """Returns whether a line starting with `partial` must wait until it is complete."""
        if self._held:
            return True
        p = partial.strip()
        b = self._before
        if self._head and any(b[len(b) - m].startswith(p) for m in self._cands):
            return True
        return bool(self._after) and self._after[0].startswith(p)

    def passed(self) -> None:
        """A line that `may_hold` let through is written as it streams: it repeats nothing."""
        self._head, self._cands, self._kept = False, set(), True

    def push(self, line: str) -> list[str]:
        """Takes a complete code line; returns the lines now known to stay."""
        out = self._push(line)
        self._kept = self._kept or any(s.strip() for s in out)
        return out

    def _push(self, line: str) -> list[str]:
        x = line.strip()
        if not x:
            if self._held:
                self._held.append(line)
                return []
            return [line]
        if self._head:
            return self._push_head(line, x)
        return self._push_tail(line, x)

    def finish(self) -> list[str]:
        """Ends the answer: returns the held lines that stay (a repeated end is dropped)."""
        out = self._end_head([]) if self._head else []
        if not self._kept and not any(s.strip() for s in out):
            # Nothing but context: that is the answer (the code equals its neighbours).
            out = self._dropped + out + self._held
            self._dropped, self._held, self._tail = [], [], set()
            return out
        j = max(self._tail, default=0)
        held, self._held, self._tail = self._held, [], set()
        if j and self._is_repeat(self._after[:j], self._own_tail[-j:]):
            kept, seen = [], 0
            for line in held:
                if seen >= self._count_of(held) - j:
                    break
                kept.append(line)
                seen += 1 if line.strip() else 0
            held = kept
        return out + held

    # ------------------------------------------------------------ the answer's start

    def _count(self) -> int:
        return self._count_of(self._held)

    @staticmethod
    def _count_of(lines: Sequence[str]) -> int:
        return sum(1 for line in lines if line.strip())

    def _push_head(self, line: str, x: str) -> list[str]:
        j = self._count() + 1
        b = self._before
        self._cands = {m for m in self._cands if m >= j and b[len(b) - m + j - 1] == x}
        if not self._cands:
            return self._end_head([line])
        self._held.append(line)
        if j in self._cands:
            self._cands.discard(j)
            if self._is_repeat(b[len(b) - j :], self._own_head[:j]):
                self._best = len(self._held)
        if not self._cands:
            return self._end_head([])
        return []

    def _end_head(self, rest: list[str]) -> list[str]:
        held = self._held[self._best :]
        self._dropped = self._held[: self._best]
        self._held, self._head, self._cands = [], False, set()
        out: list[str] = []
        for line in [*held, *rest]:
            out.extend(self._push(line))  # now past the start: the end's rules apply
        return out

    # ------------------------------------------------------------ the answer's end

    def _push_tail(self, line: str, x: str) -> list[str]:
        a = self._after
        if not a:
            return [line]
        tail = {j + 1 for j in self._tail if j < len(a) and a[j] == x}
        if a[0] == x:
            tail.add(1)
        self._held.append(line)
        self._tail = tail
        keep = max(tail, default=0)
        out: list[str] = []
        while self._count() > keep:
            out.append(self._held.pop(0))
        while self._held and not self._held[0].strip():
            out.append(self._held.pop(0))
        return out

    @staticmethod
    def _is_repeat(lines: Sequence[str], own: Sequence[str]) -> bool:
        return sum(len(s) for s in lines) >= MIN_CHARS and list(own) != list(lines)
