"""A minimal LSP client on a server subprocess's own pipes, for tests that need stderr, raw
frames or a client that misbehaves (pytest-lsp keeps the pipes to itself and answers for us).

`Client.edits` says how it answers `workspace/applyEdit`: "apply" as VS Code does, "refuse"
(always `applied: false`, as VS Code does for a read-only document), "ahead" (its document is a
version ahead of what it reported: VS Code refuses every versioned edit) or "skip" (Neovim's
answer to a stale edit: `applied: true`, nothing applied).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.e2e.editor import REPO, position_of, server_env
from tests.fakes import editor as fake
from tests.relay_sim import RelaySim, Scenario

EXIT_WITHIN = 15.0  # a stuck process never exits; the target is 1 s, measured at 0.3-0.5 s
ANSWER_WITHIN = 15.0
SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
# Streams for about 9 s: still streaming whenever a test ends the client.
SLOW_ANSWER = Scenario(text="y = 2\n" * 300, chunk_size=2, pace=0.02)
SERVER = [sys.executable, "-m", "gpt_lsp"]
EditPolicy = Literal["apply", "refuse", "ahead", "skip"]


def frame(message: dict[str, Any]) -> bytes:
    """One LSP base-protocol frame."""
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def initialize(msg_id: int = 1, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """An initialize request of a client without optional capabilities."""
    params: dict[str, Any] = {"processId": None, "rootUri": None, "capabilities": {}}
    if options is not None:
        params["initializationOptions"] = options
    return {"jsonrpc": "2.0", "id": msg_id, "method": "initialize", "params": params}


def assert_clean(stderr: str) -> None:
    """Nothing on stderr says something went wrong."""
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr


class Client:
    """A minimal LSP client on the server's pipes; it applies edits as an editor would."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        stdout: asyncio.StreamReader,
        stdout_pipe: asyncio.ReadTransport,
        stderr: Path,
    ) -> None:
        self.proc = proc
        self.stdout = stdout
        self.stdout_pipe = stdout_pipe
        self.stderr_path = stderr
        self.stdin_closed = False
        self.docs: dict[str, fake.FakeDocument] = {}
        self.edits = 0
        self.edit_requests = 0
        self.policy: EditPolicy = "apply"
        self.notifications: list[dict[str, Any]] = []
        self._next_id = 100
        self._answers: dict[Any, asyncio.Future[Any]] = {}
        self._reading = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, tmp: Path, options: dict[str, Any] | None = None) -> Client:
        """Starts the server and initializes it."""
        stderr = tmp / "stderr.txt"
        # stdout on a pipe of our own, so that the test can close its reading end.
        out_r, out_w = os.pipe()
        try:
            with stderr.open("wb") as err:
                proc = await asyncio.create_subprocess_exec(
                    *SERVER,
                    stdin=subprocess.PIPE,
                    stdout=out_w,
                    stderr=err,
                    env=server_env(tmp),
                    cwd=REPO,
                )
        finally:
            os.close(out_w)
        reader = asyncio.StreamReader()
        pipe, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(out_r, "rb", buffering=0)
        )
        client = cls(proc, reader, pipe, stderr)
        try:
            await client.request("initialize", initialize(options=options)["params"])
        except BaseException:
            await client.kill()
            raise
        client.notify("initialized", {})
        return client

    def send(self, message: dict[str, Any]) -> None:
        """Writes one message to the server's stdin."""
        assert self.proc.stdin is not None
        if self.stdin_closed:
            return
        self.proc.stdin.write(frame(message))

    def send_raw(self, data: bytes) -> None:
        """Writes bytes as they are (frames of any shape) to the server's stdin."""
        assert self.proc.stdin is not None
        if not self.stdin_closed:
            self.proc.stdin.write(data)

    def notify(self, method: str, params: Any) -> None:
        """Sends a notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any, timeout: float = ANSWER_WITHIN) -> Any:
        """Sends a request and waits for its answer: the result, or the error object."""
        message = await self.answer_of(method, params, timeout)
        return message.get("result", message.get("error"))

    async def answer_of(
        self, method: str, params: Any, timeout: float = ANSWER_WITHIN
    ) -> dict[str, Any]:
        """Sends a request and returns the whole answer message (result or error)."""
        self._next_id += 1
        msg_id = self._next_id
        answer = self._answers[msg_id] = asyncio.get_running_loop().create_future()
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            result: dict[str, Any] = await asyncio.wait_for(answer, timeout)
        finally:
            self._answers.pop(msg_id, None)
        return result

    async def command(self, name: str, argument: Any, timeout: float = ANSWER_WITHIN) -> Any:
        """Runs workspace/executeCommand with one argument; the result or the error object."""
        params = {"command": name, "arguments": [argument]}
        return await self.request("workspace/executeCommand", params, timeout)

    async def wait_finished(self, job_id: str, timeout: float = ANSWER_WITHIN) -> dict[str, Any]:
        """Waits for the gptLsp/jobFinished of a job."""
        async with asyncio.timeout(timeout):
            while True:
                for message in self.notifications:
                    params = message.get("params") or {}
                    if message["method"] == "gptLsp/jobFinished" and params["jobId"] == job_id:
                        return dict(params)
                await asyncio.sleep(0.01)

    async def _read(self) -> None:
        stdout = self.stdout
        for _ in range(1_000_000):  # bounded; a test ends far sooner
            header = await stdout.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            message = json.loads(await stdout.readexactly(length))
            if "method" in message and "id" in message:
                self._answer(message)
            elif "method" in message:
                self.notifications.append(message)
            elif "id" in message:
                future = self._answers.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/applyEdit":
            result = self._apply(message["params"]["edit"])
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _report(self, uri: str, version: int, changes: list[fake.Change]) -> None:
        content = [
            {
                "range": {
                    "start": {"line": start[0], "character": start[1]},
                    "end": {"line": end[0], "character": end[1]},
                },
                "text": text,
            }
            for start, end, text in changes
        ]
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": content},
        )

    def _apply(self, edit: dict[str, Any]) -> dict[str, Any]:
        self.edit_requests += 1
        if self.policy == "refuse":
            return {"applied": False, "failureReason": "read-only"}
        if self.policy == "skip":
            return {"applied": True}
        for change in edit.get("documentChanges", []):
            doc = self.docs[change["textDocument"]["uri"]]
            edits = [
                (
                    (e["range"]["start"]["line"], e["range"]["start"]["character"]),
                    (e["range"]["end"]["line"], e["range"]["end"]["character"]),
                    e["newText"],
                )
                for e in change["edits"]
            ]
            if not doc.apply_edit(change["textDocument"].get("version"), edits):
                return {"applied": False, "failureReason": "version"}
            self.edits += 1
        return {"applied": True}

    def open(self, name: str, text: str) -> str:
        """Opens a document; returns its URI."""
        uri = (Path("/tmp/gpt-lsp-e2e") / name).as_uri()
        # "ahead": the editor's copy is a version ahead of what it says (VS Code refuses edits).
        version = 2 if self.policy == "ahead" else 1
        self.docs[uri] = fake.FakeDocument(
            uri, text, fake.PROFILES["vscode"], self._report, version
        )
        item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    async def start_job(
        self, sim: RelaySim, answer: Scenario, name: str = "life.py"
    ) -> tuple[str, str]:
        """Opens SOURCE and runs a refactor of FUNC answered by `answer`; returns (uri, jobId)."""
        sim.default = answer
        uri = self.open(name, SOURCE)
        start = SOURCE.index(FUNC)
        a, b = (position_of(SOURCE, x, "utf-16") for x in (start, start + len(FUNC)))
        rng = {
            "start": {"line": a.line, "character": a.character},
            "end": {"line": b.line, "character": b.character},
        }
        argument = {"action": "refactor", "uri": uri, "range": rng}
        result = await self.command("gptLsp.run", argument)
        assert "jobId" in result, result
        return uri, str(result["jobId"])

    async def start_streaming_job(self, sim: RelaySim) -> str:
        """Runs a refactor that streams from the simulator; returns once edits arrive."""
        uri, _job = await self.start_job(sim, SLOW_ANSWER)
        for _ in range(int(ANSWER_WITHIN / 0.01)):
            if self.edits >= 2:  # counted by the reader task
                break
            await asyncio.sleep(0.01)
        assert self.edits >= 2, "no edits streamed in"
        assert sim.requests[-1].ended_at is None  # still streaming
        return uri

    def close_stdin(self) -> None:
        """The client closes the server's input."""
        assert self.proc.stdin is not None
        self.stdin_closed = True
        self.proc.stdin.close()

    def close_stdout(self) -> None:
        """The client stops reading: the server's stdout has no reader any more."""
        self._reading.cancel()
        self.stdout_pipe.close()

    async def wait_exit(self, since: float) -> tuple[int, float, str]:
        """Waits for the server to exit; returns its code, the seconds it took and stderr."""
        done, _ = await asyncio.wait([asyncio.ensure_future(self.proc.wait())], timeout=EXIT_WITHIN)
        took = time.monotonic() - since
        if not done:
            self.proc.kill()
        await self.proc.wait()
        self._reading.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self._reading
        self.stdout_pipe.close()
        stderr = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        if not done:
            pytest.fail(f"no exit within {EXIT_WITHIN} s; stderr ends:\n{stderr[-3000:]}")
        assert self.proc.returncode is not None
        return self.proc.returncode, took, stderr

    async def kill(self) -> None:
        """Ends a server a failed test left running."""
        if self.proc.returncode is None:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), EXIT_WITHIN)
        self._reading.cancel()
        self.stdout_pipe.close()
