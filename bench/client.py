"""The benchmark's editor: a pytest-lsp client (no pytest needed) that behaves like VS Code.

Its documents are the shared editor fake (tests/fakes/editor.py, VS Code profile): lists of
lines (a 100,000-line file costs O(changed lines) per edit, like a real editor); an applied edit
is answered first, then reported as VS Code 1.139 does. It timestamps what it receives with
time.monotonic(), the same clock the in-process relay simulator uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.client import JsonRPCClient
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol

from bench.common import BENCH, PYTHON, server_env
from tests.fakes import editor as fake

SERVER_CMD = [PYTHON, str(BENCH / "server_wrapper.py")]
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0


class BenchClient(LanguageClient):
    """pytest-lsp's client with the server's stderr kept (not forwarded) for the report."""

    def __init__(self) -> None:
        from pytest_lsp.client import default_converter

        super().__init__(converter_factory=default_converter, protocol_cls=LanguageClientProtocol)
        self.stderr_lines: list[str] = []

    async def start_io(self, cmd: str, *args: Any, **kwargs: Any) -> None:
        await JsonRPCClient.start_io(self, cmd, *args, **kwargs)
        if self._server is not None and self._server.stderr is not None:
            self._stderr_forwarder = asyncio.create_task(self._collect(self._server.stderr))

    async def _collect(self, stream: asyncio.StreamReader) -> None:
        for _ in range(1_000_000):
            line = await stream.readline()
            if not line:
                return
            if len(self.stderr_lines) < 5000:
                self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())


class Editor:
    """A VS Code-like editor driving one server process."""

    def __init__(self, client: BenchClient) -> None:
        self.client = client
        self.docs: dict[str, fake.FakeDocument] = {}
        self.edit_times: list[tuple[float, str, int]] = []  # (time, uri, chars inserted)
        self.finished: dict[str, tuple[float, dict[str, Any]]] = {}
        self.apply_count: dict[str, int] = {}
        self.on_finished: Callable[[str], None] | None = None
        self._waiters: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self._stats_seq = 0
        self.stats_file: Path | None = None
        self.reviews = 0  # gptLsp/review notifications
        self.lens_refreshes = 0
        self.registrations: list[str] = []  # methods registered dynamically (watched files)

    @property
    def pid(self) -> int:
        assert self.client._server is not None
        return self.client._server.pid

    # ------------------------------------------------------------ documents

    def open(self, name: str, text: str, language: str = "python") -> str:
        uri = (Path("/tmp/gpt-lsp-bench") / name).as_uri()
        self.docs[uri] = fake.FakeDocument(uri, text, fake.PROFILES["vscode"], self._report)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        return uri

    def close(self, uri: str) -> None:
        self.docs.pop(uri, None)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def change(self, uri: str, rng: types.Range, text: str) -> None:
        """The user edits: applied locally, then reported as the editor does."""
        start = (rng.start.line, rng.start.character)
        end = (rng.end.line, rng.end.character)
        self.docs[uri].type_range(start, end, text)

    def _report(self, uri: str, version: int, changes: list[fake.Change]) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=s[0], character=s[1]),
                            end=types.Position(line=e[0], character=e[1]),
                        ),
                        text=t,
                    )
                    for s, e, t in changes
                ],
            )
        )

    # ------------------------------------------------------------ server requests

    def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """Applies an edit as VS Code does (the shared editor fake's profile)."""
        now = time.monotonic()
        for change in params.edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            uri = change.text_document.uri
            doc = self.docs.get(uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="not open")
            edits = [
                (
                    (e.range.start.line, e.range.start.character),
                    (e.range.end.line, e.range.end.character),
                    e.new_text,
                )
                for e in change.edits
            ]
            if not doc.apply_edit(change.text_document.version, edits):
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version")
            self.edit_times.append((now, uri, sum(len(e.new_text) for e in change.edits)))
            self.apply_count[uri] = self.apply_count.get(uri, 0) + 1
        return types.ApplyWorkspaceEditResult(applied=True)

    def job_finished(self, params: Any) -> None:
        now = time.monotonic()
        plain = _plain(params)
        job_id = str(plain.get("jobId"))
        self.finished[job_id] = (now, plain)
        waiter = self._waiters.pop(job_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((now, plain))
        if self.on_finished is not None:
            self.on_finished(job_id)

    # ------------------------------------------------------------ requests to the server

    async def command(
        self, name: str, argument: Any = None, timeout: float = REQUEST_TIMEOUT
    ) -> Any:
        arguments = [] if argument is None else [argument]
        async with asyncio.timeout(timeout):
            result = await self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=arguments)
            )
        return _plain(result)

    async def code_actions(
        self, uri: str, rng: types.Range, timeout: float = REQUEST_TIMEOUT
    ) -> Any:
        async with asyncio.timeout(timeout):
            return await self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=rng,
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )

    async def wait_finished(
        self, job_id: str, timeout: float = 60.0
    ) -> tuple[float, dict[str, Any]]:
        """(time received, params) of a job's gptLsp/jobFinished."""
        if job_id in self.finished:
            return self.finished[job_id]
        waiter = self._waiters.setdefault(job_id, asyncio.get_running_loop().create_future())
        async with asyncio.timeout(timeout):
            return await waiter

    async def run_job(self, uri: str, rng: types.Range, action: str = "refactor") -> str:
        """gptLsp.run; returns the job id."""
        result = await self.command(
            "gptLsp.run", {"action": action, "uri": uri, "range": range_json(rng)}
        )
        return str(result["jobId"])

    async def server_stats(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """Internal counts written by bench/server_wrapper.py on SIGUSR1 (None if unavailable)."""
        import json

        if self.stats_file is None:
            return None
        self._stats_seq += 1
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                lines = self.stats_file.read_text("utf-8").splitlines()
                if len(lines) >= self._stats_seq:
                    return json.loads(lines[self._stats_seq - 1])  # type: ignore[no-any-return]
            await asyncio.sleep(0.01)
        return None

    async def stop(self) -> None:
        """shutdown + exit, then make sure the process is gone."""
        client = self.client
        try:
            async with asyncio.timeout(10):
                await client.shutdown_async(None)
                client.exit(None)
                if client._server is not None:
                    await client._server.wait()
        except (TimeoutError, Exception):  # noqa: BLE001 - teardown must not hang the bench
            if client._server is not None and client._server.returncode is None:
                client._server.kill()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await client.stop()


def range_json(r: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def lines_range(first: int, last: int) -> types.Range:
    """Whole lines first..last-1."""
    return types.Range(
        start=types.Position(line=first, character=0), end=types.Position(line=last, character=0)
    )


def capabilities(inline: bool = True) -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    general = caps.general or types.GeneralClientCapabilities()
    general.position_encodings = ["utf-16"]
    caps.general = general
    assert caps.text_document is not None
    # VS Code 1.91+ declares inline completion (the 1.65 profile predates it); Helix does not.
    if inline:
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


async def start_editor(
    tmp: Path,
    options: dict[str, Any],
    *,
    cmd: list[str] | None = None,
    env_extra: dict[str, str] | None = None,
    inline: bool = True,
    folders: list[Path] | None = None,
) -> Editor:
    """Spawns the server (bench/server_wrapper.py by default) and initializes a session."""
    client = BenchClient()
    register_lsp_features(client, DEFAULT_CLIENT_FEATURES)
    editor = Editor(client)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> Any:
        return editor.apply_edit(params)

    @client.feature("gptLsp/jobFinished")
    def on_finished(params: Any) -> None:
        editor.job_finished(params)

    # As VS Code does: review notifications are drawn, a lens refresh is answered.
    @client.feature("gptLsp/review")
    def on_review(params: Any) -> None:
        editor.reviews += 1

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(params: Any) -> None:
        editor.lens_refreshes += 1

    # As VS Code does: a dynamic registration (the index's watched files) is taken.
    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams) -> None:
        editor.registrations += [r.method for r in params.registrations]

    stats = tmp / f"stats-{time.monotonic_ns()}.jsonl"
    extra = {"BENCH_STATS_FILE": str(stats), **(env_extra or {})}
    editor.stats_file = stats
    command = cmd or SERVER_CMD
    await client.start_io(command[0], *command[1:], env=server_env(tmp, extra))
    async with asyncio.timeout(START_TIMEOUT):
        await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(inline),
                initialization_options=options,
                client_info=types.ClientInfo(name="gpt-lsp-bench"),
                workspace_folders=[
                    types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders or []
                ]
                or None,
            )
        )
        # A request answered after `initialized` means the server is done starting.
        await editor.command("gptLsp.status")
    return editor


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value
