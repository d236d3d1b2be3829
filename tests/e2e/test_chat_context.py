"""A chat reply carries context beyond its references, end to end: the server indexes the
workspace folder; a chat opened from a selection asks about code whose definition is in a file
that is not open, and the reply's request to the relay carries it (secrets masked); an
excluded file's definitions never go, opened or not; the AI heading lists what was sent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.relay_sim import RelaySim, Scenario

KEY = "sk-" + "q7W3" * 8
PRICING = f'''"""Prices."""

TAX_RATE = 0.2


def apply_discount(amount: float, coupon: str | None) -> float:
    """Takes the coupon's share off an amount: zebraDiscountDoc."""
    api = "{KEY}"
    return amount * 0.9
'''
CHECKOUT = """from shop.pricing import apply_discount
from shop.secret_keys import vault_token


def order_total(amount, coupon):
    vault_token()
    return apply_discount(amount, coupon)
"""
VAULT = 'def vault_token():\n    """leakedVaultDoc"""\n    return 1\n'
TOTAL = {"start": {"line": 4, "character": 0}, "end": {"line": 7, "character": 0}}


def _workspace(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "checkout.py").write_text(CHECKOUT)
    (root / "shop" / "secret_keys.py").write_text(VAULT)  # excluded: the *secret* default
    (root / "AGENTS.md").write_text("Prefer small functions: walrusInstructionMark.\n")
    return root


async def _ready(editor: Editor) -> None:
    deadline = time.monotonic() + 20
    while (await editor.command("gptLsp.status"))["context"]["state"] != "ready":
        assert time.monotonic() < deadline, "the index was not ready in time"
        await asyncio.sleep(0.05)


async def _reply(editor: Editor, relay_sim: RelaySim, argument: dict[str, Any]) -> str:
    """Opens a chat with a question; returns its text once the reply is done."""
    relay_sim.enqueue(Scenario(text="It takes 10 % off."))
    chat = str((await editor.command("gptLsp.chatOpen", argument))["uri"])
    await editor.wait_until(lambda: len(editor.replied) >= 1)
    assert editor.replied[-1]["status"] == "done"
    return editor.text(chat)


async def test_a_chat_reply_carries_definitions_from_other_files(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    editor = await make_editor(relay_options(relay_sim), folders=[root])
    await _ready(editor)
    uri = editor.open_uri((root / "shop" / "checkout.py").as_uri(), CHECKOUT, "python")
    text = await _reply(
        editor, relay_sim, {"uri": uri, "range": TOTAL, "instruction": "How much off?"}
    )
    body = relay_sim.requests[-1].json
    question = body["messages"][-1]["content"]
    assert "zebraDiscountDoc" in question  # apply_discount, from a file that is not open
    assert "shop/pricing.py, lines 6-9 (apply_discount)" in question
    assert "walrusInstructionMark" in question  # the project's instructions
    assert question.index("zebraDiscountDoc") < question.index("How much off?")
    assert KEY not in str(body) and "GPT_LSP_SECRET_1" in question
    assert "leakedVaultDoc" not in str(body)  # vault_token is only in an excluded file
    assert sum(len(m["content"]) for m in body["messages"][1:]) <= 6 * 4000
    heading = next(line for line in text.splitlines() if line.startswith("## AI"))
    assert "1 secret masked" in heading
    assert "context: AGENTS.md (" in heading and "pricing.py:6-9 (" in heading
    # A follow-up typed in the chat: the question goes once, not again as a "recent edit".
    chat = next(u for u in editor.docs if u.endswith(".md"))
    editor.type_at(chat, len(text.rstrip("\n")), "\nAnd with TAX_RATE?")
    editor.flush(chat)
    relay_sim.enqueue(Scenario(text="Then 0.2 more."))
    await asyncio.sleep(0)  # the fake editor reports a change on the loop's next turn
    await editor.command("gptLsp.chatReply", {"uri": chat})
    await editor.wait_until(lambda: len(editor.replied) >= 2)
    follow_up = relay_sim.requests[-1].json["messages"][-1]["content"]
    assert follow_up.count("And with TAX_RATE?") == 1 and "recent edits" not in follow_up
    assert "TAX_RATE = 0.2" in follow_up  # the name the follow-up asks about


async def test_an_open_excluded_file_is_never_context_and_context_can_be_off(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "ws")
    off = {"definitions": 0, "instructions": 0, "documents": 0, "edits": 0}
    editor = await make_editor(relay_options(relay_sim, context=off), folders=[root])
    await _ready(editor)
    editor.open_uri((root / "shop" / "secret_keys.py").as_uri(), VAULT, "python")
    uri = editor.open_uri((root / "shop" / "checkout.py").as_uri(), CHECKOUT, "python")
    text = await _reply(
        editor, relay_sim, {"uri": uri, "range": TOTAL, "instruction": "What is vault_token?"}
    )
    body = str(relay_sim.requests[-1].json)
    assert "zebraDiscountDoc" not in body and "walrusInstructionMark" not in body
    assert "leakedVaultDoc" not in body
    heading = next(line for line in text.splitlines() if line.startswith("## AI"))
    assert "context:" not in heading


async def test_the_conversation_budget_bounds_the_context_too(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    """6 x contextChars (420 characters here) holds the question and the instructions but
    not the definitions as well: they are left out, the question is whole."""
    root = _workspace(tmp_path / "ws")
    editor = await make_editor(relay_options(relay_sim, contextChars=70), folders=[root])
    await _ready(editor)
    uri = editor.open_uri((root / "shop" / "checkout.py").as_uri(), CHECKOUT, "python")
    text = await _reply(
        editor, relay_sim, {"uri": uri, "range": TOTAL, "instruction": "How much off?"}
    )
    messages = relay_sim.requests[-1].json["messages"]
    question = messages[-1]["content"]
    assert question.endswith("How much off?") and "return apply_discount" in question
    assert "walrusInstructionMark" in question and "zebraDiscountDoc" not in question
    assert sum(len(m["content"]) for m in messages[1:]) <= 6 * 70
    heading = next(line for line in text.splitlines() if line.startswith("## AI"))
    assert "context: AGENTS.md (" in heading and "pricing.py" not in heading
    assert "masked" not in heading  # the key in the definition left out was never counted
