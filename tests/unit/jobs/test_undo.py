"""Undo rules, the same in every editor (issue 18): one undo after a job, with or without a
follow-up turn, restores the text from before the first turn; the user's own typing outside the
region survives it; an undo never ends a job as accepted on text the user did not type. Each
editor profile of the shared fake reports the undo its own way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gpt_lsp.session.arguments import ChatArgs
from tests.fakes.client import FakeClient
from tests.fakes.relay import Relay, sse
from tests.fakes.session import SOURCE, URI, by_id, make, run, streaming_job, until, whole

TYPED = "x = total([4, 5])\n"
PROFILES = ["vscode", "neovim", "eglot", "coc"]


def reviews(client: FakeClient, job_id: str) -> list[dict[str, Any]]:
    return [p for m, p in client.notifications if m == "gptLsp/review" and p["jobId"] == job_id]


def outcome(client: FakeClient, job_id: str) -> str | None:
    mine = reviews(client, job_id)
    return mine[-1].get("outcome") if mine else None


def finishes(client: FakeClient, job_id: str) -> int:
    return sum(
        1 for m, p in client.notifications if m == "gptLsp/jobFinished" and p["jobId"] == job_id
    )


async def pending(client: FakeClient, job_id: str, turns: int = 1) -> None:
    await until(lambda: finishes(client, job_id) >= turns)
    await until(lambda: reviews(client, job_id)[-1]["status"] == "pending")


def assert_no_accepted_message(client: FakeClient) -> None:
    assert not any("accepted" in text for _, text in client.messages), client.messages


@pytest.mark.parametrize("profile", PROFILES)
async def test_one_undo_after_typing_during_the_stream_restores_the_original(
    tmp_path: Path, profile: str
) -> None:
    session, client, _relay, doc, job_id = await streaming_job(
        tmp_path, "    y", 30, seen=5, delay=0.01, profile=profile
    )
    doc.type_at(len(doc.text), TYPED)  # a line at the end of the file, mid-stream
    typed_at = doc.text
    await pending(client, job_id)
    doc.flush()
    assert "y29 = 29" in doc.text and doc.text.endswith(TYPED)
    # One undo takes back the job's edits made after the typing: the region is left at one of
    # the job's intermediate states, which no one typed.
    doc.undo_to(typed_at)
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "undone"
    await until(lambda: doc.text == SOURCE + TYPED)
    assert client.labels[-1] == f"{job_id.join(['gpt-lsp ', ''])} restore"
    assert_no_accepted_message(client)
    assert await session.controls.reject(by_id(job_id)) == {"ok": False}
    assert session.controls.code_lenses(URI) == []


async def follow_up(tmp_path: Path, profile: str) -> tuple[Any, FakeClient, Any, str, str]:
    """A job, pending, then a follow-up turn, pending; returns the text after the first."""
    relay = Relay()
    relay.answers.append(sse(["def total(items):\n", "    return sum(items)  # one\n"]))
    relay.answers.append(sse(["def total(items):\n", "    return 0  # two\n"]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await pending(client, job_id)
    doc.flush()
    first = doc.text
    assert "# one" in first
    argument = ChatArgs.model_validate({"jobId": job_id, "instruction": "shorter"})
    assert await session.chat(argument) == {"jobId": job_id}  # type: ignore[misc]
    await pending(client, job_id, turns=2)
    doc.flush()
    assert "# two" in doc.text
    return session, client, doc, job_id, first


@pytest.mark.parametrize("profile", PROFILES)
async def test_one_undo_after_a_follow_up_turn_restores_the_text_before_the_first(
    tmp_path: Path, profile: str
) -> None:
    session, client, doc, job_id, first = await follow_up(tmp_path, profile)
    doc.undo_to(first)  # VS Code, Emacs: the first undo takes back the follow-up turn only
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "undone"
    await until(lambda: doc.text == SOURCE)
    assert_no_accepted_message(client)
    assert session.controls.code_lenses(URI) == []


async def test_an_undone_turn_put_back_at_the_regions_edge_restores_the_original(
    tmp_path: Path,
) -> None:
    # Emacs undoes a turn edit by edit: the follow-up's text goes (inside the region), then the
    # first turn's answer comes back as an insertion right at the region's start.
    _session, client, doc, job_id, first = await follow_up(tmp_path, "eglot")
    start = doc.text.index("def total")
    end = doc.text.index("\nprint")
    doc.type_at(start, "", end - start)
    doc.type_at(start, first[start : first.index("\nprint")])
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "undone"
    await until(lambda: doc.text == SOURCE)
    assert_no_accepted_message(client)


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_an_undo_in_two_did_changes_to_an_earlier_turn_restores_the_original(
    tmp_path: Path, profile: str
) -> None:
    # Neovim may report one undo in two didChange notifications, the first a partial one.
    _session, client, doc, job_id, first = await follow_up(tmp_path, profile)
    now = doc.text
    middle = now.index("return 0")
    doc.type_at(middle, "", len("return 0"))
    doc.flush()
    doc.undo_to(first)
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "undone"
    await until(lambda: doc.text == SOURCE)
    assert_no_accepted_message(client)


@pytest.mark.parametrize("profile", PROFILES)
async def test_typing_inside_then_taking_it_back_leaves_the_job_pending(
    tmp_path: Path, profile: str
) -> None:
    session, client, doc, job_id, _first = await follow_up(tmp_path, profile)
    at = doc.text.index("# two") + 5
    doc.type_at(at, "!")
    doc.type_at(at, "", 1)  # within the grace: the region shows the job's text again
    doc.flush()
    for _ in range(3):
        await until(lambda: session.documents.get(URI).source == doc.text)  # type: ignore[union-attr]
    await _grace_over()
    assert reviews(client, job_id)[-1]["status"] == "pending"
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)


async def _grace_over() -> None:
    """Waits out the review's edit grace (a verdict timer in the server, not a guess here)."""
    import asyncio

    from gpt_lsp.jobs.verdicts import EDIT_GRACE

    await asyncio.sleep(EDIT_GRACE + 0.1)


