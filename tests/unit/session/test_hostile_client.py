"""Hostile clients in process: an editor that refuses every edit, malformed didChanges. The
channel never offers work it cannot send (no busy loop), refused edits end the job, and the
server's copy of a document never takes a change that does not fit it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_lsp.edits import sender as sender_module
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.text.documents import TextDoc, change_problem
from gpt_lsp.text.regions import Pos, Span
from tests.fakes.relay import Relay, sse
from tests.fakes.session import SOURCE, URI, by_id, make, run, streaming_job, until, whole

NEW = "def total(items):\n    return sum(items)  # new\n"


@settings(max_examples=200, deadline=None)
@given(
    replaced=st.booleans(),
    restore_wanted=st.booleans(),
    restored=st.booleans(),
    pending=st.booleans(),
    rewrite=st.booleans(),
    conflict=st.booleans(),
    refused=st.sampled_from(["no", "edits", "all"]),
)
def test_a_region_offers_only_work_it_can_take(
    replaced: bool,
    restore_wanted: bool,
    restored: bool,
    pending: bool,
    rewrite: bool,
    conflict: bool,
    refused: str,
) -> None:
    tracked = JobRegion("job", Span(Pos(0, 0), Pos(1, 0)), "old\n", replaced=replaced)
    tracked.restore_wanted, tracked.restored, tracked.conflict = restore_wanted, restored, conflict
    tracked.refused = refused  # type: ignore[assignment]
    tracked.pending = ["x"] if pending else []
    tracked.rewrite_text = "y" if rewrite else None
    offers = tracked.has_work()
    assert tracked.is_idle() == (not offers)
    assert offers == (tracked.next_edit() is not None)


@pytest.fixture
def quick_resync(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused edit waits this long for a change of the editor's (1 s in real use)."""
    monkeypatch.setattr(sender_module, "RESYNC_TIMEOUT", 0.05)


@pytest.mark.usefixtures("quick_resync")
async def test_an_editor_that_refuses_every_edit_fails_the_job(tmp_path: Path) -> None:
    relay = Relay()
    relay.answers.append(sse([NEW[:10], NEW[10:]]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    client.refuse_edits = True
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    finished = await client.wait_finished(job_id)
    assert finished["status"] == "failed", finished
    assert "refused" in finished["message"]
    assert len(client.labels) == sender_module.MAX_REFUSED  # a few tries, no loop
    assert doc.text == SOURCE
    assert session.controls.code_lenses(URI) == []  # nothing pending: nothing of it is in the file
    assert any(kind == "error" and "refused" in text for kind, text in client.messages)


@pytest.mark.usefixtures("quick_resync")
async def test_edits_refused_after_some_landed_restore_the_original(tmp_path: Path) -> None:
    _session, client, _relay, doc, job_id = await streaming_job(tmp_path, "x", 40, seen=2)
    client.refuse_edits = True  # the document became read-only mid-stream
    await until(lambda: len(client.labels) > 0 and client.labels[-1] == f"gpt-lsp {job_id}")
    await asyncio.sleep(0)
    client.refuse_edits = False  # ... and writable again for the restore
    finished = await client.wait_finished(job_id)
    # Either the refusals stopped the job (failed, restored), or it got through.
    if finished["status"] == "failed":
        assert client.labels[-1] == f"gpt-lsp {job_id} restore"
        await until(lambda: doc.text == SOURCE)


@pytest.mark.usefixtures("quick_resync")
async def test_a_reject_while_every_edit_is_refused_is_answered(tmp_path: Path) -> None:
    relay = Relay()
    relay.delay = 0.02
    relay.answers.append(sse([f"x{i} = {i}\n" for i in range(100)]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    client.refuse_edits = True
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await until(lambda: len(client.labels) > 0)
    async with asyncio.timeout(5):
        answer = await session.controls.reject(by_id(job_id))
    assert answer in ({"ok": True}, {"ok": False})
    finished = await client.wait_finished(job_id)
    assert finished["status"] in ("cancelled", "failed")
    assert doc.text == SOURCE


# ---------------------------------------------------------------- malformed didChange


def span(l1: int, c1: int, l2: int, c2: int) -> Span:
    return Span(Pos(l1, c1), Pos(l2, c2))


MALFORMED = {
    "negative line": ([(span(-1, 0, 0, 0), "x")], 2),
    "negative character": ([(span(0, -4, 0, 0), "x")], 2),
    "past the end": ([(span(99, 0, 120, 0), "x")], 2),
    "end before start": ([(span(3, 0, 1, 0), "x")], 2),
    "version backwards": ([(None, "garbage\n")], 0),
    "second change past the end": ([(span(0, 0, 0, 0), "a"), (span(40, 0, 40, 0), "b")], 2),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_change_is_named_and_leaves_the_document(name: str) -> None:
    doc = TextDoc(URI, SOURCE, 1, "python")
    changes, version = MALFORMED[name]
    assert change_problem(doc, changes, version) is not None


@pytest.mark.parametrize(
    "changes",
    [
        [(span(0, 0, 0, 0), "# top\n")],
        [(span(5, 0, 6, 0), "")],  # the last line's break, to the end
        [(span(6, 0, 6, 0), "x = 1\n")],  # at the end (the empty last line)
        [(span(0, 0, 7, 0), "all\n")],  # one line past the last: the document's end
        [(span(0, 3, 0, 99), "")],  # a character past the line's end is clamped (LSP)
        [(None, "new text\n"), (span(1, 0, 1, 0), "more\n")],
    ],
)
def test_ordinary_changes_pass(changes: list[tuple[Span | None, str]]) -> None:
    doc = TextDoc(URI, SOURCE, 1, "python")
    assert change_problem(doc, changes, 2) is None


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_malformed_did_change_keeps_the_servers_copy_and_a_later_job_works(
    tmp_path: Path, name: str
) -> None:
    relay = Relay()
    relay.answers.append(sse([NEW]))
    session, client = make(tmp_path, relay)
    doc = client.open(URI, SOURCE)
    changes, version = MALFORMED[name]
    session.did_change(URI, version, changes)
    server_copy = session.documents.get(URI)
    assert server_copy is not None
    assert server_copy.source == SOURCE and server_copy.version == 1
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    assert (await client.wait_finished(job_id))["status"] == "done"
    assert await session.controls.reject(by_id(job_id)) == {"ok": True}
    await until(lambda: doc.text == SOURCE)
