"""A watchdog over hostile clients: an editor that refuses every edit, one a version ahead, one
that says it applied edits it skipped, malformed didChanges and malformed requests. Whatever the
client does, every request (status, reject, shutdown) is answered within a bound, jobs end, the
document is never corrupted, and `exit` or a closed stdin ends the process at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TEST_API_KEY
from tests.e2e.raw_client import (
    EXIT_WITHIN,
    SLOW_ANSWER,
    SOURCE,
    Client,
    EditPolicy,
    assert_clean,
)
from tests.relay_sim import RelaySim, Scenario

# No request may wait longer than this while the server has a stuck job (2 loaded cores).
ANSWER_BOUND = 15.0  # a wedged loop never answers; measured: 1 s (reject), 3.4 s (refused edits)
# A reject waits for the restore: bounded retries of a refused edit, then it gives up.
REJECT_BOUND = 15.0
# A job whose every edit is refused ends (failed) within this.
END_BOUND = 20.0
ANSWER = Scenario(text="def add(a, b):\n    return a + b\n", chunk_size=4)

StartClient = Callable[..., Awaitable[Client]]


@pytest_asyncio.fixture
async def start_client(tmp_path: Path) -> AsyncIterator[StartClient]:
    """Starts servers with a raw client each; kills any still running at teardown."""
    started: list[Client] = []

    async def start(sim: RelaySim, policy: EditPolicy = "apply") -> Client:
        options = {"baseUrl": sim.base_url, "apiKey": TEST_API_KEY, "model": "gpt-4"}
        client = await Client.start(tmp_path, options)
        client.policy = policy
        started.append(client)
        return client

    yield start
    for client in started:
        await client.kill()


async def answered_within(client: Client, bound: float, command: str, argument: Any) -> Any:
    """Runs a command; fails the test when its answer takes longer than `bound`."""
    started = time.monotonic()
    try:
        result = await client.command(command, argument, timeout=bound)
    except TimeoutError:
        pytest.fail(f"{command} was not answered within {bound} s")
    took = time.monotonic() - started
    assert took < bound, (command, took)
    return result


async def status_answers(client: Client) -> dict[str, Any]:
    status = await answered_within(client, ANSWER_BOUND, "gptLsp.status", {})
    assert isinstance(status, dict) and status.get("version"), status
    return status


async def exits_after_shutdown(client: Client) -> str:
    """shutdown is answered within the bound, then exit ends the process with 0; returns
    the server's stderr."""
    started = time.monotonic()
    answer = await client.answer_of("shutdown", None, timeout=ANSWER_BOUND)
    assert "error" not in answer, answer
    assert time.monotonic() - started < ANSWER_BOUND
    exiting = time.monotonic()
    client.notify("exit", None)
    code, took, stderr = await client.wait_exit(exiting)
    assert code == 0, stderr
    assert took < EXIT_WITHIN
    assert_clean(stderr)
    return stderr


# ---------------------------------------------------------------- edits the client refuses


@pytest.mark.parametrize("policy", ["refuse", "ahead"])
async def test_a_job_whose_edits_are_all_refused_fails_with_a_message(
    start_client: StartClient, relay_sim: RelaySim, policy: EditPolicy
) -> None:
    client = await start_client(relay_sim, policy)
    uri, job_id = await client.start_job(relay_sim, ANSWER)
    await status_answers(client)
    finished = await client.wait_finished(job_id, END_BOUND)
    assert finished["status"] == "failed", finished
    assert "refused" in finished["message"], finished
    assert client.edit_requests <= 8  # a few tries, not a loop
    assert client.docs[uri].text == SOURCE
    await status_answers(client)
    await exits_after_shutdown(client)


@pytest.mark.parametrize("policy", ["refuse", "ahead", "skip"])
async def test_reject_status_and_shutdown_answer_while_edits_go_nowhere(
    start_client: StartClient, relay_sim: RelaySim, policy: EditPolicy
) -> None:
    client = await start_client(relay_sim, policy)
    uri, job_id = await client.start_job(relay_sim, SLOW_ANSWER)
    for _ in range(200):  # the first edits went out (and nowhere)
        if client.edit_requests:
            break
        await asyncio.sleep(0.01)
    await status_answers(client)
    result = await answered_within(client, REJECT_BOUND, "gptLsp.reject", {"jobId": job_id})
    assert isinstance(result, dict) and "ok" in result, result
    await status_answers(client)
    finished = await client.wait_finished(job_id, ANSWER_BOUND)
    assert finished["status"] in ("cancelled", "failed", "conflict"), finished
    assert client.docs[uri].text == SOURCE  # nothing landed, nothing corrupted
    await exits_after_shutdown(client)


