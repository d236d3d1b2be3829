"""Reviewable, refinable inline chat over stdio: pending jobs with lenses and review
notifications, refine carrying the conversation (seen at the simulator), reject after two
turns byte-exact, and an undo back to the original ending the job. Both profiles (VS Code
utf-16, Neovim utf-8)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from tests.e2e.editor import Editor, position_of
from tests.relay_sim import RelaySim, Scenario

FUNC = "def total(items):\r\n    return sum(items)  # 中文 😀\r\n"
SOURCE = f"import os\r\n\r\n{FUNC}\r\nprint(1)\r\n"
NEW = "def total(items):\n    return sum(items)  # 新的\n"
SHORT = "def total(items):\n    return 0\n"


def lsp_range(editor: Editor, text: str, part: str) -> dict[str, Any]:
    start = position_of(text, text.index(part), editor.encoding)
    end = position_of(text, text.index(part) + len(part), editor.encoding)
    return {
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    }


async def pending(editor: Editor, relay_sim: RelaySim, name: str) -> tuple[str, str]:
    relay_sim.enqueue(Scenario(text=NEW, chunk_size=4))
    uri = editor.open(name, SOURCE)
    argument = {"action": "refactor", "uri": uri, "range": lsp_range(editor, SOURCE, FUNC)}
    job_id = str((await editor.command("gptLsp.run", argument))["jobId"])
    assert (await editor.wait_finished(job_id))["status"] == "done"
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("status") == "pending")
    return uri, job_id


async def test_a_pending_job_has_lenses_actions_and_review_notifications(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, job_id = await pending(editor, relay_sim, "lenses.py")
    review = editor.review_of(job_id)
    assert review is not None and review["original"] == FUNC
    assert review["range"]["start"] == {"line": 2, "character": 0}
    assert next(r["status"] for r in editor.reviews) == "running"
    lenses = await editor.code_lenses(uri)
    assert [(lens.command.title, lens.command.command) for lens in lenses if lens.command] == [
        ("AI: Accept", "gptLsp.accept"),
        ("AI: Reject", "gptLsp.reject"),
    ]
    assert {lens.range.start.line for lens in lenses} == {2}
    if editor.profile == "vscode":  # declares workspace.codeLens.refreshSupport
        await editor.wait_until(lambda: editor.lens_refreshes > 0)
    else:
        assert editor.lens_refreshes == 0
    at = types.Position(line=3, character=2)
    titles = [a.title for a in await editor.code_actions(uri, types.Range(start=at, end=at))]
    assert titles[:2] == ["AI: Accept edit", "AI: Reject edit"]
    lens = next(lens for lens in lenses if lens.command and lens.command.title == "AI: Accept")
    assert lens.command is not None
    arguments: list[Any] = list(lens.command.arguments or [])
    assert await editor.command(lens.command.command, arguments[0]) == {"ok": True}
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("status") == "ended")
    assert await editor.code_lenses(uri) == []
    assert "# 新的" in editor.text(uri)


async def test_refine_carries_the_conversation_and_reject_restores_the_first_original(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, job_id = await pending(editor, relay_sim, "refine.py")
    relay_sim.enqueue(Scenario(text=SHORT, chunk_size=3))
    where = {"line": 3, "character": 4}
    answer = await editor.command(
        "gptLsp.chat", {"uri": uri, "position": where, "instruction": "make it shorter"}
    )
    assert answer == {"jobId": job_id}
    await editor.wait_until(lambda: len([f for f in editor.finished if f["jobId"] == job_id]) == 2)
    await editor.wait_until(lambda: "return 0" in editor.text(uri))
    messages = relay_sim.requests[1].json["messages"]
    assert FUNC.replace("\r\n", "\n") in messages[1]["content"].replace("\r\n", "\n")
    assert messages[-2] == {"role": "assistant", "content": NEW.replace("\n", "\r\n")}
    assert "make it shorter" in messages[-1]["content"]
    second = [f for f in editor.finished if f["jobId"] == job_id][-1]
    first_usage = next(f for f in editor.finished if f["jobId"] == job_id)["usage"]
    assert second["usage"]["totalTokens"] > first_usage["totalTokens"]  # summed per job
    assert await editor.command("gptLsp.reject", {"jobId": job_id}) == {"ok": True}
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_undo_back_to_the_original_ends_the_pending_job(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, job_id = await pending(editor, relay_sim, "undo.py")
    editor.undo_to(uri, SOURCE)
    editor.flush(uri)
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("outcome") == "undone")
    assert len([f for f in editor.finished if f["jobId"] == job_id]) == 1
    assert await editor.code_lenses(uri) == []
    assert await editor.command("gptLsp.reject", {"jobId": job_id}) == {"ok": False}
    assert editor.text(uri) == SOURCE


def outcome(editor: Editor, job_id: str) -> str | None:
    review = editor.review_of(job_id)
    return None if review is None else review.get("outcome")


async def test_one_undo_after_a_follow_up_turn_restores_the_first_original(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, job_id = await pending(editor, relay_sim, "undo_turn.py")
    first = editor.text(uri)
    relay_sim.enqueue(Scenario(text=SHORT, chunk_size=3))
    where = {"line": 3, "character": 4}
    await editor.command("gptLsp.chat", {"uri": uri, "position": where, "instruction": "shorter"})
    await editor.wait_until(lambda: len([f for f in editor.finished if f["jobId"] == job_id]) == 2)
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("turn") == 2)
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("status") == "pending")
    editor.flush(uri)
    # VS Code's and Emacs's first undo takes back the follow-up turn only: the first turn's
    # answer, which the user never typed, is back. The server puts the original back.
    editor.undo_to(uri, first)
    editor.flush(uri)
    await editor.wait_until(lambda: outcome(editor, job_id) is not None)
    assert outcome(editor, job_id) == "undone"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    assert not any("accepted" in m.message for m in editor.client.messages)


async def test_one_undo_after_typing_during_the_stream_restores_the_original(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text="".join(f"    y{i} = {i}\r\n" for i in range(40)), pace=0.01))
    uri = editor.open("undo_typing.py", SOURCE)
    argument = {"action": "refactor", "uri": uri, "range": lsp_range(editor, SOURCE, FUNC)}
    job_id = str((await editor.command("gptLsp.run", argument))["jobId"])
    await editor.wait_until(lambda: "y3 = 3" in editor.text(uri))
    typed = "x = total([4, 5])\r\n"
    editor.type_at(uri, len(editor.text(uri)), typed)  # a line at the end, mid-stream
    typed_at = editor.text(uri)
    assert (await editor.wait_finished(job_id))["status"] == "done"
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("status") == "pending")
    editor.flush(uri)
    assert editor.text(uri).endswith(typed) and "y39 = 39" in editor.text(uri)
    # Neovim's one `u` takes back the job's edits made after the typing only.
    editor.undo_to(uri, typed_at)
    editor.flush(uri)
    await editor.wait_until(lambda: outcome(editor, job_id) is not None)
    assert outcome(editor, job_id) == "undone"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE + typed)
    assert not any("accepted" in m.message for m in editor.client.messages)
