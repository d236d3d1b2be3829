"""A job's state machine (jobs/state.py, pure) and its one owner (jobs/lifecycle.py): every
legal transition, every other one refused, and the decision a turn's end takes."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from gpt_lsp.jobs.state import (
    BY_USER,
    ENDED,
    NOT_REVIEWED,
    REVIEWED,
    IllegalTransition,
    Phase,
    State,
    TurnEnd,
    after_turn,
    move,
    wanting,
)

P = Phase
LEGAL = [(True, a, b) for a, targets in REVIEWED.items() for b in sorted(targets, key=str)] + [
    (False, a, b) for a, targets in NOT_REVIEWED.items() for b in sorted(targets, key=str)
]
ILLEGAL = [
    (reviewed, a, b)
    for reviewed, table in ((True, REVIEWED), (False, NOT_REVIEWED))
    for a, b in itertools.product(Phase, Phase)
    if b not in table.get(a, frozenset())
]


@pytest.mark.parametrize(("reviewed", "start", "to"), LEGAL)
def test_every_legal_transition_moves(reviewed: bool, start: Phase, to: Phase) -> None:
    before = State(start, reviewed, "accept" if start is P.RUNNING else None)
    after = move(before, to)
    assert after == State(to, reviewed)  # the wish belonged to the turn that ended


@pytest.mark.parametrize(("reviewed", "start", "to"), ILLEGAL)
def test_every_other_transition_is_refused(reviewed: bool, start: Phase, to: Phase) -> None:
    with pytest.raises(IllegalTransition):
        move(State(start, reviewed), to)


def test_the_tables_cover_the_lives_the_docs_describe() -> None:
    # Reviewed: running -> pending -> a user's outcome; a follow-up goes back to running.
    assert P.PENDING in REVIEWED[P.RUNNING] and P.RUNNING in REVIEWED[P.PENDING]
    assert {P.ACCEPTED, P.UNDONE, P.EDITED, P.CLOSED, P.RESTORING} <= REVIEWED[P.PENDING]
    assert REVIEWED[P.RESTORING] >= {P.REJECTED, P.UNDONE, P.EDITED}
    # An ended job never moves again; a notes job is never pending.
    assert not any(phase in REVIEWED or phase in NOT_REVIEWED for phase in ENDED)
    assert set(NOT_REVIEWED) | set().union(*NOT_REVIEWED.values()) == {P.RUNNING, P.DONE}
    assert BY_USER <= ENDED


def test_the_protocol_words() -> None:
    words = {phase: State(phase, True).review for phase in Phase if phase is not P.DONE}
    assert words[P.RUNNING] == words[P.STOPPED] == "running"
    assert words[P.PENDING] == words[P.RESTORING] == "pending"  # lenses stay while restoring
    assert all(words[phase] == "ended" for phase in ENDED)
    assert State(P.RUNNING).review == State(P.DONE).review == "none"
    assert State(P.UNDONE, True).outcome == "undone" and State(P.PENDING, True).outcome is None


def test_a_wish_is_only_for_a_running_turn_and_a_reject_outweighs_an_accept() -> None:
    running = State(P.RUNNING, True)
    assert wanting(running, "accept").wish == "accept"
    assert wanting(wanting(running, "accept"), "reject").wish == "reject"
    assert wanting(wanting(running, "reject"), "accept").wish == "reject"
    with pytest.raises(IllegalTransition):
        wanting(State(P.PENDING, True), "accept")


def test_a_follow_up_may_start_from_pending_stopped_or_a_notes_turn_only() -> None:
    allowed = {p for p in Phase if State(p, True).can_follow_up()}
    assert allowed == {P.PENDING, P.STOPPED}
    assert {p for p in Phase if State(p, False).can_follow_up()} == {P.DONE}


@pytest.mark.parametrize(
    ("state", "end", "phase"),
    [
        (State(P.RUNNING), TurnEnd(1, "failed", wrote=False), P.DONE),  # notes: never reviewed
        (State(P.RUNNING, True), TurnEnd(1, "cancelled", "refine"), P.STOPPED),
        (State(P.RUNNING, True), TurnEnd(1, "done"), P.PENDING),
        (State(P.RUNNING, True), TurnEnd(1, "done", wrote=False), P.ACCEPTED),  # nothing shown
        (State(P.RUNNING, True), TurnEnd(1, "failed", wrote=False), P.FAILED),  # restored
        (State(P.RUNNING, True), TurnEnd(1, "failed"), P.PENDING),  # the restore did not land
        (State(P.RUNNING, True), TurnEnd(2, "failed", wrote=False), P.PENDING),  # last answer
        (State(P.RUNNING, True), TurnEnd(2, "cancelled", wrote=False), P.PENDING),
        (State(P.RUNNING, True), TurnEnd(1, "cancelled", wrote=False), P.CANCELLED),
        (State(P.RUNNING, True), TurnEnd(1, "conflict"), P.CONFLICT),
        (State(P.RUNNING, True), TurnEnd(2, "done", kept=False), P.ACCEPTED),
        (State(P.RUNNING, True), TurnEnd(2, "cancelled", "closed"), P.CANCELLED),
        (State(P.RUNNING, True, "accept"), TurnEnd(1, "done"), P.ACCEPTED),
        (State(P.RUNNING, True, "accept"), TurnEnd(1, "failed"), P.FAILED),
        (State(P.RUNNING, True, "reject"), TurnEnd(1, "cancelled"), P.REJECTED),
        (State(P.RUNNING, True, "reject"), TurnEnd(1, "cancelled", kept=False), P.REJECTED),
    ],
)
def test_where_a_turns_end_leads(state: State, end: TurnEnd, phase: Phase) -> None:
    assert after_turn(state, end) is phase
    move(state, phase)  # and it is a legal move


STATE_WORDS = {"state", "phase", "wish", "status", "stop", "outcome"}


def _state_writes(tree: ast.AST) -> list[int]:
    """Lines assigning a state word to another object's attribute (`job.state = ...`)."""
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for item in target.elts if isinstance(target, ast.Tuple) else [target]:
                own = isinstance(item, ast.Attribute) and (
                    isinstance(item.value, ast.Name) and item.value.id == "self"
                )
                if isinstance(item, ast.Attribute) and item.attr in STATE_WORDS and not own:
                    lines.append(node.lineno)
    return lines


def test_the_state_write_finder_finds_one() -> None:
    assert _state_writes(ast.parse("job.state = x\nturn.status, a = 1, 2\nself.stop = 3")) == [1, 2]


def test_only_the_lifecycle_changes_a_jobs_state() -> None:
    """No module of the job, session, LSP or edit layers but jobs/lifecycle.py assigns a job's
    state or a turn's ending."""
    package = Path(__file__).resolve().parents[3] / "gpt_lsp"
    writers = [
        f"{folder}/{path.name}:{line}"
        for folder in ("jobs", "session", "lsp", "edits")
        for path in sorted((package / folder).glob("*.py"))
        if path.name != "lifecycle.py"
        for line in _state_writes(ast.parse(path.read_text("utf-8")))
    ]
    assert writers == []
