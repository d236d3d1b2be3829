"""Running real editors (headless Neovim, batch Emacs) against the real server and simulator."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_API_KEY
from tests.e2e.editor import REPO, server_env
from tests.relay_sim import RelaySim

HERE = Path(__file__).resolve().parent


def find_editor(name: str, install_hint: str) -> str:
    """The editor's path; without it, fail under CI (it must be installed there), else skip."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return found
    reason = f"{name} not installed: .ci/run must install it ({install_hint})"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def relay_settings(sim: RelaySim) -> dict[str, Any]:
    """The settings object pointing the server at a simulator."""
    return {"baseUrl": sim.base_url, "apiKey": TEST_API_KEY, "model": "gpt-4"}


def server_cmd(log_file: Path) -> list[str]:
    """The real server, from this checkout, logging the LSP traffic for post-mortems."""
    return [
        sys.executable,
        "-m",
        "gpt_lsp",
        "--log-level",
        "DEBUG",
        "--log-file",
        str(log_file),
    ]


def editor_env(tmp: Path) -> dict[str, str]:
    """server_env plus the XDG dirs an editor writes to, all under tmp."""
    env = server_env(tmp)
    env["XDG_DATA_HOME"] = str(tmp / "data")
    env["HOME"] = str(tmp / "home")
    for key in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class Run:
    """What one editor run left behind."""

    result: dict[str, Any]
    stdout: str
    stderr: str
    server_log: str


def run_editor(
    argv: list[str], tmp: Path, out: Path, log_file: Path, timeout: float, cwd: Path | None = None
) -> Run:
    """Runs an editor in its own process group, bounded; kills the group on timeout.

    The result file is the OK marker: exit codes of headless editors are not trusted.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=editor_env(tmp),
        cwd=cwd or tmp,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=10)
        stderr += f"\n[killed after {timeout} s]"
    log = log_file.read_text("utf-8", "replace") if log_file.exists() else ""
    result = json.loads(out.read_text("utf-8")) if out.exists() else {}
    run = Run(result, stdout, stderr, log)
    assert out.exists(), f"no result file; {describe(run)}"
    return run


def describe(run: Run) -> str:
    """Enough to diagnose a failure: the result, the editor's output, the server log's tail."""
    return (
        f"result={json.dumps(run.result, ensure_ascii=False)[:4000]}\n"
        f"stdout={run.stdout[-2000:]}\nstderr={run.stderr[-2000:]}\n"
        f"server log tail:\n{run.server_log[-6000:]}"
    )


__all__ = ["HERE", "REPO", "Run", "describe", "find_editor", "relay_settings", "run_editor"]
