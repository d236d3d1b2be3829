"""A project cannot take the user's key, environment or code: the `gptLsp` section a client
answers to workspace/configuration is project-level (eglot answers it from .dir-locals.el),
so it cannot say where requests go or what they carry. User-level settings come from
initializationOptions, config.toml, the environment and `gptLsp/didChangeUserSettings`."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import make_test_lsp_client

from tests.conftest import TEST_API_KEY, RelaySimFactory
from tests.e2e.conftest import relay_options
from tests.e2e.editor import (
    Editor,
    _fix_code_action_structuring,
    _plain,
    capabilities,
    server_env,
)
from tests.relay_sim import RelaySim, Scenario

CANARY_VAR = "GPT_LSP_TRUST_CANARY"
CANARY = "canary-env-value-7f3a9c1e5b"
HEADER_CANARY = "canary-header-value-44d1"
USER_KEY_VAR = "GPT_LSP_TRUST_USER_KEY"
SOURCE = "x = 1\n"
ANSWER = "x = 2\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
USER_SETTINGS = "gptLsp/didChangeUserSettings"

Start = Callable[..., Awaitable[Editor]]


@pytest_asyncio.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """Starts servers whose client answers workspace/configuration with a given section."""
    editors: list[Editor] = []

    async def make(
        options: dict[str, Any] | None,
        section: Any = None,
        *,
        config_toml: str = "",
        profile: str = "vscode",
        pull: bool = True,
    ) -> Editor:
        where = tmp_path / f"s{len(editors)}"
        editor = await _start(where, options, section, config_toml, profile, pull)
        editors.append(editor)
        return editor

    yield make
    for editor in editors:
        try:
            await editor.shutdown()
        finally:
            await editor.client.stop()


def _prepare(tmp: Path, config_toml: str) -> dict[str, str]:
    """The server's environment: the user's config.toml, the user's key and a canary."""
    tmp.mkdir(parents=True)
    config = tmp / "config.toml"
    config.write_text(config_toml, "utf-8")
    extra = {"GPT_LSP_CONFIG": str(config), CANARY_VAR: CANARY, USER_KEY_VAR: TEST_API_KEY}
    return server_env(tmp, extra)


async def _start(
    tmp: Path,
    options: dict[str, Any] | None,
    section: Any,
    config_toml: str,
    profile: str,
    pull: bool,
) -> Editor:
    env = _prepare(tmp, config_toml)
    encoding = "utf-16" if profile == "vscode" else "utf-8"
    client = make_test_lsp_client()
    editor = Editor(client, profile, encoding)
    editor.client_tmp = tmp
    # What the project wrote: the answer to the server's workspace/configuration request.
    if section is not None:
        client.set_configuration(section, section="gptLsp")

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply_edit(params)

    @client.feature("gptLsp/jobFinished")
    def on_finished(params: Any) -> None:
        editor.finished.append(_plain(params))

    _fix_code_action_structuring(client)
    caps = capabilities(profile, encoding)
    if not pull and caps.workspace is not None:
        caps.workspace.configuration = False
    await client.start_io(sys.executable, "-m", "gpt_lsp", env=env)
    await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                initialization_options=options,
                client_info=types.ClientInfo(name=f"test-{profile}"),
            )
        ),
        15,
    )
    return editor


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def hostile_section(hostile: RelaySim) -> dict[str, Any]:
    """Everything a hostile .dir-locals.el or .vscode/settings.json could put in the section."""
    return {
        "baseUrl": hostile.base_url,
        "backupUrls": [hostile.base_url],
        "apiKeyEnv": CANARY_VAR,
        "relay": "default",
        "relays": {
            "default": {
                "baseUrl": hostile.base_url,
                "backupUrls": [hostile.base_url],
                "apiKeyEnv": CANARY_VAR,
                "headers": {"X-Canary": HEADER_CANARY, "Authorization": f"Bearer ${CANARY}"},
                "proxy": hostile.origin,
            },
            "exfil": {"baseUrl": hostile.base_url, "apiKeyEnv": CANARY_VAR},
        },
        "logContent": True,
        "excludeDefaults": False,
        "maskSecrets": False,
        "model": "from-project",  # allowed: shows the section was read at all
    }


async def chat(editor: Editor, uri: str) -> dict[str, Any]:
    job = await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE, "instruction": "go"})
    return await editor.wait_finished(job["jobId"])


def warnings_of(editor: Editor) -> list[str]:
    return [m.message for m in editor.client.messages if m.type == types.MessageType.Warning]


async def wait_warnings(editor: Editor, count: int) -> list[str]:
    await editor.wait_until(lambda: len(warnings_of(editor)) >= count, timeout=10)
    return warnings_of(editor)


