"""`python -m gpt_lsp check` and the stdio process, run as real subprocesses against simulators."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from gpt_lsp import __version__
from tests.conftest import RelaySimFactory
from tests.e2e.cli import (
    CANARY,
    PROCESS_TIMEOUT,
    assert_no_key,
    env_for,
    isolated_env,
    one_line,
    rows,
    run_cli,
)
from tests.relay_sim import (
    DEFAULT_MODELS,
    INVALID_TOKEN,
    MODEL_DENIED,
    MSG_INVALID_TOKEN,
    MSG_MODEL_DENIED,
    MSG_QUOTA_EXHAUSTED,
    MSG_TOKEN_EXPIRED,
    MSG_USER_QUOTA,
    QUOTA_EXHAUSTED,
    TOKEN_EXPIRED,
    USER_QUOTA,
    RelaySim,
    Scenario,
)

WRONG_KEY = "sk-canary-MnBvCxZlKjHgFdSaPoIuYtRe"
COMMANDS = ("gptLsp.run", "gptLsp.chat", "gptLsp.accept", "gptLsp.reject", "gptLsp.cancel")


def write_config(path: Path, text: str) -> Path:
    """Writes a config.toml, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def closed_port() -> int:
    """Returns a local port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def sim(relay_sim_factory: RelaySimFactory) -> RelaySim:
    """A simulator that wants the canary key."""
    return relay_sim_factory(api_key=CANARY, name="main")


# ---------------------------------------------------------------- success


def test_check_by_environment(tmp_path: Path, sim: RelaySim) -> None:
    sim.default = Scenario(text="OK", prompt_tokens=12, completion_tokens=3)
    sim.balance_usd, sim.used_usd = 7.5, 2.5
    proc = run_cli(env_for(tmp_path, sim, GPT_LSP_MODEL="gpt-4"), "check")
    assert proc.returncode == 0, proc.stderr
    report = rows(proc.stdout)
    assert report["relay"] == "default"
    assert report["url"] == sim.chat_url
    assert report["model"] == "gpt-4"
    assert report["answer"] == "OK"
    assert re.fullmatch(r"\d+ ms", report["first token"])
    assert re.fullmatch(r"\d+ ms", report["total"])
    assert int(report["first token"].split()[0]) <= int(report["total"].split()[0])
    assert report["usage"] == "12 prompt + 3 completion tokens (reported by the relay)"
    assert report["models"] == ", ".join(sorted(DEFAULT_MODELS))
    assert report["balance"] == "$7.50 left (3,750,000 quota) of $10.00 (5,000,000 quota)"
    assert proc.stderr == ""
    assert_no_key(proc)
    chat = [r for r in sim.requests if r.path == "/v1/chat/completions"]
    assert len(chat) == 1
    assert chat[0].json["model"] == "gpt-4" and chat[0].json["stream"] is True


def test_check_by_openai_variables(tmp_path: Path, sim: RelaySim) -> None:
    env = isolated_env(
        tmp_path,
        OPENAI_BASE_URL=sim.base_url,
        OPENAI_API_KEY=CANARY,
        GPT_LSP_CONFIG=os.devnull,
    )
    proc = run_cli(env, "check")
    assert proc.returncode == 0, proc.stderr
    assert rows(proc.stdout)["url"] == sim.chat_url
    assert_no_key(proc)


def test_check_by_config_file_reports_the_backup_url(
    tmp_path: Path, relay_sim_factory: RelaySimFactory
) -> None:
    primary = relay_sim_factory(api_key=CANARY, name="primary")
    primary.default = Scenario(html_status=524)
    backup = relay_sim_factory(api_key=CANARY, name="backup")
    backup.models = ["only-on-the-backup"]
    # The user's own config dir ($XDG_CONFIG_HOME/gpt-lsp/config.toml), camelCase keys.
    write_config(
        tmp_path / "config" / "gpt-lsp" / "config.toml",
        f"""
relay = "work"

[relays.work]
baseUrl = "{primary.base_url}/"
backupUrls = ["{backup.base_url}"]
apiKeyEnv = "WORK_RELAY_KEY"
model = "gpt-4-1106-preview"

