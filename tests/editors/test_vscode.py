"""The VS Code extension in real VS Code (code-server in headless Chromium) against the real server.

A user's path through editors/vscode: set the API key (SecretStorage), open a Python file, select
a function, Ctrl+. → "AI: Refactor" and watch the answer stream in, accept it; then inline chat
from F1 on a line and reject it. The relay is the simulator, started here with a paced answer.

Tools come from .ci/install-editors-vscode.sh (tools folder: $GPT_LSP_EDITOR_TOOLS, default
.cache/editor-tools). Without them the test is skipped, or fails when CI is set. The extension is
the .vsix scripts/build-vsix.sh packs (built again here when older than editors/vscode), installed
with `code-server --install-extension` as a user installs it. Screenshots go to
test-artifacts/vscode/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
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

CHANGED_MODEL = "gpt-4o"  # set while VS Code runs, before the inline chat
PICKED_MODEL = "claude-3-opus-20240229"  # one of the simulator's /models, picked at the end

REFACTOR_ANSWER = """\
Here is a simpler version:

```python
def total(items):
    \"\"\"Returns the sum of the items.\"\"\"
    return sum(items)


def average(items):
    \"\"\"Returns the mean of the items, or 0.0 for none.\"\"\"
    return total(items) / len(items) if items else 0.0
```
"""
# The selection is lines 1-5 with their line breaks; the two blank lines and the print stay.
AFTER_REFACTOR = REFACTORED_CODE + ORIGINAL[ORIGINAL.index("\n\nprint") :]
CHAT_INSTRUCTION = "print it with a label"
CHAT_ANSWER = 'print("total:", total([1, 2, 3]))'
SLOW_INSTRUCTION = "print it slowly"
# Starts like the line it replaces, so VS Code reports each edit as one change (see SPLIT_*).
SLOW_ANSWER = "print(total([1, 2, 3]), flush=True)  # cancelled long before the end"
SPLIT_INSTRUCTION = "log it instead"
SPLIT_ANSWER = 'logging.info("total: %s", total([1, 2, 3]))'


@pytest.fixture(scope="module")
def relay() -> Iterator[RelaySim]:
    """The simulator, answering the session's four jobs in order, paced to be watched."""
    with RelaySim(prefix="/v1", api_key=API_KEY) as sim:
        sim.default = Scenario(text="unexpected extra request", pace=0.01)
        sim.enqueue(
            Scenario(text=REFACTOR_ANSWER, chunk_size=4, pace=0.04, usage="always"),
            Scenario(text=CHAT_ANSWER, chunk_size=3, pace=0.05, usage="always"),
            # Silent after "flush" until the cancel closes the request: the cancel surely finds
            # the job running, however slow the machine.
            Scenario(text=SLOW_ANSWER, chunk_size=2, pace=0.05, hang_after=15),
            Scenario(text=SPLIT_ANSWER, chunk_size=4, pace=0.05),
        )
        yield sim


