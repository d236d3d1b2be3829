"""The session in process: jobs started, streamed, cancelled, rejected, found by position, with
the shared editor fake and an injected httpx transport (no server, no sockets)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from gpt_lsp.errors import RequestRefused
from gpt_lsp.session.arguments import CancelArgs, ChatArgs, JobTarget, RunArgs
from gpt_lsp.session.session import Session
from tests.fakes.client import FakeClient
from tests.fakes.relay import Relay, sse
from tests.fakes.session import KEY, SOURCE, URI, by_id, make, run, streaming_job, until, whole


@pytest.mark.parametrize("profile", ["vscode", "neovim", "eglot"])
async def test_a_job_streams_into_the_document_and_ends_done(tmp_path: Path, profile: str) -> None:
    relay = Relay()
    relay.answers.append(sse(["def total(items):\n", "    return sum(items)  # fast\n"]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(job_id)
    doc.flush()
    assert finished["status"] == "done", finished
    assert doc.text == SOURCE.replace("sum(items)\n", "sum(items)  # fast\n")
    assert finished["usage"]["promptTokens"] == 12
    assert finished["summary"].startswith("AI: Refactor: done, 17 tokens, ")
    assert relay.requests[0]["model"] == "gpt-4"
    assert session.documents.get(URI) is not None
    assert session.documents.get(URI).source == doc.text  # type: ignore[union-attr]


async def test_cancel_closes_the_stream_and_restores_the_document(tmp_path: Path) -> None:
    session, client, relay, doc, job_id = await streaming_job(
        tmp_path, "line_", 100, seen=2, delay=0.05
    )
    assert session.controls.cancel(CancelArgs.model_validate({"jobId": job_id})) == {"ok": True}
    finished = await client.wait_finished(job_id)
    assert finished["status"] == "cancelled"
    await until(lambda: doc.text == SOURCE)
    await until(lambda: relay.closed_early == 1)


async def test_reject_after_done_restores_byte_exact(tmp_path: Path) -> None:
    relay = Relay()
    source = "a = 1\r\ndef f():\r\n    return '中文😀'\r\nb = 2\r\n"
    relay.answers.append(sse(["def f():\n", "    return 'x'\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, source)
    job_id = await run(session, "refactor", whole(source, 1, 2))
    assert (await client.wait_finished(job_id))["status"] == "done"
    assert doc.text == "a = 1\r\ndef f():\r\n    return 'x'\r\nb = 2\r\n"
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == source)


async def test_jobs_are_found_by_position(tmp_path: Path) -> None:
    relay = Relay()
    source = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    relay.answers.append(sse(["def a():\n    return 10\n"]))
    relay.answers.append(sse(["def b():\n    return 20\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, source)
    first = await run(session, "refactor", whole(source, 0, 1))
    await client.wait_finished(first)
    second = await run(session, "refactor", whole(source, 4, 5))
    await client.wait_finished(second)

    def at(line: int) -> JobTarget:
        return JobTarget.model_validate({"uri": URI, "position": {"line": line, "character": 2}})

    assert session.controls.find_job(at(1)).id == first  # type: ignore[union-attr]
    assert session.controls.find_job(at(4)).id == second  # type: ignore[union-attr]
    assert session.controls.find_job(at(2)).id == second  # outside both: the most recent
    assert await session.controls.reject(at(0)) == {
        "ok": True
    }  # the first job, not the most recent
    await until(lambda: doc.text == source.replace("return 2", "return 20"))
    assert session.controls.accept(JobTarget.model_validate({"uri": URI})) == {"ok": True}
    assert session.controls.accept(JobTarget.model_validate({"uri": URI})) == {"ok": False}
    other = JobTarget.model_validate(
        {"uri": "file:///other.py", "position": {"line": 0, "character": 0}}
    )
    assert session.controls.accept(other) == {"ok": False}


async def test_a_position_never_cancels_every_job(tmp_path: Path) -> None:
    relay = Relay()
    relay.delay = 0.05
    relay.answers.append(sse([f"x{i} = {i}\n" for i in range(60)]))
    relay.answers.append(sse([f"y{i} = {i}\n" for i in range(60)]))
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    client.open("file:///work/other.py", SOURCE)
    first = await run(session, "refactor", whole(SOURCE, 2, 3))
    other = session.run(
        RunArgs.model_validate(
            {"action": "refactor", "uri": "file:///work/other.py", "range": whole(SOURCE, 0, 0)}
        )
    )["jobId"]
    outside = {"uri": "file:///work/nothing.py", "position": {"line": 0, "character": 0}}
    assert session.controls.cancel(CancelArgs.model_validate(outside)) == {"ok": False}
    assert session.controls.cancel(
        CancelArgs.model_validate({"uri": URI, "position": {"line": 5, "character": 0}})
    ) == {"ok": True}
    assert (await client.wait_finished(first))["status"] == "cancelled"
    assert client.finished(other) is None  # the other document's job runs on
    assert session.controls.cancel(CancelArgs.model_validate({})) == {"ok": True}
    assert (await client.wait_finished(other))["status"] == "cancelled"


async def test_a_client_that_never_answers_costs_only_progress_and_notes(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["def total(items):\n", "    return sum(items)\n"]))
    relay.answers.append(sse(["It adds ", "the items."]))
    session, client = make(tmp_path, relay, answers=False)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    # The relay request went out before any client answer: the command itself starts it.
    await until(lambda: len(relay.requests) == 1, timeout=1.0)
    assert (await client.wait_finished(job_id, timeout=3.0))["status"] == "done"
    assert [event for _, event, _ in client.progress] == ["create"]
    assert doc.text == SOURCE
    explain = await run(session, "explain", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(explain, timeout=8.0)
    assert finished["status"] == "done"
    assert finished["text"] == "It adds the items."
    assert ("info", "It adds the items.") in client.messages
    assert "notesUri" not in finished


async def test_explain_streams_into_a_notes_document(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["It adds ", "the items.\n"]))
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    job_id = await run(session, "explain", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(job_id)
    notes = client.docs[finished["notesUri"]]
    assert notes.text.endswith("It adds the items.\n")
    assert client.docs[URI].text == SOURCE


async def test_chat_and_status(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["import sys\n"]))
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    result = session.chat(
        ChatArgs.model_validate(
            {"uri": URI, "range": whole(SOURCE, 0, 0), "instruction": "use sys"}
        )
    )
    await client.wait_finished(result["jobId"])
    status = session.status()
    assert "internal" not in status  # resource counts are for --debug only
    assert [a["id"] for a in status["actions"]][:4] == ["refactor", "fix", "document", "explain"]
    assert status["actions"][0]["title"] == "AI: Refactor"
    assert status["usage"]["jobs"] == 1
    assert "use sys" in relay.requests[0]["messages"][-1]["content"]


async def test_accept_outside_regions_keeps_the_newest_finished_job_not_a_running_one(
    tmp_path: Path,
) -> None:
    relay = Relay()
    source = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    relay.answers.append(sse(["def a():\n    return 10\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, source)
    first = await run(session, "refactor", whole(source, 0, 1))
    await client.wait_finished(first)
    relay.delay = 0.05
    relay.answers.append(sse([f"z{i} = {i}\n" for i in range(60)]))
    running = await run(session, "refactor", whole(source, 4, 5))
    # Column 0 of the line after a region of whole lines is outside it.
    after_first = JobTarget.model_validate({"uri": URI, "position": {"line": 2, "character": 0}})
    assert session.controls.accept(after_first) == {"ok": True}
    assert session.controls.find_job(JobTarget.model_validate({"jobId": first})) is None
    assert session.jobs.ended[first] == "accepted"
    assert session.jobs.jobs[running].status == "running"
    assert session.controls.cancel(CancelArgs.model_validate({"uri": URI})) == {"ok": True}
    await client.wait_finished(running)
    assert doc.text.startswith("def a():\n    return 10\n")


PRICED = {"default": {"prices": {"gpt-4": {"input": 10000, "output": 10000}}}}


async def test_every_job_is_in_the_ledger_and_in_status(tmp_path: Path) -> None:
    from gpt_lsp.accounting.ledger import Ledger

    relay = Relay()
    relay.answers.append(sse(["x = 1\n"], usage=(100, 20)))
    session, client = make(tmp_path, relay, relays=PRICED)
    client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await client.wait_finished(job_id)
    [record] = Ledger(tmp_path / "usage.sqlite3").since(0)
    assert (record.relay, record.model, record.action, record.status) == (
        "default",
        "gpt-4",
        "refactor",
        "done",
    )
    assert (record.prompt_tokens, record.completion_tokens, record.estimated) == (100, 20, False)
    assert record.cost_usd == pytest.approx(1.2)
    today = session.status()["usage"]["today"]
    assert today["requests"] == 1 and today["costUsd"] == pytest.approx(1.2)


async def test_a_cancelled_job_counts_what_it_streamed(tmp_path: Path) -> None:
    from gpt_lsp.accounting.ledger import Ledger

    session, client, _relay, _doc, job_id = await streaming_job(
        tmp_path, "v", 80, seen=3, delay=0.03
    )
    session.controls.cancel(CancelArgs.model_validate({"jobId": job_id}))
    finished = await client.wait_finished(job_id)
    assert finished["usage"]["estimated"] is True and finished["usage"]["completionTokens"] > 0
    [record] = Ledger(tmp_path / "usage.sqlite3").since(0)
    assert record.status == "cancelled" and record.estimated and record.cost_usd is None


async def test_a_reached_cap_sends_nothing(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["x = 1\n"], usage=(100, 20)))
    session, client = make(tmp_path, relay, relays=PRICED, budget={"dailyUsd": 1.0})
    client.open(URI, SOURCE)
    first = await run(session, "refactor", whole(SOURCE, 2, 3))
    await client.wait_finished(first)
    assert len(relay.requests) == 1
    with pytest.raises(RequestRefused, match=r"Spending cap reached: \$1.2000 spent today"):
        await run(session, "refactor", whole(SOURCE, 2, 3))
    assert len(relay.requests) == 1  # nothing was sent


async def test_eighty_percent_of_a_cap_warns_once(tmp_path: Path) -> None:
    relay = Relay()
    for _ in range(3):
        relay.answers.append(sse(["x = 1\n"], usage=(100, 20)))
    session, client = make(tmp_path, relay, relays=PRICED, budget={"dailyUsd": 1.4})
    client.open(URI, SOURCE)
    for _ in range(2):
        await client.wait_finished(await run(session, "refactor", whole(SOURCE, 2, 3)))
    warnings = [text for kind, text in client.messages if kind == "warning"]
    assert len(warnings) == 1 and "86% of budget.dailyUsd" in warnings[0]


async def test_an_unwritable_ledger_is_said_once_and_jobs_go_on(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the state folder should be")
    relay = Relay()
    client = FakeClient()
    session = Session(
        client,
        transport=relay.transport(),
        environ={"GPT_LSP_CONFIG": os.devnull},
        state_dir=tmp_path / "blocked",
    )
    client.connect(session, {"baseUrl": "http://relay.test/v1", "apiKey": KEY})
    client.open(URI, SOURCE)
    for _ in range(2):
        finished = await client.wait_finished(await run(session, "refactor", whole(SOURCE, 2, 3)))
        assert finished["status"] == "done"
    warnings = [text for kind, text in client.messages if kind == "warning"]
    assert len(warnings) == 1 and "usage is not recorded" in warnings[0]


async def test_an_action_at_a_bare_cursor_covers_the_definition_around_it(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["def total(items):\n", "    return sum(items)  # fast\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    cursor = {"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 8}}
    job_id = await run(session, "refactor", cursor)
    assert (await client.wait_finished(job_id))["status"] == "done"
    doc.flush()
    assert doc.text == SOURCE.replace("sum(items)\n", "sum(items)  # fast\n")
    sent = relay.requests[0]["messages"][-1]["content"]
    assert "def total(items):\n    return sum(items)" in sent


async def test_an_action_at_a_bare_cursor_outside_definitions_is_refused(tmp_path: Path) -> None:
    relay = Relay()
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    cursor = {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 3}}
    with pytest.raises(RequestRefused, match="not inside a function"):
        await run(session, "refactor", cursor)
    assert relay.requests == []


@pytest.mark.parametrize("profile", ["vscode", "neovim", "eglot", "coc"])
async def test_typing_below_a_streaming_job_keeps_the_typing_and_each_chunk_once(
    tmp_path: Path, profile: str
) -> None:
    # Issue 18 (coc.nvim): `G`, `o`, a line typed while a refactor streams; coc reports the
    # keystrokes before the edit it applied on top of them, and the edit used to be sent twice.
    relay = Relay()
    relay.delay = 0.01
    lines = [f"    y{i} = {i}\n" for i in range(30)]
    relay.answers.append(sse(["def total(items):\n", *lines]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await until(lambda: "y3 = 3" in doc.text)
    for char in "x = total([4, 5])\n":  # one keystroke at a time, at the end of the file
        doc.type_at(len(doc.text), char)
        await asyncio.sleep(0.003)
    assert (await client.wait_finished(job_id))["status"] == "done"
    doc.flush()
    answer = "def total(items):\n" + "".join(lines)
    assert (
        doc.text
        == SOURCE.replace("def total(items):\n    return sum(items)\n", answer)
        + "x = total([4, 5])\n"
    )
    assert session.documents.get(URI).source == doc.text  # type: ignore[union-attr]


async def test_a_job_whose_ending_fails_still_ends_and_can_be_rejected(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(["def total(items):\n", "    return 0\n"]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)

    def broken_record(**_fields: object) -> None:
        raise RuntimeError("the ledger blew up")

    session.spending.record_usage = broken_record  # type: ignore[method-assign]
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    job = session.jobs.jobs[job_id]
    async with asyncio.timeout(10):
        await job.turn.finished.wait()
    await until(lambda: "return 0" in doc.text)
    async with asyncio.timeout(10):
        assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)
