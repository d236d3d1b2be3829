"""Settings over LSP: initializationOptions, the gptLsp section, live reload, bad values."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from lsprotocol import types

from tests.conftest import TEST_API_KEY
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import REPO, server_env
from tests.relay_sim import RelaySim, Scenario

SOURCE = "x = 1\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}


async def chat(editor, uri: str) -> dict:  # type: ignore[no-untyped-def]
    job = await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE, "instruction": "go"})
    return await editor.wait_finished(job["jobId"])  # type: ignore[no-any-return]


async def model_of(editor) -> str:  # type: ignore[no-untyped-def]
    status = await editor.command("gptLsp.status")
    return str(status["relays"][0]["model"])


async def test_client_section_beats_init_options_and_reloads(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="x = 2\n")
    editor = await make_editor(relay_options(relay_sim, model="from-init"))
    uri = editor.open("s.py", SOURCE)
    assert (await chat(editor, uri))["status"] == "done"
    assert relay_sim.requests[-1].json["model"] == "from-init"
    editor.client.set_configuration({"model": "from-section", "temperature": 0.3}, section="gptLsp")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    # The server asks for the section and takes it: wait for that, not for a moment.
    async with asyncio.timeout(10):
        while await model_of(editor) != "from-section":  # noqa: ASYNC110 - the server's state
            await asyncio.sleep(0.02)
    assert (await chat(editor, uri))["status"] == "done"
    body = relay_sim.requests[-1].json
    assert body["model"] == "from-section" and body["temperature"] == 0.3


async def test_bad_settings_are_reported_once_and_defaults_used(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="x = 2\n")
    options = relay_options(relay_sim, temperature="hot", maxTokens=-5, baseURL="typo")
    editor = await make_editor(options)
    await editor.wait_until(lambda: bool(editor.client.messages))
    warnings = [m for m in editor.client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1
    text = warnings[0].message
    assert "temperature" in text and "maxTokens" in text and "baseURL" in text
    assert "did you mean 'baseUrl'" in text
    uri = editor.open("b.py", SOURCE)
    assert (await chat(editor, uri))["status"] == "done"  # still works, with defaults
    body = relay_sim.requests[-1].json
    assert "temperature" not in body and "max_tokens" not in body


async def test_no_relay_configured_gives_a_clear_error(make_editor: EditorFactory) -> None:
    editor = await make_editor({})
    uri = editor.open("n.py", SOURCE)
    try:
        await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE, "instruction": "go"})
    except Exception as exc:  # noqa: BLE001 - the JSON-RPC error
        assert "No relay configured" in str(exc) and "GPT_LSP_BASE_URL" in str(exc)
    else:
        raise AssertionError("a job started without a relay")


async def test_missing_key_names_the_variable(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor({"baseUrl": relay_sim.base_url, "apiKeyEnv": "NOT_SET_ANYWHERE"})
    uri = editor.open("k.py", SOURCE)
    try:
        await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE, "instruction": "go"})
    except Exception as exc:  # noqa: BLE001
        assert "NOT_SET_ANYWHERE" in str(exc)
    else:
        raise AssertionError("a job started without a key")


def test_tcp_mode_binds_loopback_and_answers_initialize(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = server_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_lsp", "--tcp", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
        frame = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        for _ in range(100):
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                import time

                time.sleep(0.05)
        else:
            raise AssertionError("the TCP server did not listen")
        with conn:
            conn.sendall(frame)
            data = b""
            while b"gpt-lsp" not in data and len(data) < 100_000:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"Content-Length:")
        assert b'"name": "gpt-lsp"' in data or b'"name":"gpt-lsp"' in data
    finally:
        proc.kill()
        proc.wait(5)


__all__ = ["TEST_API_KEY"]
