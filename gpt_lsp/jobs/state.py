"""A job's state (pure): its phase, the only transitions between phases, and the decisions a
turn's end takes. jobs/lifecycle.py alone changes a job's state, with these.

A code job in an open document is reviewed::

    RUNNING -> PENDING -> ACCEPTED | UNDONE | EDITED | CLOSED | RESTORING -> REJECTED, ...
    RUNNING -> ACCEPTED | REJECTED | FAILED | CANCELLED | CONFLICT | CLOSED  (never pending)
    PENDING -> RUNNING;  RUNNING -> STOPPED -> RUNNING                       (a follow-up turn)

A job that writes notes (explain) is not: RUNNING -> DONE -> RUNNING (a follow-up turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

Wish = Literal["accept", "reject"]  # what the user decided while the turn was running
# How a turn ended (the protocol's job `status`, English); "running" until it ends.
TurnStatus = Literal["running", "done", "cancelled", "failed", "conflict"]
# Why a running turn was stopped.
StopReason = Literal["cancel", "conflict", "shutdown", "closed", "refine"]


class Phase(Enum):
    """Where a job is in its life."""

    RUNNING = "running"  # a turn streams
    STOPPED = "stopped"  # a turn stopped for a follow-up, which starts at once
    PENDING = "pending"  # done: the text awaits accept, reject, refine or undo
    RESTORING = "restoring"  # the original going back (a reject, an undo between states)
    DONE = "done"  # a notes job's turn ended; a follow-up may come
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNDONE = "undone"
    EDITED = "edited"
    CLOSED = "closed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CONFLICT = "conflict"


P = Phase
# Every legal move of a reviewed job; anything else is a bug (IllegalTransition).
REVIEWED: dict[Phase, frozenset[Phase]] = {
    P.RUNNING: frozenset(
        {P.PENDING, P.STOPPED, P.ACCEPTED, P.REJECTED, P.FAILED, P.CANCELLED, P.CONFLICT, P.CLOSED}
    ),
    P.STOPPED: frozenset({P.RUNNING, P.ACCEPTED, P.CLOSED}),
    P.PENDING: frozenset({P.RUNNING, P.RESTORING, P.ACCEPTED, P.UNDONE, P.EDITED, P.CLOSED}),
    P.RESTORING: frozenset({P.REJECTED, P.UNDONE, P.EDITED, P.ACCEPTED, P.CLOSED}),
}
NOT_REVIEWED: dict[Phase, frozenset[Phase]] = {
    P.RUNNING: frozenset({P.DONE}),
    P.DONE: frozenset({P.RUNNING}),
}
# Outcomes the user decided: the job is forgotten, its outcome kept (for a clear refine error).
BY_USER = frozenset({P.ACCEPTED, P.REJECTED, P.UNDONE, P.EDITED, P.CLOSED})
OPEN = frozenset({P.RUNNING, P.STOPPED, P.PENDING, P.RESTORING})  # a review not yet ended
ENDED = frozenset(Phase) - OPEN - {P.DONE}  # a review that ended (the protocol's outcome)
_REVIEW_WORD = {P.RUNNING: "running", P.STOPPED: "running", P.PENDING: "pending"}


class IllegalTransition(Exception):
    """A job was asked to move where its life does not go (a bug, never the user's doing)."""

    def __init__(self, state: State, phase: Phase) -> None:
        kind = "reviewed" if state.reviewed else "notes"
        super().__init__(f"{kind} job: {state.phase.value} -> {phase.value}")


@dataclass(frozen=True)
class State:
    """A job's state: its phase, whether its text is reviewed, and the user's wish while a
    turn runs (kept until the turn ends)."""

    phase: Phase = Phase.RUNNING
    reviewed: bool = False  # a code job in an open document (notes jobs are not reviewed)
    wish: Wish | None = None

    @property
    def review(self) -> str:
        """The protocol's review word: running, pending (also while restoring), ended, none."""
        if not self.reviewed:
            return "none"
        if self.phase in ENDED:
            return "ended"
        return _REVIEW_WORD.get(self.phase, "pending")

    @property
    def outcome(self) -> str | None:
        """How the review ended (the protocol's outcome), or None."""
        return self.phase.value if self.phase in ENDED else None

    def can_follow_up(self) -> bool:
        """True when a follow-up turn may start now."""
        return Phase.RUNNING in (REVIEWED if self.reviewed else NOT_REVIEWED).get(
            self.phase, frozenset()
        )


def move(state: State, phase: Phase) -> State:
    """Returns the state after a move to `phase`; raises IllegalTransition when the job's life
    has no such move. A move forgets the wish (it belonged to the turn that ended)."""
    table = REVIEWED if state.reviewed else NOT_REVIEWED
    if phase not in table.get(state.phase, frozenset()):
        raise IllegalTransition(state, phase)
    return State(phase, state.reviewed)


def wanting(state: State, wish: Wish) -> State:
    """Returns the state with the user's wish for the running turn: a reject outweighs an
    accept, whichever came first."""
    if state.phase is not Phase.RUNNING:
        raise IllegalTransition(state, state.phase)
    return State(state.phase, state.reviewed, "reject" if "reject" in (wish, state.wish) else wish)


@dataclass(frozen=True)
class TurnEnd:
    """What a turn's end left, as far as the job's next phase depends on it."""

    number: int  # the turn's number: 1 for the first
    status: TurnStatus
    stop: StopReason | None = None
    kept: bool = True  # the region is still tracked in an open document that takes edits
    wrote: bool = True  # the region shows the job's text (not the text from before it)


def after_turn(state: State, end: TurnEnd) -> Phase:
    """Where a job goes when its turn has ended. A done code job is pending; a follow-up turn
    that failed (or was cancelled) leaves the previous answer pending; a turn stopped for a
    follow-up waits for it; everything else ends the review."""
    if not state.reviewed:
        return Phase.DONE
    if end.stop == "refine":
        return Phase.STOPPED
    kept = end.kept and end.stop != "closed"
    later = end.number > 1
    if kept and state.wish is None:
        if (end.wrote or later) and end.status in ("done", "failed"):
            return Phase.PENDING
        if later and end.status == "cancelled":
            return Phase.PENDING
    if state.wish == "reject":
        return Phase.REJECTED
    return Phase.ACCEPTED if end.status == "done" else Phase(end.status)
