"""The command line as a user runs it: `python -m gpt_lsp ...` in a subprocess, in an environment
of its own, with a canary key that must never be printed (shared by the e2e tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.editor import REPO
from tests.relay_sim import RelaySim

# Letters only, so no 8-character piece of it can turn up by chance in timings or request ids.
CANARY = "sk-canary-QwErTyUiOpAsDfGhJkLzXcVb"
PROCESS_TIMEOUT = 30.0


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no relay settings, proxies or user config of the machine's own."""
    dropped = ("GPT_LSP_", "OPENAI_")
    # The machine's own language too: reports are read in English unless a test sets LANG.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(dropped)
        and not k.lower().endswith("_proxy")
        and k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")
    }
    env["LANG"] = "C.UTF-8"
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Runs `python -m gpt_lsp ARGS` and returns what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "gpt_lsp", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=PROCESS_TIMEOUT,
        check=False,
    )


def assert_no_key(proc: subprocess.CompletedProcess[str], *keys: str) -> None:
    """Neither output holds a key, or any 8-character piece of one."""
    keys = keys or (CANARY,)
    for key in keys:
        for stream in (proc.stdout, proc.stderr):
            assert key not in stream
            for start in range(len(key) - 7):
                assert key[start : start + 8] not in stream, "part of the API key was printed"


def one_line(stderr: str) -> str:
    """The single line a failed check prints."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def env_for(tmp_path: Path, sim: RelaySim, key: str = CANARY, **extra: str) -> dict[str, str]:
    """Settings by environment variables only."""
    return isolated_env(
        tmp_path,
        GPT_LSP_BASE_URL=sim.base_url,
        GPT_LSP_API_KEY=key,
        GPT_LSP_CONFIG=os.devnull,
        **extra,
    )


def cli_in_repo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Runs `python -m gpt_lsp ARGS` from the repository's root, as `gpt-lsp usage` is run."""
    return subprocess.run(
        [sys.executable, "-m", "gpt_lsp", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


ROW = re.compile(r"^([a-z ]+):\s+(.*)$")


def rows(stdout: str) -> dict[str, str]:
    """The `label: value` rows of a check report."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        match = ROW.match(line)
        assert match, f"unexpected line in the report: {line!r}"
        out[match.group(1)] = match.group(2)
    return out