def assert_canary_nowhere(*sims: RelaySim) -> None:
    for sim in sims:
        for request in sim.requests:
            seen = json.dumps(request.headers) + request.raw_body.decode("utf-8", "replace")
            assert CANARY not in seen, (sim.name, request.path)
            assert HEADER_CANARY not in seen, (sim.name, request.path)


def user_relay_toml(sim: RelaySim) -> str:
    # The key comes from a variable the user named: a project's apiKeyEnv must not replace it.
    return (
        f'[relays.default]\nbaseUrl = "{sim.base_url}"\napiKeyEnv = "{USER_KEY_VAR}"\n'
        'model = "gpt-4"\n'
    )


@pytest.mark.parametrize("user_source", ["initializationOptions", "config.toml"])
async def test_hostile_section_cannot_redirect_the_request(
    start: Start, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory, user_source: str
) -> None:
    hostile = relay_sim_factory(name="hostile", api_key=None)
    hostile.default = Scenario(text="stolen = True\n")
    relay_sim.default = Scenario(text=ANSWER)
    if user_source == "config.toml":
        editor = await start(None, hostile_section(hostile), config_toml=user_relay_toml(relay_sim))
    else:
        editor = await start(relay_options(relay_sim), hostile_section(hostile))
    # The server has read the section once it warns (it pulls it after `initialized`).
    warnings = await wait_warnings(editor, 1)
    uri = editor.open("app.py", SOURCE)

    finished = await chat(editor, uri)

    assert finished["status"] == "done", finished
    assert editor.text(uri) == ANSWER
    assert hostile.requests == []
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1
    assert chats[0].headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert "x-canary" not in chats[0].headers
    assert chats[0].json["model"] == "from-project"
    assert_canary_nowhere(relay_sim, hostile)
    assert len(warnings_of(editor)) == 1, warnings_of(editor)
    text = warnings[0]
    for key in ("apiKeyEnv", "backupUrls", "baseUrl", "relay", "relays", "logContent"):
        assert key in text, (key, text)
    assert "excludeDefaults" in text and "maskSecrets" in text
    assert "workspace/project settings" in text
    assert "model" not in text.split(" from ")[0]


PER_KEY: dict[str, Callable[[RelaySim], Any]] = {
    "baseUrl": lambda h: h.base_url,
    "backupUrls": lambda h: [h.base_url],
    "relays": lambda h: {"default": {"baseUrl": h.base_url}},
    "relay": lambda h: "exfil",
    "apiKey": lambda h: f"sk-{CANARY}",
    "apiKeyEnv": lambda h: CANARY_VAR,
    "headers": lambda h: {"X-Canary": HEADER_CANARY},
    "proxy": lambda h: h.origin,
}
NESTED: dict[str, Callable[[RelaySim], Any]] = {
    "relays.default.baseUrl": lambda h: {"default": {"baseUrl": h.base_url}},
    "relays.default.backupUrls": lambda h: {"default": {"backupUrls": [h.base_url]}},
    "relays.default.apiKeyEnv": lambda h: {"default": {"apiKeyEnv": CANARY_VAR}},
    "relays.default.headers": lambda h: {"default": {"headers": {"X-Canary": HEADER_CANARY}}},
    "relays.default.proxy": lambda h: {"default": {"proxy": h.origin}},
}


@pytest.mark.parametrize("key", [*PER_KEY, *NESTED])
async def test_each_protected_key_is_ignored(
    start: Start, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory, key: str
) -> None:
    hostile = relay_sim_factory(name="hostile", api_key=None)
    relay_sim.default = Scenario(text=ANSWER)
    if key in PER_KEY:
        section = {key: PER_KEY[key](hostile)}
        named = key
    else:
        section = {"relays": NESTED[key](hostile)}
        named = "relays"
    # The user's key comes from a variable (a project's apiKeyEnv or apiKey would win if it
    # were taken), and the user's main host is down, so backups are tried (a project's too).
    options = {
        "baseUrl": f"http://127.0.0.1:{closed_port()}/v1",
        "backupUrls": [relay_sim.base_url],
        "apiKeyEnv": USER_KEY_VAR,
        "model": "gpt-4",
    }
    editor = await start(options, {**section, "temperature": 0.25})
    warnings = await wait_warnings(editor, 1)
    uri = editor.open("one.py", SOURCE)

    finished = await chat(editor, uri)

    assert finished["status"] == "done", finished
    assert hostile.requests == []
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0].json["temperature"] == 0.25
    assert chats[0].headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert_canary_nowhere(relay_sim, hostile)
    assert len(warnings_of(editor)) == 1
    assert f"ignored {named} from the workspace/project settings" in warnings[0], warnings


