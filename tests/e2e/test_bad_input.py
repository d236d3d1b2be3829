"""Bad input to the server: every command with garbage, odd ranges and documents, limits.

Each case gets a clear error (a JSON-RPC error or a failed job with one message), never a crash,
and never a traceback in anything the client receives.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.e2e.editor import _plain as editor_plain
from tests.e2e.refusals import assert_clean, error_text, refused
from tests.relay_sim import RelaySim, Scenario

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 6, "character": 0}}
FUNC = {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}}
COMMANDS = (
    "gptLsp.run",
    "gptLsp.chat",
    "gptLsp.accept",
    "gptLsp.reject",
    "gptLsp.cancel",
    "gptLsp.status",
)
GARBAGE: list[Any] = [
    None,
    0,
    -1,
    1.5,
    "",
    "job-1",
    "\x00",
    [],
    [1, 2],
    {},
    {"jobId": None},
    {"jobId": 7},
    {"jobId": ["job-1"]},
    {"jobId": {"$ne": ""}},
    {"uri": 3, "range": "all", "action": None, "instruction": 5},
    {"action": "refactor", "uri": "file:///x.py", "range": {"start": {}, "end": {}}},
    {"action": "refactor", "uri": "file:///x.py", "range": {"start": {"line": "a"}}},
    {"action": "refactor", "uri": "file:///x.py", "range": [0, 1]},
    {"action": ["refactor"], "uri": {"a": 1}, "range": None},
    {"uri": "file:///x.py", "range": WHOLE, "instruction": ""},
    True,
    "x" * 100_000,
]


def assert_client_saw_no_traceback(editor: Editor) -> None:
    for message in editor.client.messages:
        assert_clean(message.message)
    for log in editor.client.log_messages:
        assert_clean(log.message)
    for params in editor.finished:
        assert_clean(str(params))


async def chat(editor: Editor, uri: str, rng: Any = FUNC, **extra: Any) -> dict[str, Any]:
    job = await editor.command(
        "gptLsp.chat", {"uri": uri, "range": rng, "instruction": "go", **extra}
    )
    return await editor.wait_finished(job["jobId"])


# ---------------------------------------------------------------- commands


async def test_every_command_with_garbage_arguments(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    uri = editor.open("g.py", SOURCE)
    answered = 0
    for command in COMMANDS:
        for argument in GARBAGE:
            try:
                result = await editor.command(command, argument)
            except TimeoutError:
                raise AssertionError(f"{command} {argument!r:.80} got no answer") from None
            except Exception as exc:  # noqa: BLE001 - a JSON-RPC error is a clean refusal
                text = error_text(exc)
                assert_clean(text)
                assert command in text or "gptLsp" in text or "open" in text, text[:300]
            else:
                answered += 1
                assert isinstance(result, dict), (command, argument, result)
                if command in ("gptLsp.accept", "gptLsp.reject", "gptLsp.cancel"):
                    assert result == {"ok": False}, (command, argument, result)
    # status ignores its argument; accept/reject/cancel of a job that is not there say no.
    assert answered >= len(GARBAGE)
    assert relay_sim.requests == []
    # Still alive and working.
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    assert (await chat(editor, uri))["status"] == "done"
    assert_client_saw_no_traceback(editor)


async def test_command_argument_shapes_from_odd_clients(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    uri = editor.open("o.py", SOURCE)
    protocol = editor.client.protocol
    bodies = [
        types.ExecuteCommandParams(command="gptLsp.run"),  # no arguments at all
        types.ExecuteCommandParams(command="gptLsp.run", arguments=[]),
        types.ExecuteCommandParams(command="gptLsp.chat", arguments=[{}, {}, 3]),
        types.ExecuteCommandParams(command="gptLsp.nope", arguments=[{}]),
        types.ExecuteCommandParams(command="", arguments=None),
    ]
    for body in bodies:
        try:
            async with asyncio.timeout(10):
                await protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, body)
        except TimeoutError:
            raise AssertionError(f"{body} got no answer") from None
        except Exception as exc:  # noqa: BLE001
            assert_clean(error_text(exc))
        else:
            raise AssertionError(f"{body} did not fail")
    # Two arguments: the first is used.
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    params = types.ExecuteCommandParams(
        command="gptLsp.chat",
        arguments=[{"uri": uri, "range": FUNC, "instruction": "go"}, "extra"],
    )
    async with asyncio.timeout(10):
        job = await protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params)
    job = editor_plain(job)
    assert (await editor.wait_finished(job["jobId"]))["status"] == "done"
    assert_client_saw_no_traceback(editor)


async def test_unknown_and_non_string_job_ids(editor: Editor, relay_sim: RelaySim) -> None:
    for command in ("gptLsp.accept", "gptLsp.reject", "gptLsp.cancel"):
        assert (await editor.command(command, {"jobId": "job-424242"})) == {"ok": False}
        assert (await editor.command(command, {"jobId": "../../etc/passwd"})) == {"ok": False}
    await refused(editor, "gptLsp.cancel", {"jobId": 12}, "jobId")
    await refused(editor, "gptLsp.cancel", {"jobId": ["job-1"]}, "jobId")
    await refused(editor, "gptLsp.accept", {"jobId": ""}, "jobId")
    await refused(editor, "gptLsp.reject", {}, "jobId")
    status = await editor.command("gptLsp.status", {"garbage": [1, 2, {"x": None}]})
    assert status["jobs"] == [] and status["version"]
    assert_client_saw_no_traceback(editor)


async def test_odd_diagnostics_in_run_do_not_crash(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    uri = editor.open("d.py", SOURCE)
    odd: list[Any] = [
        [{"message": "m", "range": "everywhere"}],
        [{"message": "m", "range": {"start": "top"}}],
        [{"message": "m", "range": {"start": {"line": "three"}}}],
        [{"message": {"nested": True}, "source": ["x"], "code": {"value": 1}}],
        ["just text", 5, None],
        [{"message": "m", "range": {"start": {"line": -(10**30)}}}],
    ]
    for diagnostics in odd:
        argument = {"action": "fix", "uri": uri, "range": FUNC, "diagnostics": diagnostics}
        # Diagnostics are hints: odd ones are left out of the prompt, the job runs.
        job = await editor.command("gptLsp.run", argument)
        finished = await editor.wait_finished(job["jobId"])
        assert finished["status"] == "done", (diagnostics, finished)
        await editor.command("gptLsp.reject", {"jobId": job["jobId"]})
        await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    assert_client_saw_no_traceback(editor)


# ---------------------------------------------------------------- ranges and documents


async def test_ranges_past_the_end_negative_and_reversed(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri = editor.open("r.py", SOURCE)
    past = {"start": {"line": 99, "character": 0}, "end": {"line": 120, "character": 0}}
    await refused(
        editor, "gptLsp.chat", {"uri": uri, "range": past, "instruction": "x"}, "past the end"
    )
    negative = {"start": {"line": -1, "character": 0}, "end": {"line": 1, "character": -5}}
    await refused(
        editor, "gptLsp.chat", {"uri": uri, "range": negative, "instruction": "x"}, "range"
    )
    huge = {"start": {"line": 2**40, "character": 0}, "end": {"line": 2**63, "character": 0}}
    await refused(editor, "gptLsp.chat", {"uri": uri, "range": huge, "instruction": "x"})
    assert relay_sim.requests == []
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    # Reversed: end before start is the same range.
    reversed_range = {"start": FUNC["end"], "end": FUNC["start"]}
    finished = await chat(editor, uri, reversed_range)
    assert finished["status"] == "done"
    assert editor.text(uri) == SOURCE.replace("return a+b", "return a + b")
    # A character past the end of its line, and an end past the document: clamped.
    ragged = {"start": {"line": 5, "character": 500}, "end": {"line": 50, "character": 0}}
    relay_sim.default = Scenario(text="# end\n")
    finished = await chat(editor, uri, ragged)
    assert finished["status"] == "done", finished
    assert editor.text(uri).startswith(SOURCE[: SOURCE.index("print")].replace("a+b", "a + b"))
    assert editor.text(uri).endswith("# end\n"), editor.text(uri)
    assert_client_saw_no_traceback(editor)


async def test_a_document_that_is_not_open(editor: Editor, relay_sim: RelaySim) -> None:
    await refused(
        editor,
        "gptLsp.chat",
        {"uri": "file:///nowhere/ghost.py", "range": FUNC, "instruction": "x"},
        "not open",
    )
    await refused(
        editor,
        "gptLsp.run",
        {"action": "refactor", "uri": "untitled:Untitled-1", "range": FUNC},
        "not open",
    )
    uri = editor.open("closed.py", SOURCE)
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await refused(
        editor, "gptLsp.chat", {"uri": uri, "range": FUNC, "instruction": "x"}, "not open"
    )
    assert relay_sim.requests == []


async def test_selection_over_max_selection_chars_is_refused(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, maxSelectionChars=100))
    text = "x = 1\n" * 50
    uri = editor.open("big.py", text)
    everything = {"start": {"line": 0, "character": 0}, "end": {"line": 50, "character": 0}}
    message = await refused(
        editor,
        "gptLsp.chat",
        {"uri": uri, "range": everything, "instruction": "x"},
        "maxSelectionChars (100)",
    )
    assert "300 characters" in message and "select less" in message
    assert relay_sim.requests == []
    assert editor.text(uri) == text


async def test_nul_and_control_characters_in_the_document(
    editor: Editor, relay_sim: RelaySim
) -> None:
    text = (
        "a = '\x00\x01\x02'\n"
        "b = '\x1b[31mred\x1b[0m'\n"
        "c = '\ufeff\u200b\u202e\ud7ff\ufffd'\n"
        "d = '\x7f\x85\u2028x'\n"
        "e = 1\n"
    )
    relay_sim.default = Scenario(text="e = '\x00ok\x07'\n")
    uri = editor.open("bin.py", text)
    last = {"start": {"line": 0, "character": 0}, "end": {"line": 5, "character": 0}}
    try:
        job = await editor.command("gptLsp.chat", {"uri": uri, "range": last, "instruction": "x"})
    except Exception as exc:  # noqa: BLE001 - refusing binary-ish content is fine, cleanly
        assert_clean(error_text(exc))
    else:
        finished = await editor.wait_finished(job["jobId"])
        assert finished["status"] in ("done", "failed"), finished
        body = relay_sim.requests[-1].raw_body.decode()
        assert "\\u0000" in body  # sent as JSON escapes, not cut
        await editor.command("gptLsp.reject", {"jobId": job["jobId"]})
        await editor.wait_until(lambda: editor.text(uri) == text)
    # A NUL inside the answer, too, on a document of the whole NUL range.
    relay_sim.default = Scenario(text="\x00" * 10 + "\n")
    finished = await chat(editor, uri, last)
    assert finished["status"] in ("done", "failed"), finished
    status = await editor.command("gptLsp.status")
    assert status["version"]
    assert_client_saw_no_traceback(editor)


async def test_max_answer_chars_fails_the_job_and_restores(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, maxAnswerChars=50))
    relay_sim.default = Scenario(text="y = 2\n" * 40, chunk_size=6, pace=0.01)
    uri = editor.open("long.py", SOURCE)
    finished = await chat(editor, uri)
    assert finished["status"] == "failed"
    assert "maxAnswerChars (50)" in finished["message"]
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    errors = [m for m in editor.client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "maxAnswerChars" in errors[0].message
    assert await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 5.0) is not None
    assert relay_sim.requests[-1].client_disconnected  # the stream was closed, not read on


# ---------------------------------------------------------------- settings


async def test_malformed_settings_are_named_and_the_server_works(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    options = relay_options(
        relay_sim,
        relay="nope",
        temperature=[1],
        maxSelectionChars="many",
        exclude="*.py",
        actions={"id": "x"},
        relays={"default": {"timeout": -1, "headers": ["x"], "systemRole": "maybe"}},
        logContent="yes please",
    )
    editor = await make_editor(options)
    await editor.wait_until(lambda: bool(editor.client.messages))
    await asyncio.sleep(0.2)
    warnings = [m.message for m in editor.client.messages]
    assert len(warnings) == 1, warnings
    text = warnings[0]
    for key in (
        "'nope' is not defined",
        "temperature",
        "maxSelectionChars",
        "exclude",
        "actions",
        "relays.default.timeout",
        "relays.default.headers",
        "relays.default.systemRole",
        "logContent",
    ):
        assert key in text, (key, text)
    assert_clean(text)
    uri = editor.open("ok.py", SOURCE)
    assert (await chat(editor, uri))["status"] == "done"


async def test_bad_base_urls_are_named(make_editor: EditorFactory, relay_sim: RelaySim) -> None:
    for base_url, words in (
        ("", "is empty"),
        ("   ", "is empty"),
        ("relay.example.com/v1", "must start with http"),
        ("ftp://relay.example.com", "must start with http"),
        ("https://", "has no host"),
        (42, "baseUrl"),
    ):
        editor = await make_editor({"baseUrl": base_url, "apiKey": "sk-whatever-123456"})
        await editor.wait_until(lambda e=editor: bool(e.client.messages))  # type: ignore[misc]
        text = editor.client.messages[0].message
        assert "baseUrl" in text and words in text, (base_url, text)
        uri = editor.open("u.py", SOURCE)
        await refused(
            editor,
            "gptLsp.chat",
            {"uri": uri, "range": FUNC, "instruction": "x"},
            "No relay configured",
        )
        await editor.shutdown()


async def test_settings_changed_to_garbage_live_keep_the_server_working(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="def add(a, b):\n    return a + b\n")
    editor = await make_editor(relay_options(relay_sim))
    uri = editor.open("live.py", SOURCE)
    for garbage in ([1, 2], "text", 5, {"relays": "x"}, {"relays": {"default": None}}):
        editor.client.set_configuration(garbage, section="gptLsp")  # type: ignore[arg-type]
        editor.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=garbage)
        )
        await asyncio.sleep(0.1)
        status = await editor.command("gptLsp.status")
        assert status["version"]
    editor.client.set_configuration({}, section="gptLsp")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    await asyncio.sleep(0.2)
    finished = await chat(editor, uri)
    assert finished["status"] == "done"
    assert_client_saw_no_traceback(editor)
