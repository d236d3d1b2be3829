"""Helix is not packaged for Debian 12: editors/helix/languages.toml is tested through the LSP
features Helix uses. Its `config` goes out as initializationOptions, workspace/configuration for
`gptLsp` is answered with null (Helix digs the section out of `config`), the encoding is utf-8,
and inline chat goes through the `AI:` comment marker offered as a code action."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types

from tests.conftest import TEST_API_KEY
from tests.e2e.editor import start_editor
from tests.editors.runner import REPO
from tests.relay_sim import RelaySim, Scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SOURCE = "def add(a, b):\n    # AI: add type hints\n    return a+b\n\nprint(add(1, 2))\n"


async def test_helix_config_and_marker_action(tmp_path: Path, relay_sim: RelaySim) -> None:
    helix = tomllib.loads((REPO / "editors" / "helix" / "languages.toml").read_text("utf-8"))
    server = helix["language-server"]["gpt-lsp"]
    assert server["command"] == "gpt-lsp"
    assert any("gpt-lsp" in lang["language-servers"] for lang in helix["language"])
    config = {**server["config"], "baseUrl": relay_sim.base_url, "apiKey": TEST_API_KEY}
    relay_sim.default = Scenario(text="    return a + b\n", chunk_size=3)
    editor = await start_editor(tmp_path, "vscode", "utf-8", config)
    try:
        uri = editor.open("m.py", SOURCE)
        marker = types.Range(start=types.Position(1, 0), end=types.Position(1, 0))
        actions = await editor.code_actions(uri, marker)
        chat = [a for a in actions if a.title == "AI: add type hints"]
        assert chat and chat[0].command is not None, [a.title for a in actions]
        result = await editor.command(chat[0].command.command, chat[0].command.arguments[0])
        finished = await editor.wait_finished(result["jobId"])
        assert finished["status"] == "done", finished
        assert "return a + b" in editor.text(uri)
        assert relay_sim.requests[-1].json["model"] == server["config"]["model"]
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()
