"""When a completion request may go to the relay: the newest per document, once the user
stopped changing it, and relay errors shown at most once a minute."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count


@dataclass
class Ticket:
    """One completion request's place in its document's queue."""

    uri: str
    number: int


@dataclass
class Latest:
    """The newest request per document: an older one gives way to it, at once."""

    _newest: dict[str, int] = field(default_factory=dict)
    _numbers: count[int] = field(default_factory=lambda: count(1))

    def take(self, uri: str) -> Ticket:
        """Returns a ticket that makes every older one of the document stale."""
        ticket = Ticket(uri, next(self._numbers))
        self._newest[uri] = ticket.number
        return ticket

    def current(self, ticket: Ticket) -> bool:
        """True while no newer request came for the document."""
        return self._newest.get(ticket.uri) == ticket.number

    def release(self, ticket: Ticket) -> None:
        """Forgets a finished request's document when nothing newer came."""
        if self.current(ticket):
            del self._newest[ticket.uri]

    def __len__(self) -> int:
        return len(self._newest)


class Throttle:
    """Lets a message through at most once per `interval` seconds per key."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self._clock = clock
        self._shown: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        """True when the message with this key may be shown now."""
        now = self._clock()
        last = self._shown.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._shown[key] = now
        if len(self._shown) > 64:  # bounded: keys are error kinds, a few in practice
            oldest = min(self._shown, key=self._shown.__getitem__)
            del self._shown[oldest]
        return True


class Rhythm:
    """How long a document must stay quiet before its user counts as stopped.

    The times between a document's changes give the user's usual gap between keystrokes; a
    request waits until the document has been quiet `FACTOR` times that long (at least the
    `debounceMs` floor, at most `CAP`), so a hesitation between two words asks nothing, and a
    request after a pause is answered at once. Until a few gaps are seen, `PRIOR` stands in.
    With the cursor right after a letter or digit (inside a word) the wait is `IN_WORD` times
    longer: a word is mostly typed on to its end, a stop inside it is a hesitation far more
    often than a wish for code (the editor's word completion serves that one).
    """

    FACTOR = 2.5
    IN_WORD = 1.5  # the quiet time inside a word, relative to the usual one
    PRIOR = 0.125  # seconds between keystrokes at 8 characters a second
    CAP = 0.6  # seconds: a slow typist's suggestion does not wait longer than this
    KEEP = 16  # gaps remembered
    LEAST = 4  # gaps needed before the rhythm replaces the prior
    LONGEST = 1.0  # seconds: a longer gap is a pause, not part of the rhythm
    SHORTEST = 0.02  # seconds: a shorter one is one edit reported in parts
    DOCUMENTS = 256  # documents whose last change is remembered

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._gaps: deque[float] = deque(maxlen=self.KEEP)
        self._changed: OrderedDict[str, float] = OrderedDict()  # last change per document
        self._active: OrderedDict[str, float] = OrderedDict()  # last change or cursor move

    def changed(self, uri: str, *, typing: bool = True) -> None:
        """Notes a change of a document (`typing`: the user's, part of the rhythm)."""
        now = self._clock()
        last = _put(self._changed, uri, now, self.DOCUMENTS)
        _put(self._active, uri, now, self.DOCUMENTS)
        if typing and last is not None and self.SHORTEST <= now - last <= self.LONGEST:
            self._gaps.append(now - last)

    def touched(self, uri: str) -> None:
        """Notes activity that changes nothing (a request at a new cursor, the older running)."""
        _put(self._active, uri, self._clock(), self.DOCUMENTS)

    def quiet(self, floor: float, *, in_word: bool = False) -> float:
        """Seconds without activity after which the user counts as stopped (0: never wait);
        `in_word`: the cursor is inside a word."""
        if floor <= 0:
            return 0.0
        usual = _median(self._gaps) if len(self._gaps) >= self.LEAST else self.PRIOR
        factor = self.FACTOR * (self.IN_WORD if in_word else 1.0)
        return min(max(floor, factor * usual), max(floor, self.CAP))

    def wait(self, uri: str, floor: float, *, in_word: bool = False) -> float:
        """Seconds a request for the document must still wait (0: the user stopped)."""
        last = self._active.get(uri)
        if last is None:
            return 0.0
        return max(0.0, last + self.quiet(floor, in_word=in_word) - self._clock())

    def forget(self, uri: str) -> None:
        """Drops a closed document's times."""
        self._changed.pop(uri, None)
        self._active.pop(uri, None)


def _median(values: deque[float]) -> float:
    """The median (statistics would import fractions and decimal: 6 ms, for 16 numbers)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _put(times: OrderedDict[str, float], uri: str, now: float, bound: int) -> float | None:
    """Sets a document's time (the newest last); returns the one it replaces."""
    last = times.pop(uri, None)
    times[uri] = now
    if len(times) > bound:
        times.popitem(last=False)
    return last
