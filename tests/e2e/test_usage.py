"""The usage ledger end to end: jobs in a server process, `gpt-lsp usage` in another, and a
spending cap that stops requests before they reach the relay."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TEST_API_KEY as KEY
from tests.e2e.cli import cli_in_repo
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import server_env
from tests.relay_sim import RelaySim, Scenario

SOURCE = "def add(a, b):\n    return a+b\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
PRICES = {"default": {"prices": {"gpt-4": {"input": 10000, "output": 10000}}}}


def usage_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_in_repo(server_env(tmp_path), "usage", *args)


async def test_jobs_are_counted_by_gpt_lsp_usage(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    editor = await make_editor(relay_options(relay_sim, relays=PRICES))
    relay_sim.default = Scenario(
        text="def add(a, b):\n    return a + b\n", prompt_tokens=100, completion_tokens=20
    )
    uri = editor.open("u.py", SOURCE)
    for action in ("refactor", "document"):
        result = await editor.command("gptLsp.run", {"action": action, "uri": uri, "range": WHOLE})
        assert (await editor.wait_finished(result["jobId"]))["status"] == "done"
    status = await editor.command("gptLsp.status")
    assert status["usage"]["today"]["requests"] == 2
    report = usage_cli(tmp_path, "--by", "action", "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert {g["key"] for g in data["groups"]} == {"refactor", "document"}
    assert data["total"]["requests"] == 2
    assert data["total"]["promptTokens"] == 200 and data["total"]["completionTokens"] == 40
    assert abs(data["total"]["costUsd"] - 2.4) < 1e-6
    table = usage_cli(tmp_path, "--by", "model")
    assert table.returncode == 0
    assert "gpt-4" in table.stdout and "$2.4000" in table.stdout
    both = usage_cli(tmp_path)  # by default: per day, then per model
    assert "by day" in both.stdout and "by model" in both.stdout, both.stdout
    assert len(json.loads(usage_cli(tmp_path, "--json").stdout)) == 2
    assert "sk-" not in table.stdout + report.stdout  # nothing of the key, prompts or answers


async def test_a_reached_cap_refuses_and_the_relay_sees_nothing(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    options = relay_options(relay_sim, relays=PRICES, budget={"dailyUsd": 1.0})
    editor = await make_editor(options)
    relay_sim.default = Scenario(text="x = 1\n", prompt_tokens=100, completion_tokens=20)
    uri = editor.open("cap.py", SOURCE)
    result = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    await editor.wait_finished(result["jobId"])
    seen = len(relay_sim.requests)
    try:
        await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    except Exception as exc:  # noqa: BLE001 - the JSON-RPC error the client raises
        assert "Spending cap reached" in str(exc) and "budget.dailyUsd" in str(exc)
    else:
        raise AssertionError("the capped job started")
    assert len(relay_sim.requests) == seen


def test_usage_without_a_ledger_says_so(tmp_path: Path) -> None:
    report = usage_cli(tmp_path, "--days", "7")
    assert report.returncode == 0
    assert report.stdout.startswith("No usage yet: no relay request recorded since ")
    assert report.stdout.endswith(" (7 days).\n")
    assert report.stdout.count("\n") == 1  # one line, not an empty table per grouping
    assert json.loads(usage_cli(tmp_path, "--json").stdout)[0]["total"]["requests"] == 0
    assert usage_cli(tmp_path, "--days", "0").returncode == 2


async def test_a_second_server_uses_what_the_first_learned(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    relay_sim.default = Scenario(text="x = 1\n", reject_system_role=True)
    first = await make_editor(relay_options(relay_sim))
    uri = first.open("q.py", SOURCE)
    job = await first.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    assert (await first.wait_finished(job["jobId"]))["status"] == "done"
    assert len(relay_sim.requests) == 2  # rejected with the system role, then folded
    second = await make_editor(relay_options(relay_sim))
    uri = second.open("q2.py", SOURCE)
    job = await second.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    assert (await second.wait_finished(job["jobId"]))["status"] == "done"
    assert len(relay_sim.requests) == 3  # one request, folded from the start
    roles = {m["role"] for m in relay_sim.requests[2].json["messages"]}
    assert "system" not in roles
    env = server_env(tmp_path, {"GPT_LSP_BASE_URL": relay_sim.base_url, "GPT_LSP_API_KEY": KEY})
    check = await asyncio.to_thread(cli_in_repo, env, "check", "--model", "gpt-4")
    assert check.returncode == 0, check.stderr
    assert "known:       rejects the system role" in check.stdout
    relearn = await asyncio.to_thread(cli_in_repo, env, "check", "--model", "gpt-4", "--relearn")
    assert relearn.returncode == 0, relearn.stderr
    assert "forgotten; learning default afresh" in relearn.stdout
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 5  # one each: the check's prompt has no system role


@pytest.mark.parametrize(
    "prompt",
    [2**63, 10**30, float("nan"), float("inf"), -1_000_000],
    ids=["2**63", "10**30", "NaN", "Infinity", "negative"],
)
async def test_usage_a_relay_cannot_mean_is_estimated_and_the_job_ends_whole(
    make_editor: EditorFactory,
    relay_sim: RelaySim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prompt: float,
) -> None:
    log_file = tmp_path / "server.log"
    monkeypatch.setenv("GPT_LSP_TEST_SERVER_ARGS", f"--log-file {log_file}")
    editor = await make_editor(relay_options(relay_sim, relays=PRICES))
    relay_sim.default = Scenario(
        text="def add(a, b):\n    return a + b\n", prompt_tokens=prompt, completion_tokens=20
    )
    uri = editor.open("h.py", SOURCE)
    job = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    finished = await editor.wait_finished(job["jobId"], timeout=15)
    assert finished["status"] == "done", finished
    assert editor.text(uri) != SOURCE
    usage = finished["usage"]
    assert usage["estimated"] is True
    assert 0 < usage["promptTokens"] < 10_000, usage
    # The job wrote text and ended: the user's decision works.
    assert (await editor.command("gptLsp.reject", {"jobId": job["jobId"]}))["ok"]
    await editor.wait_until(lambda: editor.text(uri) == SOURCE, timeout=5)
    today = (await editor.command("gptLsp.status"))["usage"]["today"]
    assert today["requests"] == 1 and 0 < today["tokens"] < 10_000, today
    assert 0 < today["costUsd"] < 100, today  # 10,000 USD per 1M tokens: ~$1.5
    report = json.loads(usage_cli(tmp_path, "--json", "--by", "model").stdout)
    assert 0 < report["total"]["promptTokens"] < 10_000, report
    await editor.shutdown()
    log = log_file.read_text(encoding="utf-8")
    assert "sent unusable usage (prompt_tokens = " in log and "estimated instead" in log, log
    assert "Traceback" not in log
