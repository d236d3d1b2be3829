"""Inline completion over stdio against the relay simulator: the real server, a scripted editor."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import REPO, server_env
from tests.e2e.inline import CURSOR, complete, counted, inline, inline_clients, status, typed
from tests.relay_sim import INVALID_TOKEN, RelaySim, Scenario

SOURCE = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
HANG = Scenario(text="a + b\n", chunk_size=1, hang_after=1)  # one chunk, then silence


def options(sim: RelaySim, **completion: Any) -> dict[str, Any]:
    # The chat prompt's path: fill-in-the-middle has its own tests (test_fim.py).
    return relay_options(
        sim, completion={"enabled": True, "debounceMs": 100, "fim": "off", **completion}
    )


pytestmark = pytest.mark.usefixtures("inline_clients")
__all__ = ["inline_clients"]  # the fixture, imported for its use above


async def test_a_suggestion_continues_at_the_cursor(
    make_editor: EditorFactory, relay_sim: RelaySim, profile: tuple[str, str]
) -> None:
    editor = await make_editor(options(relay_sim), *profile)
    relay_sim.enqueue(Scenario(text="```python\n    return a + b\n```"))
    uri = editor.open("add.py", SOURCE)
    items = await inline(editor, uri)
    assert [i.insert_text for i in items] == ["a + b"]
    assert items[0].range == types.Range(start=CURSOR, end=CURSOR)
    body = relay_sim.requests[-1].json
    assert body["max_tokens"] == 64 and body["stream"] is True
    prompt = body["messages"][-1]["content"]
    assert "add.py (python)" in prompt and "    return <FILL>\n\nprint(add(1, 2))" in prompt
    assert await counted(editor, "completionTokens") > 0  # recorded once the stream closed
    counts = (await status(editor))["completion"]
    assert counts["requests"] == 1 and counts["shown"] == 1 and counts["promptTokens"] > 0


async def test_disabled_or_excluded_asks_nothing(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    off = await make_editor(relay_options(relay_sim))
    uri = off.open("add.py", SOURCE)
    assert await inline(off, uri) == []
    on = await make_editor(options(relay_sim, excludeLanguages=["markdown"]))
    secret = on.open(".env", "API_KEY=\n", "dotenv")
    notes = on.open("notes.md", "# Notes\n\n", "markdown")
    assert await inline(on, secret, types.Position(line=0, character=8)) == []
    assert await inline(on, notes, types.Position(line=1, character=0)) == []
    for name in (".ENV", "Server.PEM", "MySecret.py"):  # globs match in any letter case
        upper = on.open(name, "API_KEY=\n", "plaintext")
        assert await inline(on, upper, types.Position(line=0, character=8)) == []
    assert relay_sim.requests == []
    assert (await status(on))["completion"]["requests"] == 0


async def test_typing_with_a_request_per_keystroke_makes_one_relay_request(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    """Neovim's pattern: after each keystroke a request, the previous one cancelled."""
    editor = await make_editor(options(relay_sim, debounceMs=1000))
    relay_sim.default = Scenario(text=" + 1")
    uri = editor.open("add.py", SOURCE)
    start = SOURCE.index("return ") + 7
    burst, previous = [], None
    for index, char in enumerate("total"):
        editor.type_at(uri, start + index, char)
        editor.flush(uri)
        await asyncio.sleep(0)  # the change is reported first
        if previous is not None:
            editor.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=previous))
        previous = f"inline-{index}"
        at = types.Position(line=1, character=12 + index)
        burst.append(asyncio.ensure_future(inline(editor, uri, at, msg_id=previous)))
        await asyncio.sleep(0.05)
    answers = await asyncio.gather(*burst, return_exceptions=True)
    assert [i.insert_text for i in answers[-1]] == [" + 1"]  # type: ignore[union-attr]
    assert len(relay_sim.requests) == 1


