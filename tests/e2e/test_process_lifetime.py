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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TEST_API_KEY
from tests.e2e.editor import REPO, server_env
from tests.e2e.raw_client import (
    ANSWER_WITHIN,
    EXIT_WITHIN,
    SERVER,
    SOURCE,
    Client,
    assert_clean,
    frame,
    initialize,
)
from tests.relay_sim import RelaySim

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
