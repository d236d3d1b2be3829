"""A code-writing job whose answer holds no code: failed, document untouched, answer kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.fakes.relay import Relay, sse
from tests.fakes.session import SOURCE, URI, make, run, whole

APOLOGY = "I'm sorry, but I can't refactor this ", "without more context."


async def test_an_apology_fails_the_job_and_lands_in_a_notes_file(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(list(APOLOGY)))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(job_id)
    doc.flush()
    assert finished["status"] == "failed", finished
    assert doc.text == SOURCE
    assert "I'm sorry, but I can't refactor this without more context." in finished["message"]
    notes = Path(finished["notesUri"].removeprefix("file://"))
    assert notes.parent == tmp_path
    kept = await asyncio.to_thread(notes.read_text, "utf-8")
    assert kept.endswith("".join(APOLOGY))
    assert str(notes) in finished["message"]
    assert any(kind == "error" and "without code" in text for kind, text in client.messages)
    assert finished["usage"]["completionTokens"] == 5  # billed all the same


async def test_without_a_writable_notes_folder_the_job_still_fails_cleanly(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse(list(APOLOGY)))
    session, client = make(tmp_path / "file", relay)
    (tmp_path / "file").write_text("not a folder")
    doc = client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(job_id)
    doc.flush()
    assert finished["status"] == "failed", finished
    assert doc.text == SOURCE
    assert "notesUri" not in finished
    assert "Try again." in finished["message"]
