"""Batch Emacs 28 with eglot 1.9 and editors/emacs/gpt-lsp.el against the real server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_API_KEY, RelaySimFactory
from tests.editors.runner import (
    HERE,
    REPO,
    Run,
    describe,
    find_editor,
    relay_settings,
    run_editor,
    server_cmd,
)
from tests.relay_sim import RelaySim, Scenario

pytestmark = pytest.mark.editor

SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
NEW_FUNC = "def add(a: int, b: int) -> int:\n    return a + b\n"
SHORT_FUNC = "def add(a, b):\n    return a + b\n"
EGLOT = Path("/usr/share/emacs/site-lisp/elpa")


@pytest.fixture(scope="module")
def emacs() -> str:
    """The emacs executable, with Debian's eglot (apt-get install emacs-nox elpa-eglot)."""
    found = find_editor("emacs", "apt-get install -y emacs-nox elpa-eglot")
    if not any(EGLOT.glob("eglot-*")):
        find_editor("eglot-is-missing", "apt-get install -y elpa-eglot")
    return found


def run_emacs(emacs: str, script: str, tmp_path: Path, settings: dict[str, Any], **cfg: Any) -> Run:
    """Runs tests/editors/emacs/SCRIPT in batch Emacs with a JSON config; returns its run."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    out = tmp_path / "result.json"
    log_file = tmp_path / "server.log"
    config = {
        "shim_dir": str(REPO / "editors" / "emacs"),
        "cmd": server_cmd(log_file),
        "settings": settings,
        "workdir": str(work),
        "out": str(out),
        **cfg,
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), "utf-8")
    argv = [emacs, "--batch", "-Q", "-l", str(HERE / "emacs" / script), str(config_file)]
    return run_editor(argv, tmp_path, out, log_file, timeout=60, cwd=work)


CHAT_LINE = "print(add(1, 2))"
CHAT_ANSWER = "print('sum:', add(1, 2))"


def test_refactor_chat_and_action_by_position(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(
        # 1.5 s of answer: eglot's didChange comes every 0.5 s, so several edits land.
        Scenario(text=f"```python\n{NEW_FUNC}```\n", chunk_size=1, pace=0.03),
        Scenario(text=CHAT_ANSWER, chunk_size=4, pace=0.01),
        Scenario(text="x = 1\n" * 100, chunk_size=2, pace=0.05),  # cancelled long before its end
    )
    run = run_emacs(
        emacs,
        "refactor.el",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        func=FUNC,
        chat_line=SOURCE.splitlines().index(CHAT_LINE) + 1,
        instruction="label the sum",
    )
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["class"] == "gpt-lsp-server"
    assert "AI: Refactor" in result["offered"]
    assert result["job"], describe(run)
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert result["changes"] >= 2, describe(run)  # streamed, not one edit at the end
    # The echo area showed the server's summary line as is.
    assert result["summary"].startswith("AI: Refactor: done, "), result["summary"]
    assert result["summary_seen"] == result["summary"]
    # M-x gpt-lsp-select-model offered the relay's /models and sent the pick.
    assert result["model_prompt"] == "Model (now gpt-4): ", result["model_prompt"]
    assert "claude-3-opus-20240229" in result["model_items"], result["model_items"]
    assert result["select_model"]["argument"] == {"model": "claude-3-opus-20240229"}
    assert result["select_model"]["result"]["current"] == "claude-3-opus-20240229"
    # M-x gpt-lsp-status: the picked model, no running job, and the ledger's spend.
    status = result["status_message"].splitlines()
    assert (
        status[1] == f"relay default (default): {relay_sim.base_url}, model claude-3-opus-20240229"
    )
    assert status[2] == "jobs: none running", status
    spent = len([r for r in relay_sim.requests if r.path.endswith("/chat/completions")])
    # No prices set: every request is named as not in the cost.
    wanted = rf"today: \$0\.0000, {spent} requests, \d+ tokens, {spent} without a price \(.*\)"
    assert re.fullmatch(wanted, status[3]), status
    assert status[4] == status[3].replace("today", "this month"), status
    # Reject with point inside the region sends the position (eglot's UTF-16), no job id.
    uri = (tmp_path / "work" / "app.py").as_uri()
    reject = result["reject"]
    assert reject["argument"] == {"uri": uri, "position": {"line": 3, "character": 16}}
    assert reject["result"] == {"ok": True}
    assert result["rejected"] == SOURCE
    # Accept with point on line 1, outside the chat's region: the buffer's most recent job.
    chatted = SOURCE.replace(CHAT_LINE, CHAT_ANSWER)
    assert result["chat_status"] == "done" and result["chatted"] == chatted
    assert result["accept"] == {
        "argument": {"uri": uri, "position": {"line": 0, "character": 0}},
        "result": {"ok": True},
    }
    assert result["reject_again"]["result"] == {"ok": False}
    assert "no AI job to reject" in result["reject_again_message"]
    assert result["after_accept"] == chatted
    # M-x gpt-lsp-action offers the server's titles and sends the picked action's id.
    assert result["action_titles"] == ["AI: Refactor", "AI: Fix", "AI: Document", "AI: Explain"]
    assert result["action_run"]["argument"]["action"] == "refactor"
    # Cancel with point outside the running job's region stops it; its summary is shown.
    assert result["cancel"]["argument"]["position"] == {"line": 0, "character": 0}
    assert result["cancel"]["result"] == {"ok": True}
    assert result["cancel_status"] == "cancelled"
    assert result["cancel_summary"].startswith("AI: Refactor: cancelled, ")
    assert result["cancel_seen"] == result["cancel_summary"]
    assert result["after_cancel"] == chatted
    assert relay_sim.requests[2].client_disconnected
    # The settings reached the server (initializationOptions / workspace/configuration).
    assert relay_sim.requests and relay_sim.requests[0].json["model"] == "gpt-4"


CANARY_VAR = "GPT_LSP_TRUST_CANARY"
CANARY = "canary-env-value-5e81d0c2"


def test_dir_locals_cannot_choose_the_relay(
    emacs: str, tmp_path: Path, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    # A cloned project's .dir-locals.el names its own host, the user's relay name under
    # relays and a variable to read the key from; the user accepts its local variables.
    hostile = relay_sim_factory(name="hostile", api_key=None)
    hostile.default = Scenario(text=f"```python\n{NEW_FUNC}```\n")
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n")
    work = tmp_path / "work"
    work.mkdir()
    section = (
        f'(:baseUrl "{hostile.base_url}" :apiKeyEnv "{CANARY_VAR}" :model "from-dir-locals"'
        f' :relays (:default (:baseUrl "{hostile.base_url}" :apiKeyEnv "{CANARY_VAR}")))'
    )
    # It also sets the shim's own variable: only its global value may count.
    shim = f'(:baseUrl "{hostile.base_url}" :apiKeyEnv "{CANARY_VAR}")'
    (work / ".dir-locals.el").write_text(
        f"((nil . ((eglot-workspace-configuration . (:gptLsp {section}))\n"
        f"         (gpt-lsp-settings . {shim}))))\n",
        "utf-8",
    )
    out = tmp_path / "result.json"
    log_file = tmp_path / "server.log"
    config = {
        "shim_dir": str(REPO / "editors" / "emacs"),
        "cmd": server_cmd(log_file),
        "settings": relay_settings(relay_sim),
        "workdir": str(work),
        "out": str(out),
        "source": SOURCE,
        "func": FUNC,
        "canary_var": CANARY_VAR,
        "canary": CANARY,
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), "utf-8")
    argv = [emacs, "--batch", "-Q", "-l", str(HERE / "emacs" / "dir_locals.el"), str(config_file)]
    run = run_editor(argv, tmp_path, out, log_file, timeout=60, cwd=work)
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["local_settings"] is True and result["local_config"] is True, describe(run)
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert hostile.requests == [], describe(run)
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1, describe(run)
    assert chats[0].headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert chats[0].json["model"] == "from-dir-locals"  # the section was read
    for request in relay_sim.requests:
        assert CANARY not in json.dumps(request.headers) + request.raw_body.decode()
    warnings = [m for m in result["messages"] if "ignored" in m]
    assert len(warnings) == 1, result["messages"]
    assert "apiKeyEnv, baseUrl, relays from the workspace/project settings" in warnings[0]


def test_a_user_budget_is_user_level_and_holds(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    # $1.20 for the first job (100 + 20 tokens at $10,000 per 1M): over the $1 cap.
    relay_sim.default = Scenario(
        text=f"```python\n{NEW_FUNC}```\n", prompt_tokens=100, completion_tokens=20
    )
    prices = {"gpt-4": {"input": 10000, "output": 10000}}
    user = {
        **relay_settings(relay_sim),
        "relays": {"default": {"baseUrl": relay_sim.base_url, "prices": prices}},
        "budget": {"dailyUsd": 1.0},
    }
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "app.py").write_text(SOURCE, "utf-8")
    run = run_emacs(emacs, "budget.el", tmp_path, user, func=FUNC, new_func=NEW_FUNC)
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["first"] == "done", describe(run)
    # The section leaves the budget out: the server has nothing to ignore, and says nothing.
    assert "budget" not in result["section"], describe(run)
    assert not [m for m in result["messages"] if "ignored" in m], describe(run)
    # The user's cap holds: the second job is refused and the relay sees nothing of it.
    assert "Spending cap reached" in result["refused"], describe(run)
    assert "budget.dailyUsd" in result["refused"], describe(run)
    assert result["started"] == 1, describe(run)
    assert len([r for r in relay_sim.requests if r.path.endswith("/chat/completions")]) == 1


def test_pending_edit_one_undo_and_reject_at_point(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    # Many pieces 20 ms apart, with an undo boundary every 50 ms: many undo steps, unless the
    # shim joins a job's edits into one change group.
    relay_sim.enqueue(
        Scenario(text=NEW_FUNC, chunk_size=1, pace=0.02),
        Scenario(text=NEW_FUNC, chunk_size=3, pace=0.01),
        Scenario(text=SHORT_FUNC, chunk_size=3, pace=0.01),
    )
    run = run_emacs(
        emacs,
        "review.el",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        func=FUNC,
        instruction="make it shorter",
        refined=SOURCE.replace(FUNC, SHORT_FUNC),
    )
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["pending_text"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert result["before_string"] == FUNC and result["region"] == NEW_FUNC, describe(run)
    assert result["face"] == "gpt-lsp-new" and result["keys"] == "C-c C-k"
    assert result["offered"][:2] == ["AI: Accept edit", "AI: Reject edit"], result["offered"]
    assert result["after_undo"] == SOURCE, describe(run)
    assert result["refine_prompt"] == "AI (follow-up): "
    assert set(result["refine"]["argument"]) == {"uri", "position", "instruction"}
    messages = relay_sim.requests[2].json["messages"]
    assert messages[-2] == {"role": "assistant", "content": NEW_FUNC}
    assert "make it shorter" in messages[-1]["content"]
    assert result["rejected"] == SOURCE


def test_one_undo_step_per_job_keeps_the_users_typing(emacs: str, tmp_path: Path) -> None:
    # gpt-lsp-undo.el without a server: job edits and typing interleaved, one undo step per
    # job (every turn), the user's changes kept and still undoable, two jobs at once.
    out = tmp_path / "result.json"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"shim_dir": str(REPO / "editors" / "emacs"), "out": str(out)}))
    argv = [emacs, "--batch", "-Q", "-l", str(HERE / "emacs" / "undo.el"), str(config)]
    run = run_editor(argv, tmp_path, out, tmp_path / "no-server.log", timeout=60)
    assert run.result == {"ok": True, "total": 5, "failed": 0}, describe(run)


def test_the_ai_suggestion_is_a_completion_candidate_in_eglot(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    # eglot 1.9 declares no inline completion: the suggestion comes as one completion item.
    relay_sim.default = Scenario(text="a + b")
    source = "def add(a, b):\n    return \n"
    settings = {**relay_settings(relay_sim), "completion": {"enabled": True, "debounceMs": 0}}
    run = run_emacs(
        emacs,
        "completion.el",
        tmp_path,
        settings,
        source=source,
        before_cursor="    return ",
    )
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert "AI: a + b" in result["candidates"], describe(run)
    assert result["final"] == "def add(a, b):\n    return a + b\n", describe(run)
    assert len([r for r in relay_sim.requests if r.path.endswith("/chat/completions")]) == 1


# The flow matrix (issue 18): each flow drives Emacs as a user does, through the command loop.

TOTAL = (
    "def total(items: list[int]) -> int:\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result = result + item\n"
    "    return result\n"
)
FLOW_SOURCE = f"import os\n\n\n{TOTAL}\n\nprint(total([1, 2, 3]))\n"
SUM = "def total(items: list[int]) -> int:\n    return sum(items)\n"
LOOP = "def total(items: list[int]) -> int:\n    return sum(item for item in items)\n"
EXPLANATION = "It adds the items one by one and returns the sum."


def run_flow(
    emacs: str,
    tmp_path: Path,
    relay_sim: RelaySim,
    flow: str,
    *,
    git: bool = False,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Runs flows.el's FLOW on FLOW_SOURCE in app.py; returns the result, checked OK."""
    work = tmp_path / "work"
    work.mkdir()
    if git:
        (work / ".git").mkdir()  # a project.el (VC) project rooted here
    (work / "app.py").write_text(FLOW_SOURCE, "utf-8")
    run = run_emacs(
        emacs,
        "flows.el",
        tmp_path,
        {**relay_settings(relay_sim), **(settings or {})},
        flow=flow,
        file="app.py",
        source=FLOW_SOURCE,
        func=TOTAL,
        answer=EXPLANATION,
        instruction="make it shorter",
        follow_up="use a generator",
    )
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["prompts"] == [], result["prompts"]  # no y-or-n-p on the way
    result["describe"] = describe(run)
    return result