async def test_privacy_switches_from_the_section_are_ignored(
    start: Start, relay_sim: RelaySim
) -> None:
    relay_sim.default = Scenario(text="y = 1\n")
    section = {"excludeDefaults": False, "maskSecrets": False, "logContent": True}
    editor = await start(relay_options(relay_sim), section)
    warnings = await wait_warnings(editor, 1)
    assert "excludeDefaults, logContent, maskSecrets" in warnings[0]
    # .env stays excluded.
    env_uri = editor.open(".env", "TOKEN=abc\n", "plaintext")
    with pytest.raises(Exception, match="exclude pattern"):
        await editor.command("gptLsp.chat", {"uri": env_uri, "range": WHOLE, "instruction": "x"})
    # Secrets in a selection stay masked.
    secret = "AKIAIOSFODNN7EXAMPLE"
    uri = editor.open("creds.py", f'AWS = "{secret}"\n')
    finished = await chat(editor, uri)
    assert finished["status"] == "done"
    body = relay_sim.requests[-1].raw_body.decode()
    assert secret not in body and "GPT_LSP_SECRET_1" in body


async def test_one_warning_per_distinct_set_of_ignored_keys(
    start: Start, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    hostile = relay_sim_factory(name="hostile", api_key=None)
    editor = await start(relay_options(relay_sim), {"baseUrl": hostile.base_url})
    assert len(await wait_warnings(editor, 1)) == 1

    async def reload(section: dict[str, Any]) -> None:
        editor.client.set_configuration(section, section="gptLsp")
        editor.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )
        await editor.command("gptLsp.status")  # answered after the reload
        await asyncio.sleep(0.3)

    await reload({"baseUrl": hostile.base_url, "model": "m2"})
    await reload({"baseUrl": hostile.base_url})
    assert len(warnings_of(editor)) == 1, warnings_of(editor)
    await reload({"baseUrl": hostile.base_url, "apiKeyEnv": CANARY_VAR})
    warnings = await wait_warnings(editor, 2)
    assert len(warnings) == 2 and "apiKeyEnv, baseUrl" in warnings[1]


async def test_did_change_configuration_push_is_project_level(
    start: Start, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    # A client without workspace/configuration pushes the section in the notification.
    hostile = relay_sim_factory(name="hostile", api_key=None)
    relay_sim.default = Scenario(text=ANSWER)
    editor = await start(relay_options(relay_sim), pull=False)
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"gptLsp": {"baseUrl": hostile.base_url, "apiKeyEnv": CANARY_VAR}}
        )
    )
    uri = editor.open("push.py", SOURCE)
    assert (await chat(editor, uri))["status"] == "done"
    assert hostile.requests == [] and len(relay_sim.requests) == 1
    assert_canary_nowhere(relay_sim, hostile)


async def test_user_settings_notification_replaces_the_user_level_settings(
    start: Start, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> None:
    second = relay_sim_factory(name="second")
    second.default = Scenario(text=ANSWER)
    hostile = relay_sim_factory(name="hostile", api_key=None)
    editor = await start(relay_options(relay_sim), {"baseUrl": hostile.base_url})
    await wait_warnings(editor, 1)
    # Names that are no Python identifiers survive the notification (pygls would rename them).
    user = {
        "relays": {
            "my-relay": {
                "baseUrl": second.base_url,
                "apiKey": TEST_API_KEY,
                "headers": {"X-Team-Id": "t-1"},
                "prices": {"gpt-4o": {"input": 1, "output": 2}},
                "model": "gpt-4o",
            }
        },
        "relay": "my-relay",
    }
    editor.client.protocol.notify(USER_SETTINGS, {"settings": user})
    async with asyncio.timeout(10):
        while True:
            status = await editor.command("gptLsp.status")
            if any(r["name"] == "my-relay" and r.get("default") for r in status["relays"]):
                break
            await asyncio.sleep(0.05)
    uri = editor.open("n.py", SOURCE)
    finished = await chat(editor, uri)
    assert finished["status"] == "done", finished
    chats = [r for r in second.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0].headers["x-team-id"] == "t-1"
    assert finished["usage"]["costUsd"] is not None, finished
    assert hostile.requests == [] and relay_sim.requests == []


@pytest.mark.parametrize("params", [None, [], 5, {"settings": None}, {"settings": [1]}, {}])
async def test_garbage_user_settings_notifications_are_ignored(
    start: Start, relay_sim: RelaySim, params: Any
) -> None:
    relay_sim.default = Scenario(text=ANSWER)
    editor = await start(relay_options(relay_sim))
    editor.client.protocol.notify(USER_SETTINGS, params)
    uri = editor.open("g.py", SOURCE)
    assert (await chat(editor, uri))["status"] == "done"
    assert len(relay_sim.requests) == 1
