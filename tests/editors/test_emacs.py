"""Batch Emacs 28 with eglot 1.9 and editors/emacs/gpt-lsp.el against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.editors.runner import (
    HERE,
    REPO,
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
EGLOT = Path("/usr/share/emacs/site-lisp/elpa")


@pytest.fixture(scope="module")
def emacs() -> str:
    """The emacs executable, with Debian's eglot (apt-get install emacs-nox elpa-eglot)."""
    found = find_editor("emacs", "apt-get install -y emacs-nox elpa-eglot")
    if not any(EGLOT.glob("eglot-*")):
        find_editor("eglot-is-missing", "apt-get install -y elpa-eglot")
    return found


def test_refactor_code_action_streams_in(emacs: str, tmp_path: Path, relay_sim: RelaySim) -> None:
    # 1.5 s of answer: eglot's didChange comes every 0.5 s, so several edits land.
    relay_sim.default = Scenario(text=f"```python\n{NEW_FUNC}```\n", chunk_size=1, pace=0.03)
    work = tmp_path / "work"
    work.mkdir()
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
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), "utf-8")
    argv = [emacs, "--batch", "-Q", "-l", str(HERE / "emacs" / "refactor.el"), str(config_file)]
    run = run_editor(argv, tmp_path, out, log_file, timeout=60, cwd=work)
    result = run.result
    assert result.get("ok") is True, describe(run)
    assert result["class"] == "gpt-lsp-server"
    assert "AI: Refactor" in result["offered"]
    assert result["job"], describe(run)
    assert result["status"] == "done", describe(run)
    assert result["final"] == SOURCE.replace(FUNC, NEW_FUNC), describe(run)
    assert result["changes"] >= 2, describe(run)  # streamed, not one edit at the end
    assert result["rejected"] == SOURCE
    # The settings reached the server (initializationOptions / workspace/configuration).
    assert relay_sim.requests and relay_sim.requests[0].json["model"] == "gpt-4"
