"""Fuzzing the server over stdio: random and malformed JSON-RPC frames and didChange shapes
(hypothesis, derandomized, bounded). After each one the server still answers gptLsp.status,
every request that can be read gets an answer, and stderr never shows a traceback."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.editor import REPO, server_env
from tests.e2e.raw_client import SERVER, assert_clean, frame, initialize

ANSWER_WITHIN = 10.0
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
URI = "file:///tmp/gpt-lsp-fuzz/f.py"
SOURCE = "import os\n\ndef add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"


class StdioServer:
    """The server on pipes, read by a thread: messages land in a queue."""

    def __init__(self, tmp: Path) -> None:
        self.stderr_path = tmp / "stderr.txt"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            SERVER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=server_env(tmp),
            cwd=REPO,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.answers: dict[Any, dict[str, Any]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._ids = 0

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for _ in range(10_000_000):  # bounded; the server's end ends it far sooner
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = stdout.read(1)
                if not byte:
                    return
                header += byte
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            self.messages.put(json.loads(stdout.read(length)))

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def answer(self, msg_id: Any, timeout: float = ANSWER_WITHIN) -> dict[str, Any]:
        """Waits for the answer to request `msg_id` (answers come in any order: the others
        are kept for their turn)."""
        if (kept := self.answers.pop(msg_id, None)) is not None:
            return kept
        deadline = time.monotonic() + timeout
        for _ in range(1_000_000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if "method" in message and "id" in message:  # a request of the server's: answer
                self.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
            elif message.get("id") == msg_id:
                return message
            elif "id" in message and isinstance(message["id"], (int, str)):
                self.answers[message["id"]] = message
        raise AssertionError(f"request {msg_id!r} got no answer within {timeout} s")

    def request(self, method: str, params: Any) -> dict[str, Any]:
        self._ids += 1
        msg_id = f"fuzz-{self._ids}"
        self.write(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        return self.answer(msg_id)

    def status(self) -> None:
        params = {"command": "gptLsp.status", "arguments": [{}]}
        answer = self.request("workspace/executeCommand", params)
        assert answer.get("result", {}).get("version"), answer

    def close(self) -> str:
        if self.proc.poll() is None:
            try:
                self.write(frame({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}))
                self.write(frame({"jsonrpc": "2.0", "method": "exit"}))
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StdioServer]:
    served = StdioServer(tmp_path)
    try:
        served.write(frame(initialize(1, {"baseUrl": "http://127.0.0.1:9/v1", "apiKey": "sk-x"})))
        served.answer(1)
        served.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        item = {"uri": URI, "languageId": "python", "version": 1, "text": SOURCE}
        served.write(
            frame(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {"textDocument": item},
                }
            )
        )
        yield served
    finally:
        stderr = served.close()
    assert_clean(stderr)


# ---------------------------------------------------------------- strategies

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
METHODS = st.sampled_from(
    [
        "workspace/executeCommand",
        "textDocument/codeAction",
        "textDocument/codeLens",
        "textDocument/didChange",
        "textDocument/didOpen",
        "textDocument/didClose",
        "textDocument/inlineCompletion",
        "textDocument/hover",
        "workspace/didChangeConfiguration",
        "gptLsp/didChangeUserSettings",
        "$/cancelRequest",
        "window/workDoneProgress/cancel",
        "initialize",
        "no/such/method",
    ]
) | st.text(max_size=20)
IDS = st.integers(-(2**40), 2**40) | st.text(max_size=6) | st.none() | st.floats()
COMMANDS = st.sampled_from(
    ["gptLsp.status", "gptLsp.accept", "gptLsp.reject", "gptLsp.cancel", "gptLsp.nope"]
)
POSITION = st.fixed_dictionaries(
    {"line": st.integers(-3, 12) | st.just(2**40), "character": st.integers(-5, 40)}
)
RANGE = st.fixed_dictionaries({"start": POSITION, "end": POSITION}) | st.none() | JSON
CHANGE = st.fixed_dictionaries(
    {"text": st.text(alphabet=st.sampled_from(list("ab \n\r中😀\t")), max_size=8) | JSON},
    optional={"range": RANGE},
)
DID_CHANGE = st.fixed_dictionaries(
    {
        "textDocument": st.fixed_dictionaries(
            {"uri": st.just(URI), "version": st.integers(-2, 40) | JSON}
        ),
        "contentChanges": st.lists(CHANGE, max_size=3) | JSON,
    }
)
MESSAGE = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0", 2]), "method": METHODS},
    optional={"id": IDS, "params": JSON},
)
EXECUTE = st.fixed_dictionaries(
    {
        "jsonrpc": st.just("2.0"),
        "id": st.integers(0, 10**6),
        "method": st.just("workspace/executeCommand"),
        "params": st.fixed_dictionaries({"command": COMMANDS}, optional={"arguments": JSON}),
    }
)
NOTIFY_CHANGE = DID_CHANGE.map(
    lambda params: {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params}
)
BODIES = (
    st.binary(max_size=40)
    | JSON.map(lambda v: json.dumps(v).encode())
    | MESSAGE.map(lambda m: json.dumps(m).encode())
    | EXECUTE.map(lambda m: json.dumps(m).encode())
    | NOTIFY_CHANGE.map(lambda m: json.dumps(m).encode())
)


def framed(body: bytes, extra_header: bool) -> bytes:
    header = f"Content-Length: {len(body)}\r\n".encode()
    if extra_header:
        header += b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
    return header + b"\r\n" + body


def readable_request(body: bytes) -> Any:
    """The id of a request the server can read (and so must answer), else None."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):  # any object with a method and an id is answered
        return None
    msg_id = message.get("id")
    if not isinstance(message.get("method"), str) or isinstance(msg_id, bool):
        return None
    if not isinstance(msg_id, (int, str)) or message["method"] in ("shutdown", "exit"):
        return None
    return msg_id


# ---------------------------------------------------------------- the tests


def test_random_frames_never_silence_the_server(server: StdioServer) -> None:
    @FUZZ
    @given(bodies=st.lists(BODIES, min_size=1, max_size=3), extra=st.booleans())
    def one(bodies: list[bytes], extra: bool) -> None:
        ids = []
        server.answers.clear()  # late answers of requests no one waits for
        for body in bodies:
            msg_id = readable_request(body)
            if msg_id is not None and msg_id in ids:
                continue  # one answer per id: a second request with it is the client's bug
            server.write(framed(body, extra))
            if msg_id is not None:
                ids.append(msg_id)
        for msg_id in ids:
            server.answer(msg_id)
        server.status()

    one()
    # Still a working server: a document can be opened and asked about.
    answer = server.request("textDocument/codeLens", {"textDocument": {"uri": URI}})
    assert "result" in answer or "error" in answer


def test_random_did_change_shapes_never_silence_the_server(server: StdioServer) -> None:
    @FUZZ
    @given(params=DID_CHANGE)
    def one(params: dict[str, Any]) -> None:
        server.write(
            frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params})
        )
        server.status()

    one()
