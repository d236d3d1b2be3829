"""Chat documents over stdio against the relay simulator, in both profiles (VS Code utf-16,
Neovim utf-8): open from a selection, a reply streamed under an AI heading with its figures,
cancel keeping the partial answer, the user's typing elsewhere kept, a relay failure leaving
the document as it was, apply to the source as a pending job that reject restores byte-exact,
a budget refusal sending nothing, references expanded (and an excluded one refused)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, position_of
from tests.relay_sim import RelaySim, Scenario

FUNC = "def total(items):\r\n    return sum(items)  # 中文 😀\r\n"
SOURCE = f"import os\r\n\r\n{FUNC}\r\nprint(1)\r\n"
ANSWER = "Use a generator.\n\n```python\ndef total(items):\n    return sum(i for i in items)\n```\n"


async def pending(editor: Editor, job_id: str) -> None:
    await editor.wait_until(lambda: (editor.review_of(job_id) or {}).get("status") == "pending")


def lsp_range(editor: Editor, text: str, part: str) -> dict[str, Any]:
    start = position_of(text, text.index(part), editor.encoding)
    end = position_of(text, text.index(part) + len(part), editor.encoding)
    return {
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    }


async def open_chat(
    editor: Editor, name: str, instruction: str | None = None, source: str = SOURCE
) -> tuple[str, str]:
    """Opens a source and a chat from its function; returns both URIs once the chat shows."""
    uri = editor.open(name, source)
    argument: dict[str, Any] = {"uri": uri, "range": lsp_range(editor, source, FUNC)}
    if instruction:
        argument["instruction"] = instruction
    chat = str((await editor.command("gptLsp.chatOpen", argument))["uri"])
    await editor.wait_until(lambda: chat in editor.docs)
    return uri, chat


async def replied(editor: Editor, count: int = 1) -> dict[str, Any]:
    await editor.wait_until(lambda: len(editor.replied) >= count)
    return editor.replied[count - 1]


async def ask(editor: Editor, chat: str, question: str) -> None:
    """The user types a question at the end of the chat document (its change sent)."""
    text = editor.text(chat)
    editor.type_at(chat, len(text.rstrip("\n")), "\n" + question)
    editor.flush(chat)
    await asyncio.sleep(0)  # the fake editor reports a change on the loop's next turn


async def test_open_from_a_selection_then_reply_streams_under_an_ai_heading(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text=ANSWER, chunk_size=5))
    uri, chat = await open_chat(editor, "open.py", "Why sum?")
    assert chat.endswith(".md") and "/chats/" in chat and "/tmp/gpt-lsp-e2e" not in chat
    result = await replied(editor)
    assert result["status"] == "done"
    text = editor.text(chat)
    assert "`open.py` lines 3-4:" in text
    assert "```python\ndef total(items):\n    return sum(items)  # 中文 😀\n```" in text
    assert text.index("Why sum?") < text.index("## AI · gpt-4 · ")
    assert ANSWER.rstrip("\n") in text
    heading = next(line for line in text.splitlines() if line.startswith("## AI"))
    assert "tokens" in heading and " s" in heading
    assert text.endswith("## You\n\n")
    assert result["position"]["line"] == len(text.split("\n")) - 2
    sent = relay_sim.requests[-1].json["messages"]
    assert sent[0]["role"] == "system"
    assert sent[-1]["role"] == "user" and "Why sum?" in sent[-1]["content"]
    assert "return sum(items)" in sent[-1]["content"]
    assert "gpt-lsp chat" not in str(sent)  # the marker line is never sent
    # A follow-up carries the first answer.
    relay_sim.enqueue(Scenario(text="Because it is short.", chunk_size=5))
    await ask(editor, chat, "And speed?")
    assert await editor.command("gptLsp.chatReply", {"uri": chat}) == {"replyId": "chat-2"}
    assert (await replied(editor, 2))["status"] == "done"
    roles = [m["role"] for m in relay_sim.requests[-1].json["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert editor.text(chat).count("## AI · gpt-4") == 2
    listed = await editor.command("gptLsp.chatList")
    assert listed["chats"][0]["uri"] == chat and listed["chats"][0]["title"] == "Why sum?"
    assert editor.text(uri) == SOURCE


async def test_reply_code_action_and_lenses_in_a_chat(editor: Editor, relay_sim: RelaySim) -> None:
    _uri, chat = await open_chat(editor, "actions.py")
    at = types.Position(line=1, character=0)
    actions = await editor.code_actions(chat, types.Range(start=at, end=at))
    assert [a.title for a in actions] == ["AI: Reply"]
    lenses = await editor.code_lenses(chat)
    assert [lens.command.title for lens in lenses if lens.command] == ["AI: Reply"]
    await ask(editor, chat, "Explain.")
    relay_sim.enqueue(Scenario(text="Slowly " * 40, chunk_size=3, pace=0.02))
    action = actions[0]
    assert action.command is not None
    await editor.command(action.command.command, (action.command.arguments or [None])[0])
    await editor.wait_until(lambda: "Slowly" in editor.text(chat))
    lenses = await editor.code_lenses(chat)
    assert [lens.command.title for lens in lenses if lens.command] == ["AI: Cancel"]
    actions = await editor.code_actions(chat, types.Range(start=at, end=at))
    assert [a.title for a in actions] == ["AI: Cancel reply"]
    assert await editor.command("gptLsp.chatCancel", {"uri": chat}) == {"ok": True}
    result = await replied(editor)
    assert result["status"] == "cancelled"
    text = editor.text(chat)
    assert "Slowly" in text and "cancelled" in text.split("## AI", 1)[1].split("\n")[0]
    assert text.endswith("## You\n\n")
    assert relay_sim.wait_for_disconnect()


async def test_typing_elsewhere_during_a_reply_loses_nothing(
    editor: Editor, relay_sim: RelaySim
) -> None:
    _uri, chat = await open_chat(editor, "typing.py")
    await ask(editor, chat, "Tell me.")
    words = "".join(f"word{n} " for n in range(60))
    relay_sim.enqueue(Scenario(text=words, chunk_size=4, pace=0.01))
    await editor.command("gptLsp.chatReply", {"uri": chat})
    await editor.wait_until(lambda: "word3" in editor.text(chat))
    for letter in "abc":  # typed in the user's question, above the reply, while it streams
        editor.type_at(chat, editor.text(chat).index("Tell") + 4, letter)
        editor.flush(chat)
    assert (await replied(editor))["status"] == "done"
    text = editor.text(chat)
    assert "Tellcba me." in text
    assert words.strip() in text


async def test_a_relay_failure_leaves_the_chat_as_it_was(
    editor: Editor, relay_sim: RelaySim
) -> None:
    _uri, chat = await open_chat(editor, "fails.py")
    await ask(editor, chat, "Hello?")
    before = editor.text(chat)
    relay_sim.enqueue(Scenario(text="Partial answer that", chunk_size=4, drop_after=3))
    await editor.command("gptLsp.chatReply", {"uri": chat})
    result = await replied(editor)
    assert result["status"] == "failed" and result["message"]
    await editor.wait_until(lambda: editor.text(chat) == before)


async def test_apply_to_the_file_is_a_pending_job_that_reject_restores(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text=ANSWER, chunk_size=7))
    uri, chat = await open_chat(editor, "apply.py", "Better?")
    await replied(editor)
    lines = editor.text(chat).split("\n")
    line = len(lines) - 1 - lines[::-1].index("```python")  # the answer's block
    at = types.Position(line=line + 1, character=2)
    titles = [a.title for a in await editor.code_actions(chat, types.Range(start=at, end=at))]
    assert titles == ["AI: Reply", "AI: Apply to apply.py", "AI: Insert at cursor in apply.py"]
    requests = len(relay_sim.requests)
    job = await editor.command("gptLsp.chatApply", {"uri": chat, "line": line + 1})
    finished = await editor.wait_finished(job["jobId"])
    assert finished["status"] == "done"
    await editor.wait_until(
        lambda: (editor.review_of(job["jobId"]) or {}).get("status") == "pending"
    )
    assert "return sum(i for i in items)\r\n" in editor.text(uri)
    assert editor.text(uri).startswith("import os\r\n\r\ndef total(items):\r\n")
    assert len(relay_sim.requests) == requests  # the block itself: nothing asked
    review = editor.review_of(job["jobId"])
    assert review is not None and review["original"] == FUNC
    assert await editor.command("gptLsp.reject", {"jobId": job["jobId"]}) == {"ok": True}
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_apply_finds_the_definition_of_the_same_name(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text=ANSWER, chunk_size=7))
    uri = editor.open("byname.py", SOURCE)
    chat = str((await editor.command("gptLsp.chatOpen", {"uri": uri, "instruction": "Hi"}))["uri"])
    await replied(editor)
    line = editor.text(chat).split("\n").index("```python")
    job = await editor.command("gptLsp.chatApply", {"uri": chat, "line": line})
    await editor.wait_finished(job["jobId"])
    await editor.wait_until(
        lambda: (editor.review_of(job["jobId"]) or {}).get("status") == "pending"
    )
    assert editor.text(uri) == SOURCE.replace(
        "return sum(items)  # 中文 😀", "return sum(i for i in items)"
    )
    assert await editor.command("gptLsp.reject", {"jobId": job["jobId"]}) == {"ok": True}
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)


async def test_a_budget_refusal_sends_nothing(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    prices = {"default": {"prices": {"gpt-4": {"input": 10000, "output": 10000}}}}
    editor: Editor = await make_editor(
        relay_options(relay_sim, relays=prices, budget={"dailyUsd": 1.0})
    )
    relay_sim.enqueue(Scenario(text="Costly answer.", prompt_tokens=500, completion_tokens=500))
    _uri, chat = await open_chat(editor, "budget.py", "First")
    assert (await replied(editor))["status"] == "done"
    requests = len(relay_sim.requests)
    await ask(editor, chat, "Second")
    before = editor.text(chat)
    try:
        await editor.command("gptLsp.chatReply", {"uri": chat})
    except Exception as error:  # noqa: BLE001 - the refusal is the command's error
        assert "Spending cap reached" in str(error)
    else:
        raise AssertionError("the reply was not refused")
    assert len(relay_sim.requests) == requests
    assert editor.text(chat) == before


async def test_references_are_expanded_and_an_excluded_file_is_refused(
    editor: Editor, relay_sim: RelaySim, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("the notes file KEY = sk-abcdefghijklmnopqrstuvwxyz12\n")
    (tmp_path / ".env").write_text("KEY=1\n", "utf-8")
    _uri, chat = await open_chat(editor, "refs.py")
    await ask(editor, chat, f"See #file:{tmp_path / 'notes.txt'} and #selection")
    relay_sim.enqueue(Scenario(text="Seen."))
    await editor.command("gptLsp.chatReply", {"uri": chat})
    assert (await replied(editor))["status"] == "done"
    last = relay_sim.requests[-1].json["messages"][-1]["content"]
    assert "the notes file" in last and "return sum(items)" in last
    assert "sk-abcdefghijklmnopqrstuvwxyz12" not in last and "GPT_LSP_SECRET_" in last
    requests = len(relay_sim.requests)
    await ask(editor, chat, f"And #file:{tmp_path / '.env'}")
    try:
        await editor.command("gptLsp.chatReply", {"uri": chat})
    except Exception as error:  # noqa: BLE001 - the refusal is the command's error
        assert "exclude" in str(error)
    else:
        raise AssertionError("an excluded file was sent")
    assert len(relay_sim.requests) == requests


async def test_headings_and_messages_in_chinese(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor: Editor = await make_editor(relay_options(relay_sim), locale="zh-CN")
    relay_sim.enqueue(Scenario(text="因为简单。"))
    _uri, chat = await open_chat(editor, "zh.py", "为什么？")
    assert (await replied(editor))["status"] == "done"
    text = editor.text(chat)
    assert "`zh.py` 第 3-4 行：" in text and text.endswith("## 你\n\n")
    assert "## AI · gpt-4 · " in text and "秒" in text.split("## AI", 1)[1].split("\n")[0]
    at = types.Position(line=0, character=0)
    titles = [a.title for a in await editor.code_actions(chat, types.Range(start=at, end=at))]
    assert titles == ["AI: 回复"]


async def test_the_one_cancel_command_stops_a_reply_too(
    editor: Editor, relay_sim: RelaySim
) -> None:
    """`gptLsp.cancel {}` (cancel everything) and `{uri, position}` in a chat document (a
    shim's cancel key there) stop a running reply, keeping what came."""
    uri, chat = await open_chat(editor, "stop.py")
    start = {"line": 0, "character": 0}
    for count, argument in enumerate(({}, {"uri": chat, "position": start}), 1):
        question = f"Explain {count}."
        await ask(editor, chat, question)
        relay_sim.enqueue(Scenario(text="Slowly " * 300, chunk_size=3, pace=0.02))
        await editor.command("gptLsp.chatReply", {"uri": chat})

        def answering(question: str = question) -> bool:
            return "Slowly" in editor.text(chat).split(question)[1]

        await editor.wait_until(answering)
        # A cancel aimed at the source document (no job there) leaves the reply running.
        assert await editor.command("gptLsp.cancel", {"uri": uri, "position": start}) == {
            "ok": False
        }
        assert await editor.command("gptLsp.cancel", argument) == {"ok": True}
        result = await replied(editor, count)
        assert result["status"] == "cancelled"
        assert editor.text(chat).endswith("## You\n\n")
    assert editor.text(uri) == SOURCE
