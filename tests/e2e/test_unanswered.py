"""A client that never answers the server's own requests (progress, showDocument,
configuration) costs only those features: jobs start at once and end as usual."""

from __future__ import annotations

import time

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import position_of
from tests.relay_sim import RelaySim, Scenario

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"


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
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    uri = editor.open("u.py", SOURCE)
    asked = time.monotonic()
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": func_range(editor.encoding)}
    )
    finished = await editor.wait_finished(result["jobId"], timeout=10)
    assert finished["status"] == "done", finished
    assert editor.text(uri) == SOURCE.replace("a+b", "a + b")
    # The relay heard of the job at once, not after a progress timeout (5 s).
    assert relay_sim.requests[0].received_at - asked < 2.0
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
    assert relay_sim.requests[0].received_at - asked < 2.0
    assert finished["status"] == "done", finished
    assert finished["text"] == "It adds two numbers."
    assert "notesUri" not in finished
    assert editor.text(uri) == SOURCE
