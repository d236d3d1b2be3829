"""Context beyond the selection, end to end: the server indexes the workspace folder in the
background; a job's request to the relay carries a definition from a file that is not open,
and gptLsp/jobFinished lists what was sent; gptLsp.status shows the index."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.e2e.inline import inline, inline_clients
from tests.relay_sim import RelaySim, Scenario

__all__ = ["inline_clients"]  # the fixture, used by the completion tests

PRICING = '''"""Prices."""

TAX_RATE = 0.2


def apply_discount(amount: float, coupon: str | None) -> float:
    """Takes the coupon's share off an amount: zebraDiscountDoc."""
    if coupon is None:
        return amount
    return amount * 0.9
'''
CHECKOUT = """from shop.pricing import apply_discount


def order_total(amount, coupon):
    return apply_discount(amount, coupon)
"""
TOTAL = {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 0}}


def _workspace(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "checkout.py").write_text(CHECKOUT)
    (root / "shop" / "secret_keys.py").write_text("def apply_discount():\n    leak = 1\n")
    (root / "AGENTS.md").write_text("Prefer small functions: walrusInstructionMark.\n")
    return root


async def _index_ready(editor: Editor) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        status = await editor.command("gptLsp.status")
        if status["context"]["state"] == "ready":
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status["context"]
        await asyncio.sleep(0.05)


async def test_a_definition_from_another_file_reaches_the_relay(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    editor = await make_editor(relay_options(relay_sim), folders=[root])
    status = await _index_ready(editor)
    assert status["context"]["files"] == 2  # secret_keys.py matches the *secret* exclude
    assert status["context"]["symbols"] >= 3
    assert status["lines"][-1] == "index: 2 files, 3 definitions (ready)"  # after the others
    uri = editor.open_uri((root / "shop" / "checkout.py").as_uri(), CHECKOUT, "python")
    relay_sim.enqueue(Scenario(text="def order_total(amount, coupon):\n    return 1\n"))
    job = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": TOTAL})
    finished = await editor.wait_finished(job["jobId"])
    assert finished["status"] == "done"
    prompt = relay_sim.requests[-1].json["messages"][-1]["content"]
    assert "zebraDiscountDoc" in prompt  # apply_discount's docstring, from an unopened file
    assert "shop/pricing.py, lines 6-10 (apply_discount)" in prompt
    assert "walrusInstructionMark" in prompt and "leak" not in prompt
    receipts = finished["context"]
    assert [(r["source"], r["uri"]) for r in receipts] == [
        ("instructions", (root / "AGENTS.md").as_uri()),
        ("definition", (root / "shop" / "pricing.py").as_uri()),
    ]
    assert receipts[1]["range"] == {
        "start": {"line": 5, "character": 0},
        "end": {"line": 10, "character": 0},
    }
    assert all(r["tokens"] > 0 for r in receipts)
    tokens = sum(r["tokens"] for r in receipts)  # what every shim shows, said once
    assert finished["summary"].endswith(f"; context: 2 pieces, {tokens} tokens")
    # Helix shows no jobFinished, only the progress: its end says it too.
    end = editor.client.progress_reports[f"gpt-lsp/{job['jobId']}"][-1]
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert (end.message or "").endswith(f"; context: 2 pieces, {tokens} tokens")


async def test_the_user_can_turn_context_off(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    off = {"definitions": 0, "instructions": 0, "index": False}
    editor = await make_editor(relay_options(relay_sim, context=off), folders=[root])
    await _index_ready(editor)
    uri = editor.open_uri((root / "shop" / "checkout.py").as_uri(), CHECKOUT, "python")
    relay_sim.enqueue(Scenario(text="def order_total(amount, coupon):\n    return 1\n"))
    job = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": TOTAL})
    finished = await editor.wait_finished(job["jobId"])
    assert "context" not in finished and "context" not in finished["summary"]
    prompt = relay_sim.requests[-1].json["messages"][-1]["content"]
    assert "zebraDiscountDoc" not in prompt and "walrusInstructionMark" not in prompt


async def test_watched_files_are_registered_and_keep_the_index_current(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    editor = await make_editor(relay_options(relay_sim), folders=[root])
    await _index_ready(editor)
    deadline = time.monotonic() + 10
    while not editor.registrations:  # answered like an editor: no "unknown method" error
        assert time.monotonic() < deadline, "no client/registerCapability"
        await asyncio.sleep(0.05)
    [registration] = editor.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert registration.register_options["watchers"][0]["globPattern"].startswith("**/*.{")
    created = root / "shop" / "shipping.py"
    created.write_text('def ship_cost(weight):\n    """Per kilo: otterShippingDoc."""\n')
    editor.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=created.as_uri(), type=types.FileChangeType.Created)]
        )
    )
    while (await editor.command("gptLsp.status"))["context"]["files"] != 3:
        assert time.monotonic() < deadline + 10, "the created file was not indexed"
        await asyncio.sleep(0.05)
    text = "def total(weight):\n    return ship_cost(weight)\n"
    uri = editor.open_uri((root / "shop" / "orders.py").as_uri(), text, "python")
    relay_sim.enqueue(Scenario(text="def total(weight):\n    return 2\n"))
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
    job = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": whole})
    assert (await editor.wait_finished(job["jobId"]))["status"] == "done"
    assert "otterShippingDoc" in relay_sim.requests[-1].json["messages"][-1]["content"]


ORDERS = "from shop.pricing import apply_discount\n\n\ndef total(amount):\n    return \n"
AT_RETURN = types.Position(line=4, character=11)


@pytest.mark.usefixtures("inline_clients")
@pytest.mark.parametrize("fim", ["off", "completions"])
async def test_a_completion_carries_the_definitions_it_uses_from_other_files(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path, fim: str
) -> None:
    root = _workspace(tmp_path / "ws")
    relay_sim.fim = "serve"
    completion = {"enabled": True, "debounceMs": 0, "fim": fim}
    editor = await make_editor(relay_options(relay_sim, completion=completion), folders=[root])
    await _index_ready(editor)
    uri = editor.open_uri((root / "shop" / "orders.py").as_uri(), ORDERS, "python")
    relay_sim.enqueue(Scenario(text="apply_discount(amount, None)"))
    items = await inline(editor, uri, AT_RETURN)
    assert [i.insert_text for i in items] == ["apply_discount(amount, None)"]
    body = relay_sim.requests[-1].json
    if fim == "off":  # the chat prompt: the definitions block before the file
        user = body["messages"][-1]["content"]
        assert user.index("zebraDiscountDoc") < user.index("orders.py (python)")
        assert "shop/pricing.py, lines 6-10 (apply_discount)" in user
    else:  # fill-in-the-middle: the definitions as comments above the text
        assert body["prompt"].startswith("# shop/pricing.py, lines 6-10 (apply_discount)\n")
        assert (
            '#     """Takes the coupon\'s share off an amount: zebraDiscountDoc."""\n'
            in (body["prompt"])
        )
        assert body["prompt"].endswith(ORDERS[: ORDERS.index("return ") + 7])
    assert "walrusInstructionMark" not in json.dumps(body)  # definitions only, no instructions
    counts = (await editor.command("gptLsp.status"))["completion"]
    assert 0 < counts["contextTokens"] <= 150  # context.completion's default budget


@pytest.mark.usefixtures("inline_clients")
async def test_a_completion_sends_no_context_when_its_budget_is_zero(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    options = relay_options(
        relay_sim,
        completion={"enabled": True, "debounceMs": 0, "fim": "off"},
        context={"completion": 0},
    )
    editor = await make_editor(options, folders=[root])
    await _index_ready(editor)
    uri = editor.open_uri((root / "shop" / "orders.py").as_uri(), ORDERS, "python")
    relay_sim.enqueue(Scenario(text="amount"))
    assert [i.insert_text for i in await inline(editor, uri, AT_RETURN)] == ["amount"]
    assert "zebraDiscountDoc" not in relay_sim.requests[-1].json["messages"][-1]["content"]
