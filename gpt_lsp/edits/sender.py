"""Sends a document's queued edits: one `workspace/applyEdit` in flight, batched every
`interval` seconds, each awaited until the client's didChange confirms it or it is known lost.
The sender never loops without awaiting, so nothing a client does can hold the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from gpt_lsp.edits.region import EditKind, JobRegion, SentEdit
from gpt_lsp.edits.repairs import Repair, Repairs
from gpt_lsp.i18n import N_
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Span

log = logging.getLogger(__name__)

ApplyEdit = Callable[[str, int, Span, str, str], Awaitable[bool]]

APPLY_TIMEOUT = 10.0  # seconds for the client to answer applyEdit
# Seconds to wait for the didChange that shows an edit the client said it applied. Never
# re-send such an edit on a timeout: Neovim holds didChange back while the user types, and a
# second copy would land on top of the first. Only a didChange without it proves it lost.
UNCONFIRMED_TIMEOUT = 30.0
RESYNC_TIMEOUT = 1.0  # seconds to wait for the user's change after a rejected edit
# Seconds an edit the client said it applied may still show up after a user change came first.
SUSPECT_WAIT = 0.25
MAX_STRAYS = 8
MAX_LOST_IN_A_ROW = 200  # edits lost to the user's changes in a row (each one explained)
# Edits refused in a row with no change of the editor's to explain them: the editor will not
# take them (VS Code: a read-only document, a version it no longer has), so the job stops.
MAX_REFUSED = 3
MAX_QUIET_ROUNDS = 100  # sender rounds in a row without an edit sent: a bug, never a spin


class Outbox(Protocol):
    """What the sender shares with its document's channel (edits/channel.py)."""

    doc: TextDoc
    encoding: Encoding
    apply_edit: ApplyEdit
    interval: float
    regions: dict[str, JobRegion]
    in_flight: SentEdit | None
    edits_sent: int
    user_change: asyncio.Event
    strays: list[SentEdit]
    repairs: Repairs
    repairer: JobRegion

    def give_up(self, tracked: JobRegion, reason: str) -> None: ...

    def drop_repair(self, repair: Repair) -> None: ...


