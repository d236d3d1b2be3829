"""Fill-in-the-middle completion over stdio against the relay simulator: the first completion
tries `/completions` with `suffix`; a relay that keeps it is used from then on, one that drops
it, has no such endpoint or rejects the field gets the chat prompt, and each is remembered in
the state directory (a restarted server asks as the first one learned)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.conftest import TEST_API_KEY
from tests.e2e.cli import env_for, rows, run_cli
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.e2e.inline import counted, inline, inline_clients, status, typed
from tests.relay_sim import FimMode, RelaySim, Scenario

pytestmark = pytest.mark.usefixtures("inline_clients")
__all__ = ["inline_clients"]  # the fixture, used above

SOURCE = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
CURSOR = types.Position(line=1, character=11)  # after "return "
LATER = types.Position(line=1, character=12)  # after "return x" (typed): no cached answer
FIM_PATH = "/v1/completions"
CHAT_PATH = "/v1/chat/completions"


def options(sim: RelaySim) -> dict[str, Any]:
    return relay_options(sim, completion={"enabled": True, "debounceMs": 0})


def paths(sim: RelaySim) -> list[str]:
    return [r.path for r in sim.requests]


def learned(tmp_path: Path) -> dict[str, bool]:
    """What the state directory says of the simulator's FIM, per model."""
    data = json.loads((tmp_path / "state" / "gpt-lsp" / "relays.json").read_text("utf-8"))
    (entry,) = data["relays"].values()
    return dict(entry.get("fim", {}))


async def two_completions(editor: Editor, uri: str) -> tuple[list[str], list[str]]:
    """A suggestion at the cursor, then (the user typed `x`) one after it."""
    first = [i.insert_text for i in await inline(editor, uri, CURSOR)]
    await typed(editor, uri, SOURCE.index("return ") + 7, "x")
    second = [i.insert_text for i in await inline(editor, uri, LATER)]
    return first, second


