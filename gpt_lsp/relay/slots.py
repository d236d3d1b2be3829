"""Connections to one relay, shared by its requests: a stream holds one from its send to its
close, and a request waits for a free one in turn (first come, first served) within its own
time budget. The wait is not counted against the first-byte timeout, and a request that waits
its whole budget out fails saying that this editor's own requests took every connection (not
that the relay is overloaded: 81 of 200 jobs at once failed that way at the old pool timeout).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from gpt_lsp.errors import ConnectionsBusy
from gpt_lsp.i18n import _

__all__ = ["EXTRA_CONNECTIONS", "MAX_STREAMS", "Slot", "Slots"]

MAX_STREAMS: Final = 20
"""Streams one relay gets at once; more requests wait for one of them to end."""
EXTRA_CONNECTIONS: Final = 4
"""Connections beyond the streams' (model lists, balance): they never wait behind streams."""


class Slot:
    """One connection's worth of a relay, held by a request; released once."""

    __slots__ = ("_free",)

    def __init__(self, free: asyncio.Semaphore | None) -> None:
        self._free = free

    def release(self) -> None:
        """Gives the connection to the next request waiting (a second call does nothing)."""
        if self._free is not None:
            self._free.release()
            self._free = None


class Slots:
    """At most `size` requests of a relay at once, the others queued."""

    def __init__(self, size: int = MAX_STREAMS) -> None:
        self.size = size
        self._free = asyncio.Semaphore(size)

    async def take(self, seconds: float, *, relay: str, url: str) -> Slot:
        """Returns a slot once one is free; raises ConnectionsBusy after `seconds` without."""
        started = time.monotonic()
        slot = await self._take(seconds)
        if slot is None:
            text = _(
                "all {count} connections to the relay stayed taken by this editor's other "
                "requests for {seconds:.1f} s"
            )
            waited = text.format(count=self.size, seconds=time.monotonic() - started)
            raise ConnectionsBusy(waited, relay=relay, url=url)
        return slot

    async def _take(self, seconds: float) -> Slot | None:
        if not self._free.locked():
            await self._free.acquire()  # one is free and nobody waits: at once
            return Slot(self._free)
        # In turn. A task, not wait_for: Python 3.10's wait_for can time out a wait that just
        # got its slot, and lose the slot for good.
        waiter: asyncio.Future[bool] = asyncio.ensure_future(self._free.acquire())
        try:
            await asyncio.wait({waiter}, timeout=max(seconds, 0.0))
        except BaseException:
            self._drop(waiter)
            raise
        if not waiter.done():
            self._drop(waiter)
            return None
        return Slot(self._free)

    def _drop(self, waiter: asyncio.Future[bool]) -> None:
        """Gives up a wait; a slot it got after all goes back."""

        def back(done: asyncio.Future[bool]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._free.release()

        waiter.add_done_callback(back)
        waiter.cancel()
