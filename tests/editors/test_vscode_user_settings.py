"""A user setting the server protects, set in VS Code's user settings: `gptLsp.budget`.

package.json declares it application-scoped and the extension sends it only as a user setting
(initializationOptions, gptLsp/didChangeUserSettings): the server has no workspace value to
ignore, and the cap holds (today's spend, seeded in the usage ledger, is over it).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gpt_lsp.accounting.ledger import Ledger, Record
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


def test_a_user_budget_is_sent_as_a_user_setting_and_holds(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("vscode-budget")
    state = tmp / "state"
    state.mkdir()
    spent = Record(time.time(), "default", MODEL, "refactor", 1000, 100, False, 1.5, None, "done")
    Ledger(state / "usage.sqlite3").append(spent)  # $1.50 today: over the $1 cap
    artifacts = ARTIFACTS / "budget"
    with RelaySim(prefix="/v1", api_key=API_KEY) as relay:
        relay.default = Scenario(text="unexpected = True")
        settings = {
            "gptLsp.baseUrl": relay.base_url,
            "gptLsp.model": MODEL,
            "gptLsp.budget": {"dailyUsd": 1.0},
        }
        env = {"GPT_LSP_API_KEY": API_KEY, "GPT_LSP_STATE_DIR": str(state)}
        with start_code_server(tmp, settings, {}, env, artifacts) as running:
            line = ORIGINAL.splitlines().index("print(total([1, 2, 3]))") + 1
            steps = run_driver(
                running,
                "budget.mjs",
                {
                    "file": "sample.py",
                    "original": ORIGINAL,
                    "chat": {"firstLine": line, "instruction": "add a label"},
                },
                artifacts,
            )
            log = Path(str(running["server_log"])).read_text("utf-8")
        chats = [r for r in relay.requests if r.path.endswith("/chat/completions")]
    refused = steps["refused"]["text"]
    assert "Spending cap reached" in refused and "budget.dailyUsd" in refused, refused
    assert chats == [], "the capped job reached the relay"
    texts = steps["notifications"]["texts"]
    assert not [t for t in texts if "ignored" in t], texts
    assert "from the workspace/project settings" not in log, "the server ignored a value"
