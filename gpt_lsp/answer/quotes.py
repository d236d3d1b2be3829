"""Whether code lines leave a triple-quoted string open (a docstring's fence is content; pure)."""

from __future__ import annotations

import re

_TRIPLE = re.compile(r'"""|\'\'\'')


class TripleQuotes:
    """Follows `\"\"\"` and `'''` strings across the lines of an answer's code."""

    def __init__(self) -> None:
        """Starts outside any string."""
        self.open: str | None = None

    def feed(self, line: str) -> None:
        """Takes a complete code line."""
        i = 0
        for _ in range(len(line)):  # each round moves past one quote run
            if self.open is not None:
                j = line.find(self.open, i)
                if j < 0:
                    return
                self.open = None
            else:
                m = _TRIPLE.search(line, i)
                if m is None:
                    return
                j = m.start()
                self.open = m.group()
            i = j + 3

    def reset(self) -> None:
        """Starts over outside any string."""
        self.open = None
