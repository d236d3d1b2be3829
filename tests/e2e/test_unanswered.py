"""A client that never answers the server's own requests (progress, showDocument,
configuration) costs only those features: jobs start at once and end as usual."""

from __future__ import annotations

import asyncio
import threading
import time

from gpt_lsp.session.notes import SHOW_TIMEOUT
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import position_of
from tests.relay_sim import RelaySim, Scenario

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"


async def wait_for_request(relay_sim: RelaySim) -> None:
    """Waits (bounded) until the relay has received a request."""
    async with asyncio.timeout(15):
        while not relay_sim.requests:  # noqa: ASYNC110 - the simulator's thread records it
            await asyncio.sleep(0.01)


def func_range(encoding: str) -> dict[str, object]:
    start = SOURCE.index(FUNC)
    a = position_of(SOURCE, start, encoding)
    b = position_of(SOURCE, start + len(FUNC), encoding)
    return {
        "start": {"line": a.line, "character": a.character},
        "end": {"line": b.line, "character": b.character},
    }


async def test_jobs_do_not_wait_for_unanswered_requests(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim), answers=False)
    release = threading.Event()
    relay_sim.default = Scenario(
        text="def add(a, b):\n    return a + b\n", hold_after=0, release=release
    )
    uri = editor.open("u.py", SOURCE)
    try:
        result = await editor.command(
            "gptLsp.run", {"action": "refactor", "uri": uri, "range": func_range(editor.encoding)}
        )
        await wait_for_request(relay_sim)
        # The relay has the job while the client's answer to the progress request is still
        # missing: the job did not wait for it.
        status = await editor.command("gptLsp.status")
        assert status["internal"]["progressPending"] == 1
    finally:
        release.set()
    finished = await editor.wait_finished(result["jobId"], timeout=15)
    assert finished["status"] == "done", finished
    assert editor.text(uri) == SOURCE.replace("a+b", "a + b")
    token = f"gpt-lsp/{result['jobId']}"
    assert not editor.client.progress_reports.get(token)  # never accepted: never begun
    status = await editor.command("gptLsp.status")
    assert status["internal"]["progressPending"] == 0


async def test_explain_without_an_answered_show_document_sends_the_text(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim), answers=False)
    relay_sim.default = Scenario(text="It adds two numbers.")
    uri = editor.open("e.py", SOURCE)
    asked = time.monotonic()
    result = await editor.command(
        "gptLsp.run", {"action": "explain", "uri": uri, "range": func_range(editor.encoding)}
    )
    finished = await editor.wait_finished(result["jobId"], timeout=15)
    # The relay heard of the job before the showDocument the client never answers was given
    # up (the server's own bound on it), not after.
    assert relay_sim.requests[0].received_at - asked < SHOW_TIMEOUT
    assert finished["status"] == "done", finished
    assert finished["text"] == "It adds two numbers."
    assert "notesUri" not in finished
    assert editor.text(uri) == SOURCE