async def test_helix_requests_while_the_user_types_wait_and_a_change_ends_them(
    make_editor: EditorFactory, relay_sim: RelaySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helix asks with triggerKind Invoked once its idle timer (250 ms) fires, never while a
    request is pending: while the user still types, no request reaches the relay; the one
    after the last keystroke does; a manual one after a pause at once."""
    monkeypatch.undo()  # Helix declares no inline completion
    editor = await make_editor(options(relay_sim, debounceMs=1000))
    relay_sim.default = Scenario(text=" + 1")
    uri = editor.open("add.py", SOURCE)
    start = SOURCE.index("return ") + 7
    pending: asyncio.Future[list[str]] | None = None
    for index, char in enumerate("total"):
        await typed(editor, uri, start + index, char)
        if pending is not None:  # none while one is pending: the change ended it
            assert await asyncio.wait_for(pending, 5) == []
        pending = asyncio.ensure_future(
            complete(editor, uri, types.Position(line=1, character=12 + index))
        )
        await asyncio.sleep(0)  # sent, then a round trip: the server has taken it before
        await status(editor)  # the next keystroke (their handlers start in order)
    assert pending is not None and await pending == [" + 1"]
    assert len(relay_sim.requests) == 1
    counts = (await status(editor))["completion"]
    assert (counts["debounced"], counts["cancelled"]) == (4, 0)
    await asyncio.sleep(1.2)  # the user pauses (longer than the wait), then asks elsewhere
    assert await complete(editor, uri, types.Position(line=2, character=0)) == [" + 1"]
    assert len(relay_sim.requests) == 2
    assert (await status(editor))["completion"]["debounced"] == 4


async def test_requests_at_a_moving_cursor_wait_until_it_stops(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    """Requests without a change (cursor keys): one that comes while the older still runs
    holds the wait, so a burst asks the relay for its first (cancelled) and last only."""
    editor = await make_editor(options(relay_sim, debounceMs=500))
    relay_sim.default = Scenario(text="a + b", first_byte_delay=0.3)
    uri = editor.open("add.py", SOURCE)
    assert await inline(editor, uri, types.Position(line=3, character=0)) != []  # warm
    burst = []
    for character in (11, 10, 9, 8, 7):
        at = types.Position(line=1, character=character)
        burst.append(asyncio.ensure_future(inline(editor, uri, at)))
        await asyncio.sleep(0.08)  # each reaches the relay if it does not wait
    answers = await asyncio.gather(*burst)
    assert [len(a) for a in answers] == [0, 0, 0, 0, 1]
    assert len(relay_sim.requests) <= 1 + 2


async def test_a_newer_request_closes_the_older_stream(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(HANG, Scenario(text="b"))
    uri = editor.open("add.py", SOURCE)
    first = asyncio.ensure_future(inline(editor, uri))
    assert await asyncio.to_thread(relay_sim.wait_for_requests, 1)
    await typed(editor, uri, SOURCE.index("return ") + 7, "a + ")
    second = await inline(editor, uri, types.Position(line=1, character=15))
    assert await first == []
    assert [i.insert_text for i in second] == ["b"]
    # The simulator's thread sees the hang-up on its own time: wait for it, bounded.
    assert await asyncio.to_thread(relay_sim.wait_for_disconnect, 0, 5.0) is not None
    assert relay_sim.requests[0].client_disconnected
    assert await counted(editor, "cancelled") == 1


async def test_cancel_request_closes_the_stream(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(HANG)
    uri = editor.open("add.py", SOURCE)
    pending = asyncio.ensure_future(inline(editor, uri, msg_id="inline-1"))
    assert await asyncio.to_thread(relay_sim.wait_for_requests, 1)
    await asyncio.sleep(0.1)
    editor.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="inline-1"))
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, 0, 5.0)
    assert ended is not None and relay_sim.requests[0].client_disconnected
    with pytest.raises(Exception):  # noqa: B017 - the request answers RequestCancelled
        await pending
    assert await counted(editor, "cancelled") == 1


async def test_typing_through_a_suggestion_is_answered_from_the_cache(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(Scenario(text="a + b"))
    uri = editor.open("add.py", SOURCE)
    assert [i.insert_text for i in await inline(editor, uri)] == ["a + b"]
    await typed(editor, uri, SOURCE.index("return ") + 7, "a +")
    rest = await inline(editor, uri, types.Position(line=1, character=14))
    assert [i.insert_text for i in rest] == [" b"]
    assert rest[0].range.start == types.Position(line=1, character=14)
    assert len(relay_sim.requests) == 1
    assert (await status(editor))["completion"]["cacheHits"] == 1


async def test_relay_errors_are_shown_once(make_editor: EditorFactory, relay_sim: RelaySim) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.default = INVALID_TOKEN
    uri = editor.open("add.py", SOURCE)
    for character in (11, 10, 9):
        assert await inline(editor, uri, types.Position(line=1, character=character)) == []
    assert len(relay_sim.requests) == 3
    shown = [m for m in editor.client.messages if "AI completion" in m.message]
    assert len(shown) == 1 and "sk-test" not in shown[0].message
    assert editor.text(uri) == SOURCE


async def test_clients_without_inline_completion_get_one_item(
    make_editor: EditorFactory, relay_sim: RelaySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # this client declares no inline completion
    editor = await make_editor(options(relay_sim, debounceMs=0), "neovim", "utf-8")
    relay_sim.enqueue(Scenario(text="a + b"))
    uri = editor.open("add.py", SOURCE)
    params = types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=CURSOR
    )
    async with asyncio.timeout(10):
        result = await editor.client.text_document_completion_async(params)
    assert isinstance(result, types.CompletionList) and result.is_incomplete
    (item,) = result.items
    assert item.label.startswith("AI: ") and item.text_edit is not None
    assert item.text_edit.new_text == "a + b"
    assert item.text_edit.range == types.Range(start=CURSOR, end=CURSOR)  # type: ignore[union-attr]
    assert await inline(editor, uri) != []  # the same service answers both


PRICES = {"default": {"prices": {"gpt-4": {"input": 10000, "output": 10000}}}}


async def test_completions_are_in_the_ledger_and_a_reached_cap_stops_them_quietly(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    opts = options(relay_sim, debounceMs=0)
    editor = await make_editor({**opts, "relays": PRICES, "budget": {"dailyUsd": 1.0}})
    relay_sim.default = Scenario(text="a + b", prompt_tokens=100, completion_tokens=20)
    uri = editor.open("add.py", SOURCE)
    assert await inline(editor, uri) != []  # 1.2 USD: the cap is reached
    await counted(editor, "promptTokens")  # recorded beside the answer, once the stream closed
    for character in (10, 9, 8):
        assert await inline(editor, uri, types.Position(line=1, character=character)) == []
    assert len(relay_sim.requests) == 1
    capped = [m for m in editor.client.messages if "Spending cap reached" in m.message]
    assert len(capped) == 1
    counts = (await status(editor))["completion"]
    assert (counts["promptTokens"], counts["completionTokens"]) == (100, 20)
    assert abs(counts["costUsd"] - 1.2) < 1e-6
    report = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gpt_lsp", "usage", "--by", "action", "--json"],
        env=server_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    groups = {g["key"]: g for g in json.loads(report.stdout)["groups"]}
    assert set(groups) == {"completion"} and groups["completion"]["requests"] == 1


async def test_secrets_are_masked_and_a_huge_file_sends_its_window(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0, prefixChars=2000))
    relay_sim.default = Scenario(text="a + b")
    key = "sk-" + "A1b2C3d4" * 4
    text = f"TOKEN = '{key}'\n" + "x = 1\n" * 200_000 + SOURCE
    uri = editor.open("big.py", text)
    items = await inline(editor, uri, types.Position(line=200_002, character=11))
    assert [i.insert_text for i in items] == ["a + b"]
    body = relay_sim.requests[-1].raw_body.decode()
    assert key not in body and len(body) < 6000


async def test_a_change_closes_the_stream_of_the_request_it_makes_stale(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(HANG)  # one token, then silence
    uri = editor.open("add.py", SOURCE)
    pending = asyncio.ensure_future(inline(editor, uri))
    async with asyncio.timeout(5):
        while not relay_sim.requests or relay_sim.requests[0].chunks_sent < 2:  # noqa: ASYNC110 - the simulator's thread counts
            await asyncio.sleep(0.01)
    await typed(editor, uri, 0, "#")
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, 0, 5.0)
    assert ended is not None and relay_sim.requests[0].client_disconnected
    assert await pending == []
    assert await counted(editor, "completionTokens") == 1  # what streamed, and no more
    counts = (await status(editor))["completion"]
    assert (counts["cancelled"], counts["dropped"], counts["requests"]) == (1, 0, 1)
    assert counts["promptTokens"] > 0
    assert editor.text(uri) == "#" + SOURCE


async def test_helix_typing_through_and_coming_back_is_answered_from_the_cache(
    make_editor: EditorFactory, relay_sim: RelaySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # textDocument/completion, as Helix
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(Scenario(text="max(abs(a), b)"))
    uri = editor.open("add.py", SOURCE)
    start = SOURCE.index("return ") + 7
    assert await complete(editor, uri) == ["max(abs(a), b)"]
    await typed(editor, uri, start, "max")
    assert await complete(editor, uri, types.Position(line=1, character=14)) == ["(abs(a), b)"]
    await typed(editor, uri, start + 3, "()")  # Helix closes the bracket it types
    at = types.Position(line=1, character=15)
    assert await complete(editor, uri, at) == ["abs(a), b"]
    editor.type_at(uri, start, "", removed=5)  # back where it was asked
    editor.flush(uri)
    await asyncio.sleep(0.05)
    assert await complete(editor, uri) == ["max(abs(a), b)"]
    assert len(relay_sim.requests) == 1
    assert (await status(editor))["completion"]["cacheHits"] == 3


async def test_inline_coming_back_to_a_place_is_answered_from_the_cache(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.enqueue(Scenario(text="a + b"))
    uri = editor.open("add.py", SOURCE)
    assert [i.insert_text for i in await inline(editor, uri)] == ["a + b"]
    await typed(editor, uri, 0, "# x\n")
    await typed(editor, uri, 0, "")
    editor.type_at(uri, 0, "", removed=4)  # the line taken back
    editor.flush(uri)
    await asyncio.sleep(0.05)
    assert [i.insert_text for i in await inline(editor, uri)] == ["a + b"]
    assert len(relay_sim.requests) == 1


async def test_bad_positions_and_documents_do_no_harm(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(options(relay_sim, debounceMs=0))
    relay_sim.default = Scenario(text="pass")
    uri = editor.open("add.py", SOURCE)
    assert await inline(editor, "file:///tmp/never-opened.py") == []
    items = await inline(editor, uri, types.Position(line=99, character=99))  # past the end
    assert [i.insert_text for i in items] == ["pass"]
    assert items[0].range.start == types.Position(line=4, character=0)  # clamped
    assert len(relay_sim.requests) == 1
    assert editor.text(uri) == SOURCE
    assert (await status(editor))["completion"]["errors"] == 0
