"""When a completion request may go to the relay: the newest per document after a quiet
debounce, and relay errors shown at most once a minute."""

from __future__ import annotations

import time
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
