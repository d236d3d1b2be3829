"""Jobs end to end: the real server over stdio, the relay simulator, a scripted editor."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.e2e.editor import Editor, offset_of, position_of
from tests.relay_sim import RelaySim, Scenario

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
NEW_FUNC = "def add(a: int, b: int) -> int:\n    return a + b\n"


def rng(text: str, start: int, end: int, encoding: str) -> types.Range:
    return types.Range(
        start=position_of(text, start, encoding), end=position_of(text, end, encoding)
    )


def range_json(r: types.Range) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


async def test_refactor_streams_into_the_document(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n", chunk_size=3, pace=0.01)
    uri = editor.open("app.py", SOURCE)
    start = SOURCE.index(FUNC)
    r = rng(SOURCE, start, start + len(FUNC), editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    job_id = result["jobId"]
    finished = await editor.wait_finished(job_id)
    assert finished["status"] == "done", finished
    assert editor.text(uri) == SOURCE.replace(FUNC, NEW_FUNC)
    # Streamed: several edits, not one at the end.
    assert editor.edits_applied >= 2
    usage = finished["usage"]
    assert usage["totalTokens"] > 0
    # The relay's own count, read after the closing fence: not an estimate.
    assert usage["estimated"] is False
    # The request carried the selection and the rules.
    body = relay_sim.requests[-1].json
    assert body is not None
    joined = "\n".join(m["content"] for m in body["messages"])
    assert "return a+b" in joined and "Python" in joined


async def test_reject_restores_byte_exact(editor: Editor, relay_sim: RelaySim) -> None:
    text = "x = 1\r\n# 中文 😀 注释\r\ny = '😀'\r\nz = 3\r\n"
    relay_sim.default = Scenario(text="# 新的 😀\r\ny = 'ok'\r\n", chunk_size=2)
    uri = editor.open("crlf.py", text)
    start = text.index("# 中文")
    end = text.index("z = 3")
    r = rng(text, start, end, editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    job_id = result["jobId"]
    finished = await editor.wait_finished(job_id)
    assert finished["status"] == "done"
    changed = editor.text(uri)
    assert changed != text
    assert "\r\n" in changed and "\n" not in changed.replace("\r\n", "")
    ok = await editor.command("gptLsp.reject", {"jobId": job_id})
    assert ok["ok"] is True
    await editor.wait_until(lambda: editor.text(uri) == text)


async def test_cancel_restores_and_closes_upstream(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="y = 2\n" * 200, chunk_size=3, pace=0.02)
    uri = editor.open("c.py", SOURCE)
    start = SOURCE.index(FUNC)
    r = rng(SOURCE, start, start + len(FUNC), editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    await editor.command("gptLsp.cancel", {"jobId": result["jobId"]})
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "cancelled"
    # The answer takes 8 s to stream: the request ends well before, hung up on by the server.
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, 5.0)
    assert ended is not None
    record = relay_sim.requests[-1]
    assert record.client_disconnected and record.chunks_sent < 400
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_failure_mid_stream_restores_and_reports(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="y = 2\n" * 50, chunk_size=4, pace=0.005, drop_after=10)
    uri = editor.open("f.py", SOURCE)
    start = SOURCE.index(FUNC)
    r = rng(SOURCE, start, start + len(FUNC), editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "failed"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    errors = [m for m in editor.client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1
    assert "relay 'default'" in errors[0].message


async def test_typing_above_and_below_is_kept(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=2, pace=0.01)
    uri = editor.open("t.py", SOURCE)
    start = SOURCE.index(FUNC)
    r = rng(SOURCE, start, start + len(FUNC), editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    await editor.wait_until(lambda: editor.text(uri) != SOURCE)
    for i in range(5):
        editor.type_at(uri, 0, f"#{i}\n")  # above the region
        current = editor.text(uri)
        editor.type_at(uri, len(current), f"z{i} = {i}\n")  # below
        await asyncio.sleep(0.02)
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "done", finished
    final = editor.text(uri)
    above = "".join(f"#{i}\n" for i in reversed(range(5)))
    below = "".join(f"z{i} = {i}\n" for i in range(5))
    assert final == above + SOURCE.replace(FUNC, NEW_FUNC) + below


async def test_typing_inside_is_a_conflict_that_keeps_user_text(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="y = 2\n" * 100, chunk_size=3, pace=0.02)
    uri = editor.open("k.py", SOURCE)
    start = SOURCE.index(FUNC)
    r = rng(SOURCE, start, start + len(FUNC), editor.encoding)
    result = await editor.command(
        "gptLsp.run", {"action": "refactor", "uri": uri, "range": range_json(r)}
    )
    await editor.wait_until(lambda: "y = 2\ny = 2" in editor.text(uri))
    inside = editor.text(uri).index("y = 2\ny = 2") + 2
    editor.type_at(uri, inside, "USER")
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "conflict"
    final = editor.text(uri)
    edits = editor.edits_received
    assert "USER" in final
    # Nothing more is written or restored: the job's region is let go, no edit is in flight.
    async with asyncio.timeout(10):
        while True:
            status = await editor.command("gptLsp.status")
            internal = status["internal"]
            if internal["trackedRegions"] == 0 and internal["requestFutures"] == 1:
                break
            await asyncio.sleep(0.02)
    assert [job["review"] for job in status["jobs"]] == ["ended"]
    assert editor.edits_received == edits
    assert editor.text(uri) == final


async def test_two_jobs_at_once(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="pass\n", chunk_size=1, pace=0.01)
    a = editor.open("a.py", "def a():\n    x\n")
    b = editor.open("b.py", "def b():\n    y\n")
    r = types.Range(
        start=types.Position(line=1, character=0), end=types.Position(line=2, character=0)
    )
    ja = await editor.command(
        "gptLsp.chat", {"uri": a, "range": range_json(r), "instruction": "fill"}
    )
    jb = await editor.command(
        "gptLsp.chat", {"uri": b, "range": range_json(r), "instruction": "fill"}
    )
    fa = await editor.wait_finished(ja["jobId"])
    fb = await editor.wait_finished(jb["jobId"])
    assert fa["status"] == fb["status"] == "done"
    assert editor.text(a) == "def a():\n    pass\n"
    assert editor.text(b) == "def b():\n    pass\n"


async def test_code_actions_are_listed_without_a_relay(editor: Editor, relay_sim: RelaySim) -> None:
    text = "# AI: make it async\ndef f():\n    return 1\n"
    uri = editor.open("m.py", text)
    r = rng(text, 0, len(text), editor.encoding)
    actions = await editor.code_actions(uri, r)
    titles = [a.title for a in actions]
    assert "AI: make it async" in titles
    assert {"AI: Refactor", "AI: Fix", "AI: Document", "AI: Explain"} <= set(titles)
    assert relay_sim.requests == []
    for action in actions:
        assert action.command is not None and action.command.command == "gptLsp.run"


async def test_marker_job_replaces_the_marker_and_block(
    editor: Editor, relay_sim: RelaySim
) -> None:
    text = "x = 0\n# AI: make it async\ndef f():\n    return 1\n\ny = 2\n"
    relay_sim.default = Scenario(text="async def f():\n    return 1\n")
    uri = editor.open("mk.py", text)
    cursor = offset_of(text, 1, 3, editor.encoding)
    actions = await editor.code_actions(uri, rng(text, cursor, cursor, editor.encoding))
    marker = next(a for a in actions if a.title == "AI: make it async")
    assert marker.command is not None
    result = await editor.command(marker.command.command, marker.command.arguments[0])
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "done"
    assert editor.text(uri) == "x = 0\nasync def f():\n    return 1\n\ny = 2\n"
    prompt = "\n".join(m["content"] for m in relay_sim.requests[-1].json["messages"])
    assert "make it async" in prompt


async def test_two_jobs_in_one_document(editor: Editor, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text="    pass\n", chunk_size=1, pace=0.01)
    text = "def a():\n    x\n\ndef b():\n    y\n"
    uri = editor.open("two.py", text)

    def line_range(first: int) -> dict[str, dict[str, int]]:
        return {
            "start": {"line": first, "character": 0},
            "end": {"line": first + 1, "character": 0},
        }

    ja = await editor.command(
        "gptLsp.chat", {"uri": uri, "range": line_range(1), "instruction": "a"}
    )
    jb = await editor.command(
        "gptLsp.chat", {"uri": uri, "range": line_range(4), "instruction": "b"}
    )
    fa = await editor.wait_finished(ja["jobId"])
    fb = await editor.wait_finished(jb["jobId"])
    assert fa["status"] == fb["status"] == "done"
    assert editor.text(uri) == "def a():\n    pass\n\ndef b():\n    pass\n"


async def test_a_bare_cursor_refactors_the_function_around_it(
    editor: Editor, relay_sim: RelaySim
) -> None:
    text = "import os\n\n\n@cache\ndef total(items):\n    return sum(items)\n\n\nx = 1\n"
    relay_sim.default = Scenario(text="@cache\ndef total(items):\n    return sum(items, 0)\n")
    uri = editor.open("bare.py", text)
    cursor = offset_of(text, 5, 8, editor.encoding)
    actions = await editor.code_actions(uri, rng(text, cursor, cursor, editor.encoding))
    titles = [a.title for a in actions]
    assert titles == ["AI: Refactor total", "AI: Document total", "AI: Explain total"]
    assert relay_sim.requests == []
    refactor = actions[0]
    assert refactor.command is not None
    argument = refactor.command.arguments[0]
    assert argument["range"]["start"] == {"line": 3, "character": 0}  # the decorator's line
    assert argument["range"]["end"] == {"line": 6, "character": 0}
    result = await editor.command(refactor.command.command, argument)
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "done"
    assert editor.text(uri) == text.replace("sum(items)", "sum(items, 0)")
    outside = offset_of(text, 8, 2, editor.encoding)
    assert await editor.code_actions(uri, rng(text, outside, outside, editor.encoding)) == []