class Sender:
    """The task that writes a channel's queued edits, one at a time."""

    def __init__(self, channel: Outbox) -> None:
        self.channel = channel
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send = 0.0
        self._turn = 0

    def poke(self) -> None:
        """Says a region has something to send; starts the task when it is not running."""
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stops the task; nothing more is sent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _next_writer(self) -> JobRegion | None:
        if self.channel.repairs and not self.channel.repairer.in_flight:
            return self.channel.repairer
        regions = [w for w in self.channel.regions.values() if w.has_work()]
        if not regions:
            return None
        self._turn = (self._turn + 1) % len(regions)
        return regions[self._turn]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        quiet = 0  # rounds in a row that sent nothing
        while True:
            tracked = self._next_writer()
            if tracked is None:
                self._wake.clear()
                if not any(not w.is_idle() for w in self.channel.regions.values()):
                    return
                await self._wake.wait()
                continue
            if tracked is self.channel.repairer:
                await self._send_repair()
                quiet = 0
                continue
            delay = self._last_send + self.channel.interval - loop.time()
            if delay > 0 and not tracked.stream_ended and not tracked.restore_wanted:
                # Batching: text keeps arriving while we wait, and goes out in one edit.
                await asyncio.sleep(delay)
                if not tracked.has_work():
                    continue
            if await self._send(tracked):
                quiet = 0
                continue
            # Every round awaits: a region that keeps offering work it does not send must
            # never hold the event loop (nothing else would be answered, not even shutdown).
            quiet += 1
            await asyncio.sleep(0)
            if quiet >= MAX_QUIET_ROUNDS:
                log.error("job %s: edits offered but never sent; stopping them", tracked.job_id)
                self.channel.give_up(
                    tracked, N_("gpt-lsp could not send the job's edits: it stopped.")
                )
                quiet = 0

    async def _send_repair(self) -> None:
        # The repair stays listed (so changes keep mapping its target) until confirmed.
        repair = self.channel.repairs.first()
        if repair is None:
            return
        self.channel.repairs.sending = repair
        try:
            confirmed = await self._send_edit(
                self.channel.repairer, "repair", repair.target, repair.text
            )
        finally:
            self.channel.repairs.sending = None
        if not confirmed and self.channel.repairer.lost_in_a_row >= MAX_LOST_IN_A_ROW:
            log.warning("could not undo a misplaced edit")
            self.channel.drop_repair(repair)

    async def _send(self, tracked: JobRegion) -> bool:
        """Sends the region's next edit; False when nothing went to the client."""
        edit = tracked.next_edit()
        if edit is None:
            tracked.update_settled()
            return False
        kind, span, text = edit
        if self.channel.doc.text_in(span, self.channel.encoding) == text:
            # The text is already there: a no-op edit would get no didChange to confirm it.
            tracked.confirm(kind, span, text, self.channel.encoding)
            tracked.update_settled()
            return False
        await self._send_edit(tracked, kind, span, text)
        return True

    async def _send_edit(self, tracked: JobRegion, kind: EditKind, span: Span, text: str) -> bool:
        """Sends one edit and waits until it is confirmed or known lost."""
        sent = SentEdit(tracked, kind, span, text, self.channel.doc.version)
        self.channel.in_flight = sent
        tracked.in_flight = True
        self.channel.user_change.clear()
        self._last_send = asyncio.get_running_loop().time()
        self.channel.edits_sent += 1
        log.debug("send %s v%d %s +%d chars", kind, self.channel.doc.version, span, len(text))
        try:
            sent.answer = bool(
                await asyncio.wait_for(
                    self.channel.apply_edit(
                        self.channel.doc.uri,
                        self.channel.doc.version,
                        span,
                        text,
                        tracked.label(kind),
                    ),
                    APPLY_TIMEOUT,
                )
            )
        except asyncio.TimeoutError:
            pass  # not known to be applied (nor refused: it may still show)
        except asyncio.CancelledError:
            sent.settle(False)
            raise
        except Exception as exc:  # noqa: BLE001 - a broken client answer means "not applied"
            log.warning("applyEdit failed: %s", type(exc).__name__)
        applied = bool(sent.answer)
        log.debug("applyEdit answered applied=%s", sent.answer)
        if sent.answer is False and sent.confirmed:
            sent.retract(self.channel.encoding)  # a change of the user's was taken for it
        unknown = unexplained = False
        try:
            if applied:
                await _wait_any([sent.done, sent.overtaken], UNCONFIRMED_TIMEOUT)
                if sent.confirmed is None and sent.overtaken.is_set() and sent.may_show():
                    # A user change came first, and Neovim may report an edit at version 0
                    # later. Given up, it stays watched: if it shows, it is undone.
                    await _wait(sent.done, SUSPECT_WAIT)
                    if sent.confirmed is None:
                        self.channel.strays[:] = [*self.channel.strays[-MAX_STRAYS + 1 :], sent]
                unknown = sent.confirmed is None and not sent.overtaken.is_set()
            elif sent.confirmed is None:
                # Refused: the client has a change we have not seen; wait for it briefly.
                await _wait(self.channel.user_change, RESYNC_TIMEOUT)
                unexplained = not self.channel.user_change.is_set()
        finally:
            sent.settle(False)
            self.channel.in_flight = None
            tracked.in_flight = False
            if unknown:
                self.channel.give_up(
                    tracked, N_("The editor never reported the job's edit: the job stopped.")
                )
            elif not sent.confirmed:
                tracked.lose(kind, text)
                if unexplained:
                    self._refused(tracked, kind)
                elif tracked.lost_in_a_row >= MAX_LOST_IN_A_ROW:
                    self.channel.give_up(tracked, N_("The editor kept refusing the job's edits."))
            tracked.update_settled()
        return bool(sent.confirmed)

    def _refused(self, tracked: JobRegion, kind: EditKind) -> None:
        """An edit refused for no reason the editor showed: a few in a row stop the job's text
        (the job fails), or, for a restore or a repair, stop trying."""
        log.warning("the editor refused an edit (%s, %d before)", kind, tracked.refusals)
        if not tracked.refuse(kind, MAX_REFUSED):
            return
        if kind == "repair" and (repair := self.channel.repairs.first()) is not None:
            self.channel.drop_repair(repair)
        elif tracked.refused == "edits":
            tracked.on_conflict()  # stops the job's stream; the job fails and restores


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


async def _wait_any(events: Sequence[asyncio.Event], timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
