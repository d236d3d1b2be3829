"""A watchdog for a stream: cancels the reading task when the relay goes silent too long or
the answer runs past its total budget (one timer per stream, not a wait_for per event)."""

from __future__ import annotations

import asyncio
import time


class Watchdog:
    """Cancels the reading task when a stream goes silent or runs past its deadline."""

    def __init__(self, idle: float, deadline: float) -> None:
        self.idle = idle
        self.deadline = deadline
        self.last = time.monotonic()
        self.reading = False
        self.fired: str | None = None
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None
        self._arm()

    def start_read(self) -> None:
        """Marks the start of a wait for the relay: silence is counted from here."""
        self.last = time.monotonic()
        self.reading = True

    def _arm(self) -> None:
        now = time.monotonic()
        # While the consumer works on an event nothing is read: look again an idle later.
        if self.reading:
            delay = max(0.0, min(self.last + self.idle, self.deadline) - now)
        elif now < self.deadline:
            delay = min(self.idle, self.deadline - now)
        else:  # past the deadline: the next read raises it
            delay = self.idle
        self._handle = self._loop.call_later(delay, self._check)

    def _check(self) -> None:
        now = time.monotonic()
        late = now >= self.deadline
        silent = now - self.last >= self.idle
        if self.reading and (late or silent) and self._task is not None:
            self.fired = "total" if late else "silence"
            self._task.cancel()
            return
        self._arm()

    def absorb_cancel(self) -> None:
        """Takes back our own cancel, so the task can go on (and raise a timeout)."""
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        if uncancel is not None:
            uncancel()

    def stop(self) -> None:
        """Disarms the timer."""
        if self._handle is not None:
            self._handle.cancel()