@pytest.fixture(scope="module")
def code_server(
    tools: None, relay: RelaySim, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """code-server with the extension installed and settings pointing at the simulator."""
    settings = {
        "gptLsp.baseUrl": relay.base_url,
        "gptLsp.model": MODEL,
        "gptLsp.relays": {"default": {"prices": {MODEL: {"input": 0.15, "output": 0.6}}}},
    }
    with start_code_server(tmp_path_factory.mktemp("vscode"), settings, {}, {}) as running:
        yield running


@pytest.fixture(scope="module")
def session(code_server: dict[str, object]) -> dict[str, dict[str, object]]:
    """Runs the user's session once (drive.mjs); returns its steps by name."""
    lines = ORIGINAL.splitlines()
    chat_line = lines.index("print(total([1, 2, 3]))")
    return run_driver(
        code_server,
        "drive.mjs",
        {
            "apiKey": API_KEY,
            "logs": str(code_server["user_data"] / "logs"),  # type: ignore[operator]
            "cancel": {"instruction": SLOW_INSTRUCTION, "shotWhen": "flush"},
            "split": {
                "instruction": SPLIT_INSTRUCTION,
                "expected": AFTER_REFACTOR.replace(
                    "print(total([1, 2, 3]))", SPLIT_ANSWER
                ).rstrip(),
            },
            "changeSetting": {"key": "gptLsp.model", "value": CHANGED_MODEL},
            "file": "sample.py",
            "pickModel": PICKED_MODEL,
            "original": ORIGINAL,
            "refactor": {
                "firstLine": 1,
                "lineCount": 5,
                "expected": AFTER_REFACTOR.rstrip(),
                "shotWhen": "def average(items):",  # about half way
                "acceptLine": 2,  # inside the job's region
            },
            "chat": {
                # The refactor added lines: the print line moved down by the difference.
                "firstLine": chat_line + 1 + AFTER_REFACTOR.count("\n") - ORIGINAL.count("\n"),
                "lineCount": 1,
                "instruction": CHAT_INSTRUCTION,
                "shotWhen": 'print("total',
                "expected": AFTER_REFACTOR.replace("print(total([1, 2, 3]))", CHAT_ANSWER).rstrip(),
            },
        },
        ARTIFACTS,
    )


def test_refactor_chat_and_cancel_in_vscode(
    session: dict[str, dict[str, object]], code_server: dict[str, object], relay: RelaySim
) -> None:
    """Refactor from Ctrl+., accept; a setting change; inline chat from F1, reject; cancel."""
    by_name: dict[str, Any] = session

    # The code-action menu lists the server's actions; the answers streamed in several states.
    assert "AI: Refactor" in by_name["code actions"]["menu"]
    assert by_name["refactor streamed"]["states"] >= 3, by_name["refactor streamed"]
    assert by_name["refactor streamed"]["screenshot"], "no mid-stream state was seen"
    assert by_name["chat streamed"]["states"] >= 2, by_name["chat streamed"]
    # The status bar shows the server's summary line as is (compared with the jobFinished
    # the trace recorded), for the finished refactor and for the cancelled chat.
    done = by_name["refactor done"]
    assert done["status"] == done["summary"], done
    assert done["summary"].startswith("AI: Refactor: done, ") and "tokens" in done["summary"]
    assert "$" in done["summary"]  # the relay has prices
    cancelled = by_name["cancelled"]
    assert cancelled["status"] == cancelled["summary"], cancelled
    assert cancelled["summary"].startswith(f"AI: {SLOW_INSTRUCTION}: cancelled, "), cancelled
    assert relay.base_url in by_name["status"]["text"], by_name["status"]
    # Today's and this month's spend (gptLsp.status) in the tooltip after the first job: the
    # ledger's cost of that job, as the summary showed it.
    tooltip = by_name["spend tooltip"]["text"]
    cost = re.search(r"\$\d+\.\d{4}", done["summary"])
    assert cost, done
    # The server's own spend lines (gptLsp.status spendLines), shown as they are.
    assert f"today: {cost[0]}" in tooltip and ", 1 request, " in tooltip, tooltip
    assert f"this month: {cost[0]}" in tooltip, tooltip
    assert "today: " in by_name["status"]["text"], by_name["status"]
    assert done["model"] == MODEL and cancelled["model"] == CHANGED_MODEL, (done, cancelled)

    # The model picker listed the relay's models, said the current one; the pick is shown.
    picked = by_name["model picked"]
    assert f"(now {CHANGED_MODEL})" in picked["title"], picked
    assert {"gpt-4", PICKED_MODEL} <= set(picked["rows"]), picked
    assert picked["status"].endswith(f" · {PICKED_MODEL}"), picked

    # The file on disk: the accepted refactor, and the rejected chat's original line.
    saved = (code_server["workspace"] / "sample.py").read_text("utf-8")  # type: ignore[operator]
    assert saved == AFTER_REFACTOR

    # The key came from SecretStorage (set through the command), and one request per job.
    chats = [r for r in relay.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 4, [r.path for r in relay.requests]
    assert all(r.headers.get("authorization") == f"Bearer {API_KEY}" for r in chats)
    assert chats[0].json["model"] == MODEL
    assert chats[1].json["model"] == CHANGED_MODEL
    assert CHAT_INSTRUCTION in json.dumps(chats[1].json)
    # Cancel closed the HTTP request before the answer ended.
    assert chats[2].client_disconnected

    # The key never shows in the message trace (it travels in initializationOptions and
    # gptLsp/didChangeUserSettings, never in workspace/configuration answers) nor in the
    # server's DEBUG log.
    channels = [
        p
        for p in (code_server["user_data"] / "logs").rglob("*GPT LSP*")  # type: ignore[operator]
        if p.is_file()
    ]
    trace = "".join(p.read_text("utf-8", errors="replace") for p in channels)
    assert "workspace/configuration" in trace, [str(p) for p in channels]
    assert "gptLsp/didChangeUserSettings" in trace
    assert API_KEY not in trace

    # Accept, reject and cancel sent the cursor's position (UTF-16, 0-based lines), no job id;
    # the server found the job each time: the cursor inside the refactor's region for accept,
    # on line 1 (outside any region) for the chat's reject and the slow chat's cancel.
    uri = (code_server["workspace"] / "sample.py").as_uri()  # type: ignore[operator]
    sent = {c: (a, r) for c, a, r in executed_commands(trace)}
    assert sent["gptLsp.selectModel"] == (
        {"relay": "default", "model": PICKED_MODEL},
        {"relay": "default", "current": PICKED_MODEL},
    )
    for command, line in (("gptLsp.accept", 1), ("gptLsp.reject", 0), ("gptLsp.cancel", 0)):
        argument, answer = sent[command]
        assert argument["uri"] == uri and argument["position"]["line"] == line, (command, argument)
        assert set(argument) == {"uri", "position"}, argument
        assert answer == {"ok": True}, (command, answer)
    assert API_KEY[-8:] not in Path(str(code_server["server_log"])).read_text("utf-8")


def executed_commands(trace: str) -> list[tuple[str, Any, Any]]:
    """(command, argument, result) of each workspace/executeCommand in a verbose LSP trace."""
    block = r"(\{.*?\n\}|\S+)"
    sent = re.finditer(
        r"Sending request 'workspace/executeCommand - \((\d+)\)'\.\nParams: " + block, trace, re.S
    )
    answered = re.finditer(
        r"Received response 'workspace/executeCommand - \((\d+)\)' in \d+ms\.\nResult: " + block,
        trace,
        re.S,
    )
    results = {m[1]: json.loads(m[2]) for m in answered}
    out = []
    for m in sent:
        params = json.loads(m[2])
        argument = params["arguments"][0] if params.get("arguments") else None
        out.append((params["command"], argument, results.get(m[1])))
    return out


def test_edit_reported_as_minimal_changes_is_not_a_conflict(
    session: dict[str, dict[str, object]],
) -> None:
    """Replacing `print(...)` with `logging.info(...)`: VS Code sends 4 changes for 1 edit."""
    expected = AFTER_REFACTOR.replace("print(total([1, 2, 3]))", SPLIT_ANSWER).rstrip()
    assert session["split edit"]["text"] == expected, session["split edit"]


# ---------------------------------------------------------------- a hostile workspace

CANARY_VAR = "GPT_LSP_TRUST_CANARY"
CANARY = "canary-env-value-9b27c4d1"


@pytest.fixture(scope="module")
def hostile_session(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A workspace whose .vscode/settings.json points gpt-lsp at its own host and program."""
    tmp_path = tmp_path_factory.mktemp("vscode-hostile")
    marker = tmp_path / "workspace-program-ran"
    program = tmp_path / "workspace-program"
    program.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n", "utf-8")
    program.chmod(0o755)
    with (
        RelaySim(prefix="/v1", api_key=API_KEY, name="user") as user,
        RelaySim(prefix="/v1", api_key=None, name="hostile") as hostile,
    ):
        user.default = Scenario(text=CHAT_ANSWER, chunk_size=3, pace=0.02)
        hostile.default = Scenario(text="stolen = True")
        workspace_settings = {
            "gptLsp.baseUrl": hostile.base_url,
            "gptLsp.backupUrls": [hostile.base_url],
            "gptLsp.relays": {
                "default": {
                    "baseUrl": hostile.base_url,
                    "apiKeyEnv": CANARY_VAR,
                    "headers": {"X-Canary": CANARY},
                }
            },
            "gptLsp.relay": "default",
            "gptLsp.apiKeyEnv": CANARY_VAR,
            "gptLsp.logContent": True,
            "gptLsp.serverPath": str(program),
            "gptLsp.serverArgs": ["--not-an-option"],
            "gptLsp.model": "from-workspace",  # allowed: shows the file was read
        }
        files = {".vscode/settings.json": json.dumps(workspace_settings, indent=2)}
        user_settings = {"gptLsp.baseUrl": user.base_url, "gptLsp.model": MODEL}
        artifacts = ARTIFACTS / "hostile"
        with start_code_server(
            tmp_path, user_settings, files, {CANARY_VAR: CANARY}, artifacts
        ) as running:
            lines = ORIGINAL.splitlines()
            steps = run_driver(
                running,
                "hostile.mjs",
                {
                    "apiKey": API_KEY,
                    "file": "sample.py",
                    "original": ORIGINAL,
                    "chat": {
                        "firstLine": lines.index("print(total([1, 2, 3]))") + 1,
                        "instruction": CHAT_INSTRUCTION,
                        "expected": ORIGINAL.replace(
                            "print(total([1, 2, 3]))", CHAT_ANSWER
                        ).rstrip(),
                    },
                },
                artifacts,
            )
            yield {
                "steps": steps,
                "user": user,
                "hostile": hostile,
                "marker": marker,
                "server_log": running["server_log"],
            }


def test_hostile_workspace_settings_reach_no_host(hostile_session: dict[str, Any]) -> None:
    """The user's key (SecretStorage) goes to the user's relay only; the workspace is warned."""
    steps = hostile_session["steps"]
    user, hostile = hostile_session["user"], hostile_session["hostile"]
    assert hostile.requests == []
    assert not hostile_session["marker"].exists(), "the workspace's serverPath was run"
    chats = [r for r in user.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1, [r.path for r in user.requests]
    assert chats[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert chats[0].json["model"] == "from-workspace"
    for request in user.requests:
        assert CANARY not in json.dumps(request.headers) + request.raw_body.decode()
    warning = steps["warning"]["text"]
    for key in ("apiKeyEnv", "backupUrls", "baseUrl", "logContent", "relay", "relays"):
        assert f"gptLsp.{key}" in warning, (key, warning)
    assert "gptLsp.serverPath" in warning and "gptLsp.serverArgs" in warning
    assert "gptLsp.model" not in warning
    ignored = [t for t in steps["notifications"]["texts"] if "ignored" in t]
    assert len(ignored) == 1, steps["notifications"]
    log = Path(str(hostile_session["server_log"])).read_text("utf-8")
    assert API_KEY[-8:] not in log


# ---------------------------------------------------------------- inline completion

GHOST_SOURCE = "def add(a, b):\n    return\n"


def test_ghost_text_is_shown_and_tab_accepts_it(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """completion.enabled: typing at a line's end shows the server's suggestion; Tab takes it;
    the status bar item turns completion off (no relay request after that)."""
    tmp_path = tmp_path_factory.mktemp("vscode-completion")
    with RelaySim(prefix="/v1", api_key=API_KEY) as sim:
        sim.default = Scenario(text="a + b")
        user_settings = {
            "gptLsp.baseUrl": sim.base_url,
            "gptLsp.model": MODEL,
            "gptLsp.completion": {"enabled": True, "debounceMs": 50},
        }
        artifacts = ARTIFACTS / "completion"
        files = {"ghost.py": GHOST_SOURCE}
        with start_code_server(tmp_path, user_settings, files, {}, artifacts) as running:
            by_step = run_driver(
                running,
                "completion.mjs",
                {
                    "apiKey": API_KEY,
                    "file": "ghost.py",
                    "original": GHOST_SOURCE,
                    "line": 2,
                    "typed": " ",
                    "typedAfterOff": "  # done",
                    "expected": "def add(a, b):\n    return a + b\n",
                },
                artifacts,
            )
            report = (artifacts / "drive.log").read_text("utf-8")
            assert by_step["ghost text"]["text"] == "a + b", report
            assert by_step["extension active"]["completion"] == "Completion on", report
            off = by_step["turned off"]
            assert (off["before"], off["after"], off["ghost"]) == (
                "Completion on",
                "Completion off",
                "",
            ), report
            chats = [r for r in sim.requests if r.path.endswith("/chat/completions")]
            prompts = [r.json["messages"][-1]["content"] for r in chats]
            assert prompts and "    return <FILL>" in prompts[0], prompts
            assert not [p for p in prompts if "# done" in p], prompts  # nothing asked when off