@pytest.mark.parametrize("policy", ["refuse", "skip"])
@pytest.mark.parametrize("how", ["exit", "end of input"])
async def test_the_process_ends_with_its_client_while_a_job_is_stuck(
    start_client: StartClient, relay_sim: RelaySim, policy: EditPolicy, how: str
) -> None:
    client = await start_client(relay_sim, policy)
    _uri, job_id = await client.start_job(relay_sim, SLOW_ANSWER)
    for _ in range(200):
        if client.edit_requests:
            break
        await asyncio.sleep(0.01)
    # A reject in flight too: the channel is restoring when the client goes.
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 999,
            "method": "workspace/executeCommand",
            "params": {"command": "gptLsp.reject", "arguments": [{"jobId": job_id}]},
        }
    )
    await asyncio.sleep(0.1)
    ending = time.monotonic()
    if how == "exit":
        client.notify("exit", None)
    else:
        client.close_stdin()
    code, took, stderr = await client.wait_exit(ending)
    assert code == (1 if how == "exit" else 0), stderr  # exit without shutdown: 1 (LSP)
    assert took < EXIT_WITHIN, took
    assert_clean(stderr)


# ---------------------------------------------------------------- malformed input


def _r(l1: int, c1: int, l2: int, c2: int) -> dict[str, Any]:
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


MALFORMED_CHANGES: list[tuple[str, list[dict[str, Any]], int]] = [
    ("negative line", [{"range": _r(-1, 0, 0, 0), "text": "x"}], 2),
    ("negative character", [{"range": _r(0, -4, 0, 0), "text": "x"}], 2),
    ("range null", [{"range": None, "text": "x"}], 2),
    ("past the end", [{"range": _r(99, 0, 120, 0), "text": "x"}], 2),
    ("start after end", [{"range": _r(3, 0, 1, 0), "text": "x"}], 2),
    ("text not a string", [{"range": _r(0, 0, 0, 0), "text": 5}], 2),
    ("version backwards", [{"text": "garbage\n"}], 0),
]


@pytest.mark.parametrize(
    ("changes", "version"),
    [(c, v) for _, c, v in MALFORMED_CHANGES],
    ids=[name for name, _, _ in MALFORMED_CHANGES],
)
async def test_a_malformed_did_change_cannot_wedge_a_later_job_or_its_reject(
    start_client: StartClient, relay_sim: RelaySim, changes: list[dict[str, Any]], version: int
) -> None:
    client = await start_client(relay_sim)
    uri, job_id = await client.start_job(relay_sim, ANSWER, "before.py")
    await client.wait_finished(job_id)
    await answered_within(client, REJECT_BOUND, "gptLsp.reject", {"jobId": job_id})
    assert client.docs[uri].text == SOURCE
    # The client's own copy stays as it is: the server must keep its copy the same.
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
    )
    await status_answers(client)
    argument = {
        "uri": uri,
        "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
        "instruction": "spaces around +",
    }
    relay_sim.default = ANSWER
    result = await answered_within(client, ANSWER_BOUND, "gptLsp.chat", argument)
    finished = await client.wait_finished(result["jobId"], END_BOUND)
    assert finished["status"] == "done", finished
    assert client.docs[uri].text == SOURCE.replace("a+b", "a + b")
    result = await answered_within(
        client, REJECT_BOUND, "gptLsp.reject", {"jobId": result["jobId"]}
    )
    assert result == {"ok": True}
    assert client.docs[uri].text == SOURCE
    await exits_after_shutdown(client)


MALFORMED_REQUESTS: list[tuple[str, Any]] = [
    ("workspace/executeCommand", {"command": "gptLsp.status", "arguments": 5}),
    ("workspace/executeCommand", {"command": "gptLsp.run", "arguments": "x"}),
    ("workspace/executeCommand", {"command": 5}),
    ("workspace/executeCommand", None),
    ("workspace/executeCommand", []),
    ("textDocument/codeAction", {"textDocument": None, "range": None}),
    ("textDocument/codeLens", {"textDocument": 7}),
    ("textDocument/codeAction", {"textDocument": {"uri": "file:///x"}, "range": _r(-1, 0, 0, 0)}),
]


async def test_every_malformed_request_gets_an_error(
    start_client: StartClient, relay_sim: RelaySim
) -> None:
    client = await start_client(relay_sim)
    for method, params in MALFORMED_REQUESTS:
        try:
            answer = await client.answer_of(method, params, timeout=ANSWER_BOUND)
        except TimeoutError:
            pytest.fail(f"{method} {params!r} was never answered")
        assert "error" in answer, (method, params, answer)
        assert "Traceback" not in str(answer["error"])
    # coc.nvim cancels requests already answered, dozens per session: nothing to warn about.
    for msg_id in range(101, 140):
        client.notify("$/cancelRequest", {"id": msg_id})
    await status_answers(client)
    stderr = await exits_after_shutdown(client)
    assert "Cancel notification for unknown message id" not in stderr