[relays.other]
baseUrl = "http://127.0.0.1:{closed_port()}"
apiKey = "sk-other-not-used-here"
""",
    )
    proc = run_cli(isolated_env(tmp_path, WORK_RELAY_KEY=CANARY), "check")
    assert proc.returncode == 0, proc.stderr
    report = rows(proc.stdout)
    assert report["relay"] == "work"
    assert report["url"] == backup.chat_url + "  (backup host)"
    assert report["model"] == "gpt-4-1106-preview"
    assert report["models"] == "only-on-the-backup"  # extras come from the host that answered
    assert report["balance"].startswith("$10.00 left")
    assert [r.status for r in primary.requests] == [524]
    assert_no_key(proc, CANARY, "sk-other-not-used-here")


def test_check_relay_flag_and_path_prefix(
    tmp_path: Path, relay_sim_factory: RelaySimFactory
) -> None:
    first = relay_sim_factory(api_key=CANARY, name="first")
    paid = relay_sim_factory(api_key=CANARY, name="paid", prefix="/api/blog/v1")
    config = write_config(
        tmp_path / "elsewhere" / "gpt-lsp.toml",
        f"""
relay = "first"

[relays.first]
baseUrl = "{first.base_url}"
apiKey = "{CANARY}"

[relays.paid]
baseUrl = "{paid.base_url}/chat/completions"
apiKey = "{CANARY}"
model = "gpt-4"
""",
    )
    proc = run_cli(isolated_env(tmp_path, GPT_LSP_CONFIG=str(config)), "check", "--relay", "paid")
    assert proc.returncode == 0, proc.stderr
    report = rows(proc.stdout)
    assert report["relay"] == "paid"
    assert report["url"] == paid.origin + "/api/blog/v1/chat/completions"
    assert report["model"] == "gpt-4"
    assert "balance" in report  # one-api billing under the prefix, without /v1
    assert first.requests == []
    assert "/api/blog/dashboard/billing/subscription" in [r.path for r in paid.requests]
    assert_no_key(proc)


def test_check_with_a_named_model_the_relay_accepts_but_does_not_list(
    tmp_path: Path, sim: RelaySim
) -> None:
    env = env_for(tmp_path, sim)
    picked = rows(run_cli(env, "check").stdout)  # no model anywhere: one is picked and kept
    assert picked["model"] == "gpt-3.5-turbo  (picked from the relay's list: set `model` to choose)"
    proc = run_cli(env, "check", "--model", "nonexist")
    assert proc.returncode == 0, proc.stderr
    report = rows(proc.stdout)
    assert report["model"] == "nonexist  (named with --model; the relay accepted it)"
    assert report["warning"] == (
        "the relay's model list does not name nonexist: it took the name, but may answer "
        "(and bill) with another model"
    )
    assert "picked" not in proc.stdout  # the user named the model
    assert [r.json["model"] for r in sim.requests if r.json][-1] == "nonexist"
    listed = rows(run_cli(env, "check", "--model", "gpt-4").stdout)
    assert listed["model"] == "gpt-4  (named with --model; the relay accepted it)"
    assert "warning" not in listed
    assert_no_key(proc)


def test_check_without_models_or_billing_endpoints(tmp_path: Path, sim: RelaySim) -> None:
    sim.models = None
    sim.balance_usd = None
    proc = run_cli(env_for(tmp_path, sim), "check")
    assert proc.returncode == 0, proc.stderr
    report = rows(proc.stdout)
    assert report["url"] == sim.chat_url
    assert "models" not in report and "balance" not in report
    assert proc.stderr == ""
    assert_no_key(proc)


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("scenario", "message", "advice"),
    [
        (INVALID_TOKEN, MSG_INVALID_TOKEN, "Check the API key"),
        (TOKEN_EXPIRED, MSG_TOKEN_EXPIRED, "Check the API key"),
        (QUOTA_EXHAUSTED, MSG_QUOTA_EXHAUSTED, "Top up"),
        (USER_QUOTA, MSG_USER_QUOTA, "Top up"),
        (MODEL_DENIED, MSG_MODEL_DENIED.replace("{model}", "gpt-3.5-turbo"), "Choose a model"),
    ],
    ids=["INVALID_TOKEN", "TOKEN_EXPIRED", "QUOTA_EXHAUSTED", "USER_QUOTA", "MODEL_DENIED"],
)
def test_check_relay_refuses(
    tmp_path: Path, sim: RelaySim, scenario: Scenario, message: str, advice: str
) -> None:
    sim.default = scenario
    proc = run_cli(env_for(tmp_path, sim), "check")
    assert proc.returncode == 1
    assert proc.stdout == ""
    line = one_line(proc.stderr)
    assert message in line  # the relay's own words, verbatim
    assert f"HTTP {scenario.status}" in line
    assert advice in line
    assert f"127.0.0.1:{sim.port}" in line
    assert_no_key(proc)


def test_check_model_denied_lists_the_models(tmp_path: Path, sim: RelaySim) -> None:
    sim.default = MODEL_DENIED
    sim.models = ["gpt-4o-mini", "deepseek-chat"]
    proc = run_cli(env_for(tmp_path, sim, GPT_LSP_MODEL="gpt-4"), "check")
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert MSG_MODEL_DENIED.replace("{model}", "gpt-4") in line
    assert "deepseek-chat, gpt-4o-mini" in line  # the hint says check lists them: it does
    assert_no_key(proc)


def test_check_wrong_key(tmp_path: Path, sim: RelaySim) -> None:
    proc = run_cli(env_for(tmp_path, sim, key=WRONG_KEY), "check")
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert MSG_INVALID_TOKEN in line and "GPT_LSP_API_KEY" in line
    assert_no_key(proc, CANARY, WRONG_KEY)


def test_check_unreachable_host(tmp_path: Path) -> None:
    port = closed_port()
    env = isolated_env(
        tmp_path,
        GPT_LSP_BASE_URL=f"http://127.0.0.1:{port}/v1",
        GPT_LSP_API_KEY=CANARY,
        GPT_LSP_CONFIG=os.devnull,
    )
    proc = run_cli(env, "check")
    assert proc.returncode == 1
    assert proc.stdout == ""
    line = one_line(proc.stderr)
    assert f"127.0.0.1:{port}" in line and "cannot connect" in line and "baseUrl" in line
    assert_no_key(proc)


def test_check_without_any_relay(tmp_path: Path) -> None:
    proc = run_cli(isolated_env(tmp_path), "check")
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = one_line(proc.stderr)
    assert "No relay configured" in line and "GPT_LSP_BASE_URL" in line


def test_check_unknown_relay_name(tmp_path: Path, sim: RelaySim) -> None:
    proc = run_cli(env_for(tmp_path, sim), "check", "--relay", "nope")
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "'nope'" in line and "default" in line
    assert sim.requests == []
    assert_no_key(proc)


def test_check_missing_key_env(tmp_path: Path, sim: RelaySim) -> None:
    config = write_config(
        tmp_path / "c.toml",
        f'[relays.main]\nbaseUrl = "{sim.base_url}"\napiKeyEnv = "MISSING_RELAY_KEY"\n',
    )
    proc = run_cli(isolated_env(tmp_path, GPT_LSP_CONFIG=str(config)), "check")
    assert proc.returncode == 2
    assert "MISSING_RELAY_KEY" in one_line(proc.stderr)
    assert sim.requests == []


# ---------------------------------------------------------------- the LSP process


def test_version(tmp_path: Path) -> None:
    proc = run_cli(isolated_env(tmp_path), "--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"gpt-lsp {__version__}"


async def test_server_answers_initialize_over_stdio(tmp_path: Path) -> None:
    client = make_test_lsp_client()
    env = isolated_env(tmp_path, GPT_LSP_CONFIG=os.devnull)
    await client.start_io(sys.executable, "-m", "gpt_lsp", env=env)
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
            ),
            15,
        )
        assert result.server_info is not None
        assert result.server_info.name == "gpt-lsp"
        assert result.server_info.version == __version__
        provider = result.capabilities.execute_command_provider
        assert provider is not None
        assert set(COMMANDS) | {"gptLsp.status"} <= set(provider.commands)
        status = await asyncio.wait_for(
            client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="gptLsp.status", arguments=[])
            ),
            15,
        )
        assert status["version"] == __version__
        assert "internal" not in status  # resource counts only with --debug
        await asyncio.wait_for(client.shutdown_session(), 15)
    finally:
        await client.stop()


def frame(message: dict[str, object]) -> bytes:
    """One LSP base-protocol frame."""
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def parse_frames(data: bytes) -> list[dict[str, object]]:
    """Splits stdout into frames; fails on anything that is not a frame."""
    messages: list[dict[str, object]] = []
    rest = data
    while rest:
        head, sep, rest = rest.partition(b"\r\n\r\n")
        assert sep, f"bytes outside an LSP frame: {head[:200]!r}"
        fields = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n") if line)
        assert set(fields) <= {"Content-Length", "Content-Type"}, head
        length = int(fields["Content-Length"])
        body, rest = rest[:length], rest[length:]
        assert len(body) == length
        messages.append(json.loads(body))
    return messages


def test_stdout_carries_only_lsp_frames(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, GPT_LSP_CONFIG=os.devnull)
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "gpt_lsp", "--log-level", "DEBUG"],
        input=b"".join(frame(r) for r in requests),
        env=env,
        capture_output=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert proc.stdout.startswith(b"Content-Length:")
    messages = parse_frames(proc.stdout)
    answers = {m.get("id"): m for m in messages if "id" in m and "method" not in m}
    initialize = answers[1]["result"]
    assert isinstance(initialize, dict)
    assert initialize["serverInfo"]["name"] == "gpt-lsp"
    assert "result" in answers[2]  # shutdown answered
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
