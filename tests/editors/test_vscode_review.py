"""A pending AI edit in real VS Code (code-server in headless Chromium): lenses, decorations and
the pending status item; one Ctrl+Z takes the whole job back; inline chat inside the region
refines it; Show Diff opens a diff editor; the Reject lens restores the original."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.editors.vscode_session import (
    API_KEY,
    ARTIFACTS,
    MODEL,
    ORIGINAL,
    REFACTORED_CODE,
    run_driver,
    start_code_server,
)
from tests.relay_sim import RelaySim, Scenario

pytestmark = pytest.mark.editor

AFTER = REFACTORED_CODE + ORIGINAL[ORIGINAL.index("\n\nprint") :]
SHORTER = "def total(items):\n    return sum(items)\n"
REFINED = SHORTER + ORIGINAL[ORIGINAL.index("\n\nprint") :]
INSTRUCTION = "drop the average and the docstring"


@pytest.fixture(scope="module")
def review_session(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Runs review.mjs once against a simulator; returns its steps and the simulator."""
    with RelaySim(prefix="/v1", api_key=API_KEY) as relay:
        relay.default = Scenario(text="unexpected extra request", pace=0.01)
        # Many small pieces: many applyEdits, which must still make one undo step.
        relay.enqueue(
            Scenario(text=REFACTORED_CODE, chunk_size=3, pace=0.02),
            Scenario(text=REFACTORED_CODE, chunk_size=6, pace=0.01),
            Scenario(text=SHORTER, chunk_size=4, pace=0.02),
        )
        settings = {"gptLsp.baseUrl": relay.base_url, "gptLsp.model": MODEL}
        artifacts = ARTIFACTS / "review"
        tmp = tmp_path_factory.mktemp("vscode-review")
        with start_code_server(
            tmp, settings, {}, {"GPT_LSP_API_KEY": API_KEY}, artifacts
        ) as running:
            steps = run_driver(
                running,
                "review.mjs",
                {
                    "file": "sample.py",
                    "original": ORIGINAL,
                    "firstLine": 1,
                    "lineCount": 5,
                    "refactored": AFTER,
                    "refined": REFINED,
                    "instruction": INSTRUCTION,
                },
                artifacts,
            )
            yield {"steps": steps, "relay": relay}


def test_pending_edit_undo_refine_diff_and_reject(review_session: dict[str, Any]) -> None:
    steps, relay = review_session["steps"], review_session["relay"]
    pending = steps["pending"]
    assert {"AI: Accept", "AI: Reject"} <= set(pending["lenses"]), pending
    assert pending["item"] == "1 AI edit pending", pending
    assert pending["header"], pending  # "AI edit pending: replaces 5 lines" on the first line
    # One Ctrl+Z: the original, and the server ended the job (no lenses, no pending item).
    undone = steps["undone"]
    assert undone["text"] == ORIGINAL.rstrip(), undone
    assert "AI: Accept" not in undone["lenses"] and undone["item"] == "", undone
    # The refine was a follow-up turn: the conversation reached the relay.
    chats = [r for r in relay.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 3, [r.path for r in relay.requests]
    messages = chats[2].json["messages"]
    assert messages[-2]["role"] == "assistant" and "def average" in messages[-2]["content"]
    assert INSTRUCTION in messages[-1]["content"]
    assert steps["refined"]["text"] == REFINED.rstrip(), steps["refined"]
    assert "original ↔ AI edit" in steps["diff"]["tab"], steps["diff"]
    rejected = steps["rejected"]
    assert rejected["text"] == ORIGINAL.rstrip() and rejected["item"] == "", rejected
