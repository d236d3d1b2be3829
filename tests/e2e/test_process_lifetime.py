"""The server process ends when its client does: end of input, a closed stdout, SIGTERM, SIGHUP.

Each test runs `python -m gpt_lsp` as a subprocess with a minimal LSP client of its own on the
pipes (pytest-lsp would swallow stderr and keep the pipes to itself), and checks the exit code,
the time to exit and that stderr holds no traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TEST_API_KEY
from tests.e2e.editor import REPO, position_of, server_env
from tests.fakes import editor as fake
from tests.relay_sim import RelaySim, Scenario

EXIT_WITHIN = 5.0  # generous for a loaded 2-core CI; the target is 1 s
ANSWER_WITHIN = 15.0
SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
FUNC = "def add(a, b):\n    return a+b\n"
# Streams for about 9 s: still streaming whenever a test ends the client.
SLOW_ANSWER = Scenario(text="y = 2\n" * 300, chunk_size=2, pace=0.02)
SERVER = [sys.executable, "-m", "gpt_lsp"]


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

    def notify(self, method: str, params: Any) -> None:
        """Sends a notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        """Sends a request and waits for its answer."""
        self._next_id += 1
        msg_id = self._next_id
        answer = self._answers[msg_id] = asyncio.get_running_loop().create_future()
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(answer, ANSWER_WITHIN)

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
            elif "id" in message:
                future = self._answers.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message.get("result", message.get("error")))

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
        self.docs[uri] = fake.FakeDocument(uri, text, fake.PROFILES["vscode"], self._report)
        item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    async def start_streaming_job(self, sim: RelaySim) -> str:
        """Runs a refactor that streams from the simulator; returns once edits arrive."""
        sim.default = SLOW_ANSWER
        uri = self.open("life.py", SOURCE)
        start = SOURCE.index(FUNC)
        a, b = (position_of(SOURCE, x, "utf-16") for x in (start, start + len(FUNC)))
        rng = {
            "start": {"line": a.line, "character": a.character},
            "end": {"line": b.line, "character": b.character},
        }
        argument = {"action": "refactor", "uri": uri, "range": rng}
        result = await self.request(
            "workspace/executeCommand", {"command": "gptLsp.run", "arguments": [argument]}
        )
        assert "jobId" in result, result
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


StartClient = Callable[..., Awaitable[Client]]


@pytest_asyncio.fixture
async def start_client(tmp_path: Path) -> AsyncIterator[StartClient]:
    """Starts servers with a client each; kills any still running at teardown."""
    started: list[Client] = []

    async def start(options: dict[str, Any] | None = None) -> Client:
        client = await Client.start(tmp_path, options)
        started.append(client)
        return client

    yield start
    for client in started:
        await client.kill()


def relay_options(sim: RelaySim) -> dict[str, Any]:
    """initializationOptions pointing the server at a simulator."""
    return {"baseUrl": sim.base_url, "apiKey": TEST_API_KEY, "model": "gpt-4"}


def run_sync(
    tmp: Path, stdin: Any = None, data: bytes | None = None
) -> tuple[subprocess.CompletedProcess[bytes], float]:
    """Runs the server to its end on the given stdin (or data); returns it and its time."""
    started = time.monotonic()
    proc = subprocess.run(
        SERVER,
        stdin=stdin,
        input=data,
        capture_output=True,
        env=server_env(tmp),
        cwd=REPO,
        timeout=EXIT_WITHIN + 2.0,  # startup included
        check=False,
    )
    return proc, time.monotonic() - started


# ---------------------------------------------------------------- stdin of every kind


def test_stdin_from_dev_null_ends_at_once(tmp_path: Path) -> None:
    proc, took = run_sync(tmp_path, subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert took < EXIT_WITHIN
    assert_clean(proc.stderr.decode())
    assert proc.stdout == b""
    assert "gpt-lsp check" not in proc.stderr.decode()  # the terminal hint is for terminals


def test_stdin_from_an_empty_file_ends_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with empty.open("rb") as stdin:
        proc, took = run_sync(tmp_path, stdin)
    assert proc.returncode == 0, proc.stderr
    assert took < EXIT_WITHIN
    assert_clean(proc.stderr.decode())


def test_stdin_from_a_file_is_served_then_ends(tmp_path: Path) -> None:
    script = tmp_path / "session.lsp"
    script.write_bytes(
        frame(initialize()) + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    )
    with script.open("rb") as stdin:
        proc, took = run_sync(tmp_path, stdin)
    assert proc.returncode == 0, proc.stderr
    assert took < EXIT_WITHIN
    assert b'"serverInfo"' in proc.stdout  # initialize was read and answered
    assert_clean(proc.stderr.decode())


def test_stdin_cut_inside_a_message_ends_cleanly(tmp_path: Path) -> None:
    whole = frame(initialize())
    proc, _ = run_sync(tmp_path, data=whole[: len(whole) - 5])
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc.stderr.decode())


