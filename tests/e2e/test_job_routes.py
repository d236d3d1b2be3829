"""Jobs end to end: progress, every cancel route, explain notes, custom actions, fix, status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.conftest import TEST_API_KEY
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, position_of
from tests.relay_sim import RelaySim, Scenario

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
# Long enough to cancel or close mid-stream (about 9 s of chunks).
SLOW_ANSWER = Scenario(text="y = 2\n" * 300, chunk_size=2, pace=0.02)


def func_range(editor: Editor, text: str = SOURCE) -> dict[str, Any]:
    start = text.index(FUNC)
    a = position_of(text, start, editor.encoding)
    b = position_of(text, start + len(FUNC), editor.encoding)
    return {
        "start": {"line": a.line, "character": a.character},
        "end": {"line": b.line, "character": b.character},
    }


async def run(editor: Editor, uri: str, action: str = "refactor", **extra: Any) -> str:
    result = await editor.command(
        "gptLsp.run", {"action": action, "uri": uri, "range": func_range(editor), **extra}
    )
    return str(result["jobId"])


async def test_progress_is_cancellable_and_ends_with_tokens_time_and_cost(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    prices = {"gpt-4": {"modelRatio": 15, "completionRatio": 2}}
    options = relay_options(relay_sim)
    options["relays"] = {"default": {"prices": prices}}
    editor = await make_editor(options)
    relay_sim.default = Scenario(text="x = 1\n" * 40, chunk_size=2, pace=0.01)
    uri = editor.open("p.py", SOURCE)
    job = await run(editor, uri)
    finished = await editor.wait_finished(job)
    assert finished["status"] == "done"
    token = f"gpt-lsp/{job}"
    reports = editor.client.progress_reports[token]
    begin, *middle, end = reports
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "AI: Refactor" and begin.cancellable is True
    assert any(
        isinstance(r, types.WorkDoneProgressReport) and "tokens" in (r.message or "")
        for r in middle
    )
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert "tokens" in (end.message or "") and " s" in (end.message or "")
    assert "$" in (end.message or "") and "quota" in (end.message or "")
    usage = finished["usage"]
    assert usage["costUsd"] > 0 and usage["quota"] > 0 and usage["estimated"] is False
    status = await editor.command("gptLsp.status")
    assert status["internal"]["progressTokens"] == 0  # pygls keeps them; we pop them
    assert status["usage"]["jobs"] == 1


async def test_cancel_by_progress(make_editor: EditorFactory, relay_sim: RelaySim) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = SLOW_ANSWER
    uri = editor.open("cp.py", SOURCE)
    job = await run(editor, uri)
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    editor.client.window_work_done_progress_cancel(
        types.WorkDoneProgressCancelParams(token=f"gpt-lsp/{job}")
    )
    finished = await editor.wait_finished(job)
    assert finished["status"] == "cancelled"
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 10.0)
    assert ended is not None
    record = relay_sim.requests[-1]
    # Closed by the cancel: the 900-chunk answer was far from its end.
    assert record.client_disconnected and record.chunks_sent < 900
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_cancel_by_cancel_request_of_the_command(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = SLOW_ANSWER
    uri = editor.open("cr.py", SOURCE)
    params = types.ExecuteCommandParams(
        command="gptLsp.run",
        arguments=[{"action": "refactor", "uri": uri, "range": func_range(editor)}],
    )
    result = await asyncio.wait_for(
        editor.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="run-1"
        ),
        10,
    )
    job = result["jobId"] if isinstance(result, dict) else result.jobId
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    editor.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="run-1"))
    finished = await editor.wait_finished(job)
    assert finished["status"] == "cancelled"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_cancel_without_job_id_cancels_every_job(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = SLOW_ANSWER
    a = editor.open("a.py", SOURCE)
    b = editor.open("b.py", SOURCE)
    ja, jb = await run(editor, a), await run(editor, b)
    await editor.wait_until(lambda: editor.text(a) != SOURCE and editor.text(b) != SOURCE)
    assert (await editor.command("gptLsp.cancel"))["ok"] is True
    for job in (ja, jb):
        assert (await editor.wait_finished(job))["status"] == "cancelled"
    await editor.wait_until(lambda: editor.text(a) == SOURCE and editor.text(b) == SOURCE)


async def test_explain_writes_notes_and_never_touches_the_source(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, language="zh-CN"))
    answer = "## 说明\n\n`add` 把两个数相加。\n"
    relay_sim.default = Scenario(text=answer, chunk_size=3, pace=0.005)
    uri = editor.open("e.py", SOURCE)
    job = await run(editor, uri, "explain")
    finished = await editor.wait_finished(job)
    assert finished["status"] == "done"
    assert editor.text(uri) == SOURCE
    notes_uri = finished["notesUri"]
    assert editor.text(notes_uri).endswith(answer)
    assert Path(notes_uri.removeprefix("file://")).is_relative_to(Path(editor.client_tmp))
    system = relay_sim.requests[-1].json["messages"][0]["content"]
    assert "Chinese" in system


async def test_explain_without_show_document_sends_the_text_in_a_message(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    editor.show_documents = False
    relay_sim.default = Scenario(text="It adds two numbers.\n")
    uri = editor.open("e2.py", SOURCE)
    job = await run(editor, uri, "explain")
    finished = await editor.wait_finished(job)
    assert finished["status"] == "done"
    assert finished["text"] == "It adds two numbers."
    assert any(m.message == "It adds two numbers." for m in editor.client.messages)
    assert editor.text(uri) == SOURCE


async def test_custom_action_and_fix_with_diagnostics(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    actions = [
        {"id": "tests", "title": "Write tests", "prompt": "Write pytest tests for {fileName}"}
    ]
    editor = await make_editor(relay_options(relay_sim, actions=actions))
    relay_sim.default = Scenario(text="def test_add():\n    assert add(1, 2) == 3\n")
    uri = editor.open("c.py", SOURCE)
    start = SOURCE.index(FUNC)
    rng = types.Range(
        start=position_of(SOURCE, start, editor.encoding),
        end=position_of(SOURCE, start + len(FUNC), editor.encoding),
    )
    diagnostic = types.Diagnostic(
        range=rng, message="Missing type annotations", source="mypy", code="no-untyped-def"
    )
    listed = await editor.code_actions(uri, rng, [diagnostic])
    titles = {a.title: a for a in listed}
    assert "AI: Write tests" in titles
    fix = titles["AI: Fix"]
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.command is not None
    job = (await editor.command("gptLsp.run", fix.command.arguments[0]))["jobId"]
    assert (await editor.wait_finished(job))["status"] == "done"
    prompt = relay_sim.requests[-1].json["messages"][1]["content"]
    assert "Missing type annotations (mypy no-untyped-def)" in prompt
    custom = titles["AI: Write tests"]
    assert custom.command is not None
    job = (await editor.command("gptLsp.run", custom.command.arguments[0]))["jobId"]
    assert (await editor.wait_finished(job))["status"] == "done"
    prompt = relay_sim.requests[-1].json["messages"][1]["content"]
    assert "Write pytest tests for c.py" in prompt


async def test_chat_on_an_empty_range_inserts(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="```python\nimport sys\n```")
    uri = editor.open("i.py", SOURCE)
    point = {"line": 1, "character": 0}
    job = (
        await editor.command(
            "gptLsp.chat",
            {"uri": uri, "range": {"start": point, "end": point}, "instruction": "import sys"},
        )
    )["jobId"]
    assert (await editor.wait_finished(job))["status"] == "done"
    assert (
        editor.text(uri)
        == "import os\nimport sys\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
    )


async def test_accept_keeps_the_text_and_forgets_the_job(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    uri = editor.open("ac.py", SOURCE)
    job = await run(editor, uri)
    assert (await editor.wait_finished(job))["status"] == "done"
    assert (await editor.command("gptLsp.accept", {"jobId": job}))["ok"] is True
    assert (await editor.command("gptLsp.reject", {"jobId": job}))["ok"] is False
    assert "a + b" in editor.text(uri)
    status = await editor.command("gptLsp.status")
    assert status["internal"]["trackedRegions"] == 0


async def test_bad_commands_get_clear_errors(editor: Editor, relay_sim: RelaySim) -> None:
    uri = editor.open("bad.py", SOURCE)
    cases: list[tuple[str, Any, str]] = [
        ("gptLsp.run", None, "expected one object argument"),
        ("gptLsp.run", {"uri": uri}, "action"),
        (
            "gptLsp.run",
            {"action": "nope", "uri": uri, "range": func_range(editor)},
            "unknown action",
        ),
        (
            "gptLsp.run",
            {"action": "refactor", "uri": "file:///not/open.py", "range": func_range(editor)},
            "not open",
        ),
        (
            "gptLsp.run",
            {
                "action": "refactor",
                "uri": uri,
                "range": {
                    "start": {"line": 99, "character": 0},
                    "end": {"line": 100, "character": 0},
                },
            },
            "past the end",
        ),
        ("gptLsp.accept", {"jobId": 5}, "jobId"),
        ("gptLsp.chat", {"uri": uri, "range": func_range(editor)}, "instruction"),
    ]
    for command, argument, words in cases:
        try:
            await editor.command(command, argument)
        except Exception as exc:  # noqa: BLE001 - pygls raises its JsonRpc error types
            assert words in str(exc), (command, str(exc))
            assert "Traceback" not in str(exc)
        else:
            raise AssertionError(f"{command} {argument} did not fail")
    assert (await editor.command("gptLsp.reject", {"jobId": "job-999"}))["ok"] is False
    assert relay_sim.requests == []


async def test_excluded_documents_are_never_sent(editor: Editor, relay_sim: RelaySim) -> None:
    uri = editor.open(".env", "API_TOKEN=abc\n", "dotenv")
    rng = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=1, character=0)
    )
    actions = await editor.code_actions(uri, rng)
    assert actions and all(a.disabled is not None for a in actions)
    assert ".env" in actions[0].disabled.reason  # type: ignore[union-attr]
    try:
        await editor.command(
            "gptLsp.chat",
            {
                "uri": uri,
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
                "instruction": "x",
            },
        )
    except Exception as exc:  # noqa: BLE001
        assert "exclude" in str(exc)
    else:
        raise AssertionError("an excluded document was accepted")
    assert relay_sim.requests == []


async def test_shutdown_during_a_job_exits_promptly(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = Scenario(text="y = 2\n" * 300, chunk_size=2, pace=0.05)
    uri = editor.open("s.py", SOURCE)
    await run(editor, uri)
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    await asyncio.wait_for(editor.shutdown(), 30.0)  # the answer alone would take 45 s
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 10.0)
    assert ended is not None
    record = relay_sim.requests[-1]
    assert record.client_disconnected and record.chunks_sent < 900


async def test_notification_futures_are_not_kept(editor: Editor, relay_sim: RelaySim) -> None:
    uri = editor.open("n.py", SOURCE)

    async def futures() -> int:
        return int((await editor.command("gptLsp.status"))["internal"]["requestFutures"])

    # Start-up work (initialized asks the client for configuration) must end first.
    for _ in range(100):
        if await futures() == 1:
            break
        await asyncio.sleep(0.05)
    counts = []
    for _ in range(2):
        for i in range(300):
            editor.type_at(uri, 0, f"{i % 10}")
        editor.flush(uri)
        counts.append(await futures())
    # Only the status request itself is in flight: nothing accumulates per notification.
    assert counts == [1, 1]


async def test_secrets_in_the_selection_are_masked_and_restored_in_the_answer(
    editor: Editor, relay_sim: RelaySim
) -> None:
    key = "sk-" + "Zq9" * 12
    text = f'API = "{key}"\n\ndef f():\n    return API\n'
    relay_sim.default = Scenario(
        text='API = "GPT_LSP_SECRET_1"\n\ndef f() -> str:\n    return API\n'
    )
    uri = editor.open("sec.py", text)
    end = position_of(text, len(text), editor.encoding)
    job = (
        await editor.command(
            "gptLsp.chat",
            {
                "uri": uri,
                "range": {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": end.line, "character": end.character},
                },
                "instruction": "add type hints",
            },
        )
    )["jobId"]
    finished = await editor.wait_finished(job)
    assert finished["status"] == "done"
    assert "1 secret was masked" in finished["message"]
    assert key not in (relay_sim.requests[-1].raw_body or b"").decode()
    assert editor.text(uri) == f'API = "{key}"\n\ndef f() -> str:\n    return API\n'


__all__ = ["TEST_API_KEY"]


async def test_closing_the_document_stops_its_job_without_editing_it(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.default = SLOW_ANSWER
    uri = editor.open("closed.py", SOURCE)
    job = await run(editor, uri)
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    finished = await editor.wait_finished(job, timeout=30)
    assert finished["status"] == "cancelled" and "closed" in finished["message"]
    # An edit sent before the server saw the close may arrive before jobFinished; none after
    # it (no restore for a closed file): a status round trip later, the count is the same.
    received = editor.edits_received
    await editor.command("gptLsp.status")
    assert editor.edits_received == received
    assert await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 5.0) is not None
    assert relay_sim.requests[-1].client_disconnected
