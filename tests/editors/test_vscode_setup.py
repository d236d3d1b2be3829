"""A new user's setup in a remote window, in Chinese (code-server with `--locale zh-cn`).

The server is not on PATH and no gptLsp.serverPath is set. gptLsp.serverPath is machine-scoped:
a remote window (SSH, WSL, code-server) reads it from the remote machine's settings (VS Code
over SSH or WSL ignores it in the user settings), so the message names the Remote settings and
its button opens them; the user sets the path there, saves, and the server starts. The
extension's own words follow VS Code's display language (package.nls.zh-cn.json, vscode.l10n),
and the status tooltip shows the server's spend lines, in Chinese too.
"""

from __future__ import annotations

import pytest

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

ANSWER = 'print("合计:", total([1, 2, 3]))'


def test_remote_window_server_path_then_chinese_ui(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("vscode-setup")
    artifacts = ARTIFACTS / "setup"
    with RelaySim(prefix="/v1", api_key=API_KEY) as relay:
        relay.default = Scenario(text=ANSWER, chunk_size=4, pace=0.01, usage="always")
        settings = {
            "gptLsp.baseUrl": relay.base_url,
            "gptLsp.model": MODEL,
            "gptLsp.relays": {"default": {"prices": {MODEL: {"input": 0.15, "output": 0.6}}}},
        }
        env = {"GPT_LSP_API_KEY": API_KEY}
        with start_code_server(
            tmp, settings, {}, env, artifacts, locale="zh-cn", server_path_in="none"
        ) as running:
            line = ORIGINAL.splitlines().index("print(total([1, 2, 3]))") + 1
            steps = run_driver(
                running,
                "setup.mjs",
                {
                    "file": "sample.py",
                    "original": ORIGINAL,
                    "serverPath": str(running["wrapper"]),
                    "openRemote": "打开远程设置 (JSON)",
                    "spendWord": "今天：$",
                    "chat": {
                        "firstLine": line,
                        "command": "GPT LSP: 内联聊天",
                        "prompt": "要怎样改写选中的代码？",
                        "instruction": "add a label",
                        "expected": ORIGINAL.replace("print(total([1, 2, 3]))", ANSWER),
                    },
                },
                artifacts,
            )
    # Not found: said in Chinese, naming the Remote settings (the user's value is ignored here).
    message = steps["not found"]["message"]
    assert "gptLsp.serverPath" in message and "远程设置" in message, message
    assert "Machine/settings.json" in message and "pipx install ." in message, message
    assert "codicon-warning" in steps["not found"]["status"]["icon"], steps["not found"]
    # The button opened the machine's settings, where the path now works.
    assert "user-data/Machine" in steps["remote settings"]["opened"], steps["remote settings"]
    palette = steps["chat"]["palette"]
    assert any("GPT LSP: 内联聊天" in row for row in palette), palette
    assert any("GPT LSP: 取消正在运行的 AI 任务" in row for row in palette), palette
    assert "要怎样改写选中的代码？" in steps["chat"]["prompt"], steps["chat"]
    tooltip = steps["tooltip"]["text"]
    assert "今天：$" in tooltip and "本月：$" in tooltip, tooltip
