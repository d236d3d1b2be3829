"""A chat document in real VS Code (code-server in headless Chromium): New Chat on selected
lines with a question opens the chat beside the code and the reply streams into it; a
follow-up typed where the reply left the cursor goes with Ctrl+Enter; `AI: Apply to` on the
answer's code makes a pending edit in the source (nothing asked); the Reject lens puts the
original back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editors.vscode_session import (
    API_KEY,
    ARTIFACTS,
    MODEL,
    ORIGINAL,
    run_driver,
    start_code_server,
)
from tests.relay_sim import RelaySim, Scenario

pytestmark = pytest.mark.editor

QUESTION = "Why a loop?"
FOLLOW_UP = "And speed?"
BETTER = "def total(items):\n    return sum(i for i in items)\n"
FIRST_ANSWER = f"A generator does it:\n\n```python\n{BETTER}```\n"
SECOND_ANSWER = "It is fast enough."
APPLIED = BETTER + ORIGINAL[ORIGINAL.index("\n\nprint") :]


@pytest.fixture(scope="module")
def chat_session(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Runs chat.mjs once against a simulator; returns its steps, the simulator and the chat
    file the user saved."""
    with RelaySim(prefix="/v1", api_key=API_KEY) as relay:
        relay.default = Scenario(text="unexpected extra request", pace=0.01)
        relay.enqueue(
            Scenario(text=FIRST_ANSWER, chunk_size=4, pace=0.02),
            Scenario(text=SECOND_ANSWER, chunk_size=3, pace=0.02),
        )
        settings = {"gptLsp.baseUrl": relay.base_url, "gptLsp.model": MODEL}
        artifacts = ARTIFACTS / "chat"
        tmp = tmp_path_factory.mktemp("vscode-chat")
        with start_code_server(
            tmp, settings, {}, {"GPT_LSP_API_KEY": API_KEY}, artifacts
        ) as running:
            steps = run_driver(
                running,
                "chat.mjs",
                {
                    "file": "sample.py",
                    "original": ORIGINAL,
                    "firstLine": 1,
                    "lineCount": 5,
                    "question": QUESTION,
                    "firstEnd": BETTER.splitlines()[-1].strip(),
                    "followUp": FOLLOW_UP,
                    "secondEnd": SECOND_ANSWER,
                    "blockText": "sum(i for i in items)",
                    "applied": APPLIED,
                },
                artifacts,
            )
            files = sorted((tmp / "home" / ".local" / "share").rglob("*.md"))
            texts = [Path(f).read_text("utf-8") for f in files]
            yield {
                "steps": steps,
                "relay": relay,
                "chats": [t for t in texts if t.startswith("<!-- gpt-lsp chat")],
            }


def test_a_chat_from_a_selection_reply_follow_up_apply_reject(
    chat_session: dict[str, Any],
) -> None:
    steps, relay = chat_session["steps"], chat_session["relay"]
    # The chat opened beside the code (two groups, the source still shown), focused.
    first = steps["first reply"]
    assert first["groups"] == 2 and first["source"] == ORIGINAL.rstrip(), first
    assert first["active"] == first["chatTab"] and first["chatTab"].endswith(".md"), first
    # One chat document, kept on disk: the selection as a fenced block, both turns, their
    # AI headings with the model, the follow-up under the heading the first reply left.
    [chat] = chat_session["chats"]
    code = ORIGINAL[: ORIGINAL.index("\n\n\nprint") + 1]
    assert f"```python\n{code}```\n\n{QUESTION}\n" in chat, chat
    assert f"\n## AI · {MODEL} · " in chat and FIRST_ANSWER.strip() in chat, chat
    assert f"\n## You\n{FOLLOW_UP}\n\n## AI · {MODEL}" in chat, chat
    assert chat.rstrip().endswith(f"{SECOND_ANSWER}\n\n## You"), chat
    # The follow-up sent the whole conversation.
    chats = [r for r in relay.requests if r.path.endswith("/chat/completions")]
    sent = chats[1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"], sent
    assert FOLLOW_UP in sent[-1]["content"] and QUESTION in sent[1]["content"]
    # Apply: a pending edit in the source, reviewed as any job; applying asked nothing.
    applied = steps["applied"]
    assert f"AI: Apply to {'sample.py'}" in applied["offered"], applied
    assert applied["source"] == APPLIED.rstrip(), applied
    assert {"AI: Accept", "AI: Reject"} <= set(applied["lenses"]), applied
    assert len(chats) == 2, [r.path for r in relay.requests]
    # Reject: the original, byte for byte as the editor shows it.
    assert steps["rejected"]["source"] == ORIGINAL.rstrip(), steps["rejected"]