def test_stdin_and_stdout_on_one_socket(tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        started = time.monotonic()
        proc = subprocess.Popen(
            SERVER,
            stdin=theirs.fileno(),
            stdout=theirs.fileno(),
            stderr=subprocess.PIPE,
            env=server_env(tmp_path),
            cwd=REPO,
        )
        theirs.close()
        try:
            ours.sendall(frame(initialize()))
            ours.settimeout(ANSWER_WITHIN)
            received = b""
            for _ in range(100):
                if b'"serverInfo"' in received:
                    break
                chunk = ours.recv(65536)
                assert chunk, "the server closed the socket without answering"
                received += chunk
            assert b'"serverInfo"' in received
            ended = time.monotonic()
            ours.shutdown(socket.SHUT_WR)
            code = proc.wait(EXIT_WITHIN)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
    assert code == 0, stderr
    assert time.monotonic() - ended < EXIT_WITHIN and ended > started
    assert_clean(stderr)


# ---------------------------------------------------------------- the client goes away


async def test_pipe_closed_after_initialize(start_client: StartClient) -> None:
    client = await start_client()
    closed = time.monotonic()
    client.close_stdin()
    code, took, stderr = await client.wait_exit(closed)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    assert "end of input" in stderr


async def test_stdout_closed_while_idle(start_client: StartClient) -> None:
    client = await start_client()
    closed = time.monotonic()
    client.close_stdout()  # stdin stays open: only the broken stdout tells
    code, took, stderr = await client.wait_exit(closed)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    assert "stdout closed" in stderr


@pytest.mark.parametrize("close", ["both pipes", "stdin", "stdout"])
async def test_pipe_closed_while_a_job_streams(
    start_client: StartClient, relay_sim: RelaySim, close: str
) -> None:
    client = await start_client(relay_options(relay_sim))
    await client.start_streaming_job(relay_sim)
    closed = time.monotonic()
    if close != "stdout":
        client.close_stdin()
    if close != "stdin":
        client.close_stdout()
    code, took, stderr = await client.wait_exit(closed)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, EXIT_WITHIN)
    assert ended is not None
    assert relay_sim.requests[-1].client_disconnected  # the stream was closed, not finished


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
async def test_signal_while_idle(start_client: StartClient, sig: signal.Signals) -> None:
    client = await start_client()
    sent = time.monotonic()
    client.proc.send_signal(sig)
    code, took, stderr = await client.wait_exit(sent)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    assert sig.name in stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
async def test_signal_while_a_job_streams(
    start_client: StartClient, relay_sim: RelaySim, sig: signal.Signals
) -> None:
    client = await start_client(relay_options(relay_sim))
    uri = await client.start_streaming_job(relay_sim)
    assert client.docs[uri].text != SOURCE
    sent = time.monotonic()
    client.proc.send_signal(sig)
    code, took, stderr = await client.wait_exit(sent)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    ended = await asyncio.to_thread(relay_sim.wait_for_disconnect, -1, EXIT_WITHIN)
    assert ended is not None
    assert relay_sim.requests[-1].client_disconnected
    # The editor was still there: the job put the original back before the server left.
    assert client.docs[uri].text == SOURCE


# ---------------------------------------------------------------- a terminal


def read_until(fd: int, marker: bytes | None, size: int = 0) -> bytes:
    """Reads fd until marker (or size bytes) arrived, for at most ANSWER_WITHIN seconds."""
    import select

    data = b""
    deadline = time.monotonic() + ANSWER_WITHIN
    for _ in range(10_000):
        if (marker is not None and marker in data) or (marker is None and len(data) >= size):
            break
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def test_terminal_says_what_it_waits_for_then_serves(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    import termios
    import tty

    try:
        master, slave = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pty here: {exc}")
    # Raw: the line discipline would turn the \r of LSP headers into \n.
    tty.setraw(slave, termios.TCSANOW)
    stderr = tmp_path / "stderr.txt"
    try:
        with stderr.open("wb") as err:
            proc = subprocess.Popen(
                SERVER,
                stdin=slave,
                stdout=subprocess.PIPE,
                stderr=err,
                env=server_env(tmp_path),
                cwd=REPO,
                start_new_session=True,  # the pty is not its controlling terminal: no SIGHUP
            )
        os.close(slave)
        try:
            os.write(master, frame(initialize()))
            assert proc.stdout is not None
            received = read_until(proc.stdout.fileno(), b'"serverInfo"')
            assert b'"serverInfo"' in received, received
            header, _, body = received.partition(b"\r\n\r\n")
            assert header.startswith(b"Content-Length:")
            length = int(header.split(b"\r\n")[0].split(b":")[1])
            body += read_until(proc.stdout.fileno(), None, length - len(body))
            answer = json.loads(body)
            assert answer["result"]["serverInfo"]["name"] == "gpt-lsp"
            hung_up = time.monotonic()
            os.close(master)  # the terminal goes away
            master = -1
            code = proc.wait(EXIT_WITHIN)
            assert time.monotonic() - hung_up < EXIT_WITHIN
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    finally:
        if master >= 0:
            os.close(master)
    text = stderr.read_text()
    assert code == 0, text
    assert "waits for an LSP client" in text and "gpt-lsp check" in text
    assert_clean(text)


# ---------------------------------------------------------------- the client says exit

SHUTDOWN = {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}
EXIT = {"jsonrpc": "2.0", "method": "exit", "params": None}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [([SHUTDOWN, EXIT], 0), ([EXIT], 1)],
    ids=["shutdown then exit", "exit alone"],
)
def test_exit_code_follows_lsp(
    tmp_path: Path, messages: list[dict[str, Any]], expected: int
) -> None:
    data = b"".join(frame(m) for m in [initialize(), *messages])
    proc, took = run_sync(tmp_path, data=data)
    assert proc.returncode == expected, proc.stderr
    assert took < EXIT_WITHIN + 2.0
    assert_clean(proc.stderr.decode())


def test_input_that_is_not_lsp_ends_cleanly(tmp_path: Path) -> None:
    proc, _ = run_sync(tmp_path, data=b"x" * (2 << 20))  # one "header line" of 2 MiB
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc.stderr.decode())