@pytest.mark.parametrize("profile", PROFILES)
async def test_typing_in_a_pending_region_is_still_accepted_with_the_users_edits(
    tmp_path: Path, profile: str
) -> None:
    session, client, doc, job_id, _first = await follow_up(tmp_path, profile)
    doc.type_at(doc.text.index("# two") + 5, " and more")
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "edited"
    assert "# two and more" in doc.text
    assert await session.controls.reject(by_id(job_id)) == {"ok": False}


@pytest.mark.parametrize("profile", PROFILES)
async def test_an_undo_that_passes_through_an_earlier_state_to_the_original_just_ends(
    tmp_path: Path, profile: str
) -> None:
    # Neovim undoes a job's joined edits one by one: the region shows the job's first state
    # (a prefix of the original here), then the rest of the original comes back as an
    # insertion at the region's end. That is the original, not a state to restore from.
    relay = Relay()
    relay.delay = 0.05
    relay.answers.append(sse(["def total(", "items: list[int]) -> int:\n", "    return 0\n"]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await pending(client, job_id)
    doc.flush()
    func = "def total(items):\n    return sum(items)\n"
    written = session.jobs.jobs[job_id].region.written
    answer = written.current
    assert answer is not None
    # The job's first state: "def total(", or more of the answer if its pieces came together.
    first = answer[: written._segments[0].lengths[0]]
    assert func.startswith(first), first
    doc.undo_to(SOURCE.replace(func, first))
    doc.undo_to(SOURCE)
    doc.flush()
    await until(lambda: outcome(client, job_id) is not None)
    assert outcome(client, job_id) == "undone"
    assert doc.text == SOURCE
    assert not any(label.endswith("restore") for label in client.labels)