async def test_a_relay_that_keeps_the_suffix_is_asked_by_fim_from_then_on(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    relay_sim.fim = "serve"
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2", usage="never"))
    editor = await make_editor(options(relay_sim))
    uri = editor.open("add.py", SOURCE)
    first, second = await two_completions(editor, uri)
    assert first == ["a + b"] and second == [" * 2"]
    assert paths(relay_sim) == [FIM_PATH, FIM_PATH]
    body = relay_sim.requests[0].json
    assert body["prompt"] == "def add(a, b):\n    return "
    assert body["suffix"] == "\n\nprint(add(1, 2))\n"
    assert body["max_tokens"] == 64 and body["stream"] is True and "messages" not in body
    assert learned(tmp_path) == {"gpt-4": True}
    # Counted like the chat prompt's: the second answer's usage is estimated (none sent).
    assert await counted(editor, "completionTokens") > 0
    counts = (await status(editor))["completion"]
    assert counts["requests"] == 2 and counts["fimRequests"] == 2 and counts["errors"] == 0


async def test_a_relay_that_drops_the_suffix_gives_one_suggestion_then_the_chat_prompt(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    relay_sim.fim = "drop_suffix"  # the answer runs on into "\n\nprint(add(1, 2))\n..."
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2"))
    editor = await make_editor(options(relay_sim))
    uri = editor.open("add.py", SOURCE)
    first, second = await two_completions(editor, uri)
    assert first == ["a + b"] and second == [" * 2"]
    assert paths(relay_sim) == [FIM_PATH, CHAT_PATH]
    assert learned(tmp_path) == {"gpt-4": False}


@pytest.mark.parametrize("mode", [None, "reject_suffix"], ids=["404", "400 naming suffix"])
async def test_a_relay_without_fim_costs_one_refused_request_once(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path, mode: FimMode | None
) -> None:
    relay_sim.fim = mode
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2"))
    editor = await make_editor(options(relay_sim))
    uri = editor.open("add.py", SOURCE)
    first, second = await two_completions(editor, uri)
    # The refused try is not the user's problem: the same completion goes on by chat.
    assert first == ["a + b"] and second == [" * 2"]
    assert paths(relay_sim) == [FIM_PATH, CHAT_PATH, CHAT_PATH]
    assert relay_sim.requests[0].status == (404 if mode is None else 400)
    assert learned(tmp_path) == {"gpt-4": False}
    counts = (await status(editor))["completion"]
    assert counts["errors"] == 0 and counts["shown"] == 2
    assert not editor.client.messages  # nothing said to the user


@pytest.mark.parametrize("served", [True, False], ids=["served", "refused"])
async def test_what_was_learned_holds_across_a_restart_and_check_reports_it(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path, served: bool
) -> None:
    relay_sim.fim = "serve" if served else None
    relay_sim.enqueue(Scenario(text="a + b"))
    editor = await make_editor(options(relay_sim))
    uri = editor.open("add.py", SOURCE)
    assert [i.insert_text for i in await inline(editor, uri)] == ["a + b"]
    await editor.shutdown()
    asked = len(relay_sim.requests)
    assert asked == (1 if served else 2)

    # A relay known to keep `suffix` is not tried again: were it probed, this one (which now
    # drops it) would be caught and left for the chat prompt.
    relay_sim.fim = "drop_suffix" if served else None
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2"))
    again = await make_editor(options(relay_sim))
    uri = again.open("add.py", SOURCE)
    first, second = await two_completions(again, uri)
    assert first == ["a + b"] and second == [" * 2"]
    expected = FIM_PATH if served else CHAT_PATH
    assert paths(relay_sim)[asked:] == [expected, expected]

    check = run_cli(env_for(tmp_path, relay_sim, TEST_API_KEY, GPT_LSP_MODEL="gpt-4"), "check")
    assert check.returncode == 0, check.stderr
    word = "yes" if served else "no"
    assert rows(check.stdout)["fim"].startswith(f"gpt-4: {word} (completion uses"), check.stdout


async def test_fim_completions_asks_by_fim_whatever_the_relay_does(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    """`fim: "completions"` is the user's word: no probe, no fallback to the chat prompt."""
    relay_sim.fim = None  # no /completions on this relay: every try is refused (404)
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2"))
    forced = relay_options(
        relay_sim, completion={"enabled": True, "debounceMs": 0, "fim": "completions"}
    )
    editor = await make_editor(forced)
    uri = editor.open("add.py", SOURCE)
    first, second = await two_completions(editor, uri)
    assert first == [] and second == []
    assert paths(relay_sim) == [FIM_PATH, FIM_PATH]  # never the chat prompt
    counts = (await status(editor))["completion"]
    assert counts["fimRequests"] == 2 and counts["shown"] == 0


async def test_codestrals_fim_completions_is_asked_in_its_own_form(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    """`fim: "fim/completions"`: POST <base>/fim/completions with only the fields Codestral's
    schema knows (no `stream_options`: it answers 422 to any other), its chat-shaped chunks
    read as the suggestion; `check` says so."""
    relay_sim.fim = "codestral"
    relay_sim.enqueue(Scenario(text="a + b"), Scenario(text=" * 2"))
    codestral = relay_options(
        relay_sim, completion={"enabled": True, "debounceMs": 0, "fim": "fim/completions"}
    )
    editor = await make_editor(codestral)
    uri = editor.open("add.py", SOURCE)
    first, second = await two_completions(editor, uri)
    assert first == ["a + b"] and second == [" * 2"]
    assert paths(relay_sim) == ["/v1/fim/completions"] * 2
    body = relay_sim.requests[0].json
    assert set(body) == {"model", "prompt", "suffix", "max_tokens", "stream"}
    assert body["prompt"].endswith("    return ") and body["suffix"].startswith("\n\nprint(")
    counts = (await status(editor))["completion"]
    assert counts["fimRequests"] == 2 and counts["shown"] == 2
    assert counts["promptTokens"] > 0 and counts["completionTokens"] > 0  # its usage chunk

    config = tmp_path / "codestral.toml"
    config.write_text('[completion]\nfim = "fim/completions"\n', encoding="utf-8")
    env = env_for(tmp_path, relay_sim, TEST_API_KEY, GPT_LSP_MODEL="gpt-4")
    check = run_cli({**env, "GPT_LSP_CONFIG": str(config)}, "check")
    assert check.returncode == 0, check.stderr
    assert "POST /fim/completions" in rows(check.stdout)["fim"], check.stdout