@pytest.mark.parametrize("git", [True, False], ids=["root-marker", "no-root-marker"])
def test_flow_explain_opens_the_notes_beside_the_code(
    emacs: str, tmp_path: Path, relay_sim: RelaySim, git: bool
) -> None:
    relay_sim.default = Scenario(text=EXPLANATION, chunk_size=6, pace=0.02)
    result = run_flow(emacs, tmp_path, relay_sim, "explain", git=git)
    assert result["status"] == "done", result["describe"]
    assert result["notes_uri"], result["describe"]
    # The notes document opened in another window, the code's window still selected; the
    # same server serves it (no second server, no prompt), and the answer is in it.
    assert result["notes_shown"] is True and result["source_window_selected"] is True
    assert result["notes_managed"] is True and result["notes_same_server"] is True
    assert result["servers"] == 1, result["describe"]
    assert EXPLANATION in result["notes_text"], result["describe"]
    assert result["finished_text"] is None  # not only a message that flashes by
    assert EXPLANATION not in (result["echo"] or ""), result["echo"]
    assert result["source_text"] == FLOW_SOURCE


def test_flow_typing_above_and_below_a_running_job_then_one_undo(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    # About 3 s of answer: the user types while it streams.
    relay_sim.default = Scenario(text=SUM, chunk_size=1, pace=0.05)
    result = run_flow(emacs, tmp_path, relay_sim, "typing")
    typed = FLOW_SOURCE.replace("import os\n\n", "import os\nx = 0\n", 1) + "y = 1\n"
    assert result["typed_while_running"] is True, result["describe"]
    assert result["pending_text"] == typed.replace(TOTAL, SUM), result["describe"]
    # One undo: the function as it was, the typed lines kept; the server ends it undone.
    assert result["after_undo"] == typed, result["describe"]
    assert result["outcome"] == "undone", result["describe"]
    assert result["final"] == typed
    # No eglot message at each streamed batch (each one clears the echo area).
    assert result["eglot_messages"] == [], result["eglot_messages"]


def test_flow_chat_on_an_active_region_then_one_undo(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text=SUM, chunk_size=3, pace=0.02)
    result = run_flow(emacs, tmp_path, relay_sim, "region")
    assert result["pending_text"] == FLOW_SOURCE.replace(TOTAL, SUM), result["describe"]
    assert not result["region_active"]  # a plain undo, not an undo in region
    assert result["after_undo"] == FLOW_SOURCE, result["describe"]
    assert result["outcome"] == "undone", result["describe"]


def test_flow_follow_up_then_one_undo(emacs: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    relay_sim.enqueue(
        Scenario(text=SUM, chunk_size=3, pace=0.02),
        Scenario(text=LOOP, chunk_size=3, pace=0.02),
    )
    result = run_flow(emacs, tmp_path, relay_sim, "follow_up")
    assert result["first_text"] == FLOW_SOURCE.replace(TOTAL, SUM), result["describe"]
    assert result["follow_up_prompt"] == "AI (follow-up): "
    assert result["pending_text"] == FLOW_SOURCE.replace(TOTAL, LOOP), result["describe"]
    # One undo takes back both turns: the text from before the first.
    assert result["after_undo"] == FLOW_SOURCE, result["describe"]
    assert result["outcome"] == "undone", result["describe"]


def test_flow_bare_cursor_on_code_works_on_the_function(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text=SUM, chunk_size=3, pace=0.02)
    result = run_flow(emacs, tmp_path, relay_sim, "bare_cursor")
    assert "AI: Refactor total" in result["offered"], result["offered"]
    assert "AI: Refactor" not in result["offered"], result["offered"]  # no selection actions
    assert result["pending_text"] == FLOW_SOURCE.replace(TOTAL, SUM), result["describe"]
    # M-x gpt-lsp-action sends the cursor (an empty range); the server takes the function.
    cursor = result["action_run"]["argument"]["range"]
    assert cursor["start"] == cursor["end"] == {"line": 6, "character": 10}, cursor
    assert result["action_text"] == FLOW_SOURCE.replace(TOTAL, SUM), result["describe"]


def test_flow_a_failed_job_keeps_its_reason_readable(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    reason = "model gpt-4 is not available on this channel"
    relay_sim.default = Scenario(status=400, error_message=reason, one_api_request_id=False)
    result = run_flow(emacs, tmp_path, relay_sim, "failed", settings={"language": "zh"})
    assert result["status"] == "failed", result["describe"]
    assert result["final"] == FLOW_SOURCE
    # The last thing the echo area shows names the relay's reason, with the summary.
    assert reason in result["echo"], result["messages"]
    assert result["summary"] in result["echo"], result["messages"]


def test_the_shims_own_words_follow_the_ui_language(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text=SUM, chunk_size=3, pace=0.02)
    result = run_flow(emacs, tmp_path, relay_sim, "chinese", settings={"language": "zh"})
    assert result["chat_prompt"] == "AI：", result["describe"]
    assert result["refine_prompt"] == "AI（追问）："
    assert result["action_prompt"] == "AI 操作: "
    assert result["model_prompt"] == "模型（当前 gpt-4）："
    assert result["model_echo"] == "gpt-lsp: 中转站 default：gpt-4"
    status = result["status_echo"].splitlines()
    assert status[1].startswith("中转站 default"), status
    assert "光标处和这个缓冲区里都没有可拒绝的 AI 任务" in result["no_job_echo"]


CHATDOC_SOURCE = "import os\n\ndef total(items):\n    return sum(items)\n\nprint(1)\n"
CHATDOC_FUNC = "def total(items):\n    return sum(items)\n"
CHATDOC_ANSWER = (
    "A generator:\n\n```python\ndef total(items):\n    return sum(i for i in items)\n```\n"
)


def test_a_chat_document_open_reply_apply_reject(
    emacs: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text=CHATDOC_ANSWER, chunk_size=4, pace=0.01))
    relay_sim.default = Scenario(text="It is fast enough.", chunk_size=3)
    run = run_emacs(
        emacs,
        "chat.el",
        tmp_path,
        relay_settings(relay_sim),
        source=CHATDOC_SOURCE,
        func=CHATDOC_FUNC,
    )
    result = run.result
    assert result.get("ok") is True, describe(run)
    first = result["first"]
    assert first.startswith("<!-- gpt-lsp chat") and result["chat_mode"] is True
    assert result["chat_selected"] is True and result["point_under_heading"] is True, describe(run)
    assert "```python\ndef total(items):\n    return sum(items)\n```\n\nWhy sum?\n" in first
    assert "\n## AI · gpt-4 · " in first and CHATDOC_ANSWER.strip() in first, describe(run)
    assert "\n## You\nAnd speed?\n\n## AI · gpt-4" in result["second"], describe(run)
    assert [m["role"] for m in relay_sim.requests[1].json["messages"]][-2:] == [
        "assistant",
        "user",
    ]
    assert "AI: Apply to chat.py" in result["offered"], describe(run)
    assert result["applied"] == CHATDOC_SOURCE.replace("sum(items)", "sum(i for i in items)")
    assert result["rejected"] == CHATDOC_SOURCE
    assert result["chats"][0].startswith("Why sum?"), describe(run)
    assert len(relay_sim.requests) == 2  # applying the block asked nothing
