"""Pending jobs in process: lenses, review notifications, accept / reject / refine / undo, with
the shared editor fake (VS Code and Neovim profiles) and an injected httpx transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gpt_lsp.errors import RequestRefused
from gpt_lsp.session.arguments import ChatArgs, JobTarget, RunArgs
from gpt_lsp.session.session import Session
from gpt_lsp.text.regions import Pos, Span
from tests.fakes.client import FakeClient
from tests.fakes.relay import Relay, sse
from tests.fakes.session import URI, by_id, make, run, streaming_job, until, whole

# CRLF and a non-BMP character: a reject must put back exactly these bytes.
SOURCE = "import os\r\n\r\ndef total(items):\r\n    return sum(items)  # 🙂\r\n\r\nprint(1)\r\n"
NEW = "def total(items):\n    return sum(items)  # new\n"
REVIEW = "gptLsp/review"


def reviews(client: FakeClient, job_id: str) -> list[dict[str, Any]]:
    return [p for m, p in client.notifications if m == REVIEW and p["jobId"] == job_id]


def finishes(client: FakeClient, job_id: str) -> list[dict[str, Any]]:
    return [
        p for m, p in client.notifications if m == "gptLsp/jobFinished" and p["jobId"] == job_id
    ]


def chat(session: Session, **argument: Any) -> Any:
    return session.chat(ChatArgs.model_validate(argument))


async def pending_job(
    tmp_path: Path, profile: str = "vscode", answer: str = NEW
) -> tuple[Session, FakeClient, Relay, Any, str]:
    relay = Relay()
    relay.answers.append(sse([answer[:10], answer[10:]]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await client.wait_finished(job_id)
    await until(lambda: any(r["status"] == "pending" for r in reviews(client, job_id)))
    doc.flush()
    return session, client, relay, doc, job_id


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_a_done_job_stays_pending_with_lenses_actions_and_the_original(
    tmp_path: Path, profile: str
) -> None:
    session, client, _, doc, job_id = await pending_job(tmp_path, profile)
    assert "# new" in doc.text
    states = [r["status"] for r in reviews(client, job_id)]
    assert states[0] == "running" and states[-1] == "pending"
    pending = reviews(client, job_id)[-1]
    assert pending["original"] == "def total(items):\r\n    return sum(items)  # 🙂\r\n"
    assert pending["range"]["start"] == {"line": 2, "character": 0}
    assert pending["range"]["end"] == {"line": 4, "character": 0}
    lenses = session.controls.code_lenses(URI)
    assert [(lens.title, lens.command, lens.span.start.line) for lens in lenses] == [
        ("AI: Accept", "gptLsp.accept", 2),
        ("AI: Reject", "gptLsp.reject", 2),
    ]
    assert all(lens.arguments == {"jobId": job_id} for lens in lenses)
    assert client.lens_refreshes >= 2
    inside = session.code_actions(URI, Span(Pos(3, 4), Pos(3, 4)), [])
    assert [(o.title, o.command) for o in inside[:2]] == [
        ("AI: Accept edit", "gptLsp.accept"),
        ("AI: Reject edit", "gptLsp.reject"),
    ]
    outside = session.code_actions(URI, Span(Pos(0, 0), Pos(0, 0)), [])
    assert not any(o.title.endswith(" edit") for o in outside)
    assert session.controls.accept(by_id(job_id)) == {"ok": True}
    assert reviews(client, job_id)[-1]["status"] == "ended"
    assert reviews(client, job_id)[-1]["outcome"] == "accepted"
    assert session.controls.code_lenses(URI) == []
    assert "# new" in doc.text


async def test_a_running_job_has_a_cancel_lens_and_streams_its_region(tmp_path: Path) -> None:
    session, client, _relay, _doc, job_id = await streaming_job(
        tmp_path, "x", 40, seen=3, source=SOURCE
    )
    titles = [lens.title for lens in session.controls.code_lenses(URI)]
    assert titles == ["AI: Accept", "AI: Reject", "AI: Cancel"]
    await client.wait_finished(job_id)
    running = [r for r in reviews(client, job_id) if r["status"] == "running"]
    assert len(running) >= 2  # sent while streaming, as the region grew
    assert len(running) <= 12  # ... but not per chunk (40 chunks, 0.8 s)


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_reject_after_two_turns_restores_the_text_from_before_the_first(
    tmp_path: Path, profile: str
) -> None:
    session, client, relay, doc, job_id = await pending_job(tmp_path, profile)
    relay.answers.append(sse(["def total(items):\n    return 0\n"], usage=(30, 7)))
    answer = await chat(session, jobId=job_id, instruction="make it shorter")
    assert answer == {"jobId": job_id}
    finished = await until_finishes(client, job_id, 2)
    doc.flush()
    assert "return 0" in doc.text and "# new" not in doc.text
    assert finished["usage"]["totalTokens"] == 12 + 5 + 30 + 7  # summed per job
    assert finished["usage"]["turns"] == 2
    second = relay.requests[1]["messages"]
    assert "return sum(items)  # 🙂" in second[1]["content"]  # the original code
    assert second[-2] == {"role": "assistant", "content": NEW.replace("\n", "\r\n")}
    assert "make it shorter" in second[-1]["content"]
    assert reviews(client, job_id)[-1]["status"] == "pending"
    assert reviews(client, job_id)[-1]["turn"] == 2
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)
    assert reviews(client, job_id)[-1]["outcome"] == "rejected"


async def until_finishes(client: FakeClient, job_id: str, count: int) -> dict[str, Any]:
    await until(lambda: len(finishes(client, job_id)) >= count)
    return finishes(client, job_id)[-1]


async def test_refine_by_position_stops_a_running_turn_and_rewrites_the_region(
    tmp_path: Path,
) -> None:
    session, client, relay, doc, job_id = await streaming_job(
        tmp_path, "x", 60, seen=2, source=SOURCE, delay=0.03
    )
    relay.delay = 0.0
    relay.answers.append(sse(["y = 1\n"]))
    where = {"line": 2, "character": 1}
    assert await chat(session, uri=URI, position=where, instruction="just y") == {"jobId": job_id}
    first, second = finishes(client, job_id)[0], await until_finishes(client, job_id, 2)
    assert first["status"] == "cancelled" and second["status"] == "done"
    await until(lambda: "\r\ny = 1\r\n\r\nprint" in doc.text)
    assert "x0" not in doc.text
    previous = relay.requests[1]["messages"][-2]
    assert previous["role"] == "assistant" and previous["content"].startswith("x0 = 0")
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_undo_back_to_the_original_ends_the_job_without_a_second_finish(
    tmp_path: Path, profile: str
) -> None:
    session, client, _, doc, job_id = await pending_job(tmp_path, profile)
    doc.undo_to(SOURCE)
    doc.flush()
    await until(lambda: reviews(client, job_id)[-1]["status"] == "ended")
    assert reviews(client, job_id)[-1]["outcome"] == "undone"
    assert len(finishes(client, job_id)) == 1
    assert session.controls.code_lenses(URI) == []
    assert not client.messages


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_typing_inside_a_pending_region_accepts_it_with_the_users_edits(
    tmp_path: Path, profile: str
) -> None:
    session, client, _, doc, job_id = await pending_job(tmp_path, profile)
    doc.type_at(doc.text.index("# new") + 5, "er")
    doc.flush()
    await until(lambda: reviews(client, job_id)[-1]["status"] == "ended")
    assert reviews(client, job_id)[-1]["outcome"] == "edited"
    assert any("accepted with your edits" in text for _, text in client.messages)
    assert await session.controls.reject(by_id(job_id)) == {"ok": False}
    assert "# newer" in doc.text


async def test_typing_just_after_a_pending_region_leaves_it_pending(tmp_path: Path) -> None:
    session, _client, _, doc, job_id = await pending_job(tmp_path)
    doc.type_at(doc.text.index("print"), "x = 2\n")
    doc.flush()
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE.replace("print", "x = 2\nprint"))


async def test_two_pending_jobs_keep_their_own_lenses_and_originals(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["import sys\n"]))
    relay.answers.append(sse(["print(2)\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    first = await run(session, "refactor", whole(SOURCE, 0, 0))
    await client.wait_finished(first)
    second = await run(session, "refactor", whole(SOURCE, 5, 5))
    await client.wait_finished(second)
    await until(lambda: len(session.controls.code_lenses(URI)) == 4)
    assert {lens.span.start.line for lens in session.controls.code_lenses(URI)} == {0, 5}
    assert reviews(client, second)[-1]["original"] == "print(1)\r\n"
    assert await session.controls.reject(JobTarget.model_validate({"jobId": first})) == {"ok": True}
    doc.flush()
    await until(lambda: doc.text.startswith("import os\r\n"))
    assert "print(2)" in doc.text
    assert [lens.arguments["jobId"] for lens in session.controls.code_lenses(URI)] == [second] * 2


async def test_closing_the_document_ends_its_pending_jobs_without_edits(tmp_path: Path) -> None:
    session, client, _, doc, job_id = await pending_job(tmp_path)
    text = doc.text
    edits = doc.edits_applied
    session.did_close(URI)
    assert reviews(client, job_id)[-1]["outcome"] == "closed"
    assert doc.edits_applied == edits and doc.text == text


async def test_refining_an_unknown_or_accepted_job_is_a_clear_error(tmp_path: Path) -> None:
    session, _client, relay, doc, job_id = await pending_job(tmp_path)
    with pytest.raises(RequestRefused, match="no job job-99"):
        await chat(session, jobId="job-99", instruction="again")
    outside = {"line": 0, "character": 0}
    with pytest.raises(RequestRefused, match="no pending or running AI job at this position"):
        await chat(session, uri=URI, position=outside, instruction="again")
    session.controls.accept(by_id(job_id))
    text = doc.text
    with pytest.raises(RequestRefused, match=r"has ended \(accepted\)"):
        await chat(session, jobId=job_id, instruction="again")
    assert len(relay.requests) == 1 and doc.text == text


async def test_a_failed_follow_up_leaves_the_previous_answer_pending(tmp_path: Path) -> None:
    session, client, relay, doc, job_id = await pending_job(tmp_path)
    text = doc.text
    relay.fail_next = 401
    await chat(session, jobId=job_id, instruction="again")
    finished = await until_finishes(client, job_id, 2)
    assert finished["status"] == "failed"
    assert doc.text == text
    assert reviews(client, job_id)[-1]["status"] == "pending"
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)


async def test_accept_while_running_keeps_the_answer_without_pending(tmp_path: Path) -> None:
    session, client, _relay, doc, job_id = await streaming_job(
        tmp_path, "x", 20, seen=1, source=SOURCE
    )
    assert session.controls.accept(by_id(job_id)) == {"ok": True}
    await client.wait_finished(job_id)
    assert [r["status"] for r in reviews(client, job_id)][-1] == "ended"
    assert "pending" not in [r["status"] for r in reviews(client, job_id)]
    await until(lambda: "x19 = 19" in doc.text)


async def test_explain_refines_under_the_previous_answer(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["It adds the items."]))
    relay.answers.append(sse(["Sum of a list."]))
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    result = session.run(
        RunArgs.model_validate({"action": "explain", "uri": URI, "range": whole(SOURCE, 2, 3)})
    )
    job_id = result["jobId"]
    finished = await client.wait_finished(job_id)
    notes_uri = finished["notesUri"]
    notes = client.docs[notes_uri]
    await until(lambda: "It adds the items." in notes.text)
    position = {"line": 0, "character": 0}
    await chat(session, uri=notes_uri, position=position, instruction="simpler")
    await until_finishes(client, job_id, 2)
    await until(lambda: "Sum of a list." in notes.text)
    assert notes.text.index("It adds the items.") < notes.text.index("## simpler")
    assert notes.text.index("## simpler") < notes.text.index("Sum of a list.")
    messages = relay.requests[1]["messages"]
    assert messages[-2] == {"role": "assistant", "content": "It adds the items."}


async def test_a_jobs_edits_carry_its_label_and_a_restore_its_own(tmp_path: Path) -> None:
    session, client, _, _doc, job_id = await pending_job(tmp_path)
    assert set(client.labels) == {f"gpt-lsp {job_id}"}  # shims join these into one undo step
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    assert client.labels[-1] == f"gpt-lsp {job_id} restore"


async def test_an_undo_reported_at_the_regions_edge_still_ends_the_job(tmp_path: Path) -> None:
    # Emacs undoes a job edit by edit: the appended text goes, then the rest of the original
    # comes back as an insertion right at the region's end (outside it, strictly speaking).
    _session, client, _, doc, job_id = await pending_job(tmp_path, "neovim")
    start = doc.text.index(NEW.replace("\n", "\r\n"))
    head = "def total(items):\r\n"
    doc.type_at(start + len(head), "", len(NEW.replace("\n", "\r\n")) - len(head))
    doc.type_at(start + len(head), "    return sum(items)  # 🙂\r\n")
    doc.flush()
    await until(lambda: reviews(client, job_id)[-1]["status"] == "ended")
    assert reviews(client, job_id)[-1]["outcome"] == "undone"
    assert doc.text == SOURCE


async def test_a_reject_right_after_typing_inside_keeps_the_typing(tmp_path: Path) -> None:
    session, client, _, doc, job_id = await pending_job(tmp_path)
    doc.type_at(doc.text.index("# new") + 5, "er")
    doc.flush()
    await until(lambda: "# newer" in (session.documents.get(URI).source or ""))  # type: ignore[union-attr]
    # Within the grace an edit verdict waits for (a split undo): the reject must not win.
    assert await session.controls.reject(by_id(job_id)) == {"ok": False}
    assert reviews(client, job_id)[-1]["outcome"] == "edited"
    assert "# newer" in doc.text


async def test_an_undo_reported_in_two_did_changes_ends_the_job_as_undone(tmp_path: Path) -> None:
    # Neovim may send the first piece of one undo alone, then the rest.
    _session, client, _, doc, job_id = await pending_job(tmp_path, "neovim")
    new = NEW.replace("\n", "\r\n")
    start = doc.text.index(new)
    head = "def total(items):\r\n"
    doc.type_at(start + len(head), "", len(new) - len(head))
    doc.flush()
    doc.type_at(start + len(head), "    return sum(items)  # 🙂\r\n")
    doc.flush()
    await until(lambda: reviews(client, job_id)[-1]["status"] == "ended")
    assert reviews(client, job_id)[-1]["outcome"] == "undone"
    assert not client.messages
