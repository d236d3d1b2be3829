"""Resource hygiene: many jobs leave no futures, tokens, tasks, channels or regions behind,
reuse a small pool of HTTP connections, and didChange floods do not grow memory."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.relay_sim import RelaySim, Scenario

JOBS = int(os.environ.get("GPT_LSP_TEST_JOBS", "1000"))
PARALLEL = 10
TEXT = "x = 1\n"
LINE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}


async def internal(editor: Editor) -> dict[str, int]:
    status = await editor.command("gptLsp.status")
    return dict(status["internal"]) | {"jobs": len(status["jobs"])}


async def settle(editor: Editor, want: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
    """Polls the counts until they match `want` (background work ends a moment after a job)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await internal(editor)
        if all(counts[k] == v for k, v in want.items()) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)


async def test_many_jobs_leave_nothing_behind(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = Scenario(text=TEXT)
    uris = [editor.open(f"r{i}.py", TEXT) for i in range(PARALLEL)]

    async def one(uri: str, accept: bool) -> None:
        job = await editor.command("gptLsp.chat", {"uri": uri, "range": LINE, "instruction": "x"})
        finished = await editor.wait_finished(job["jobId"], timeout=30)
        assert finished["status"] == "done", finished
        if accept:
            assert (await editor.command("gptLsp.accept", {"jobId": job["jobId"]}))["ok"]

    # Warm up: the first job loads modules and opens the connection pool.
    await asyncio.gather(*(one(uri, True) for uri in uris))
    baseline = await settle(editor, {"requestFutures": 1, "trackedRegions": 0, "jobs": 0})
    assert baseline["requestFutures"] == 1 and baseline["progressTokens"] == 0

    started = time.monotonic()
    for batch in range(JOBS // PARALLEL):
        # Every other batch is left unaccepted: finished jobs stay reviewable, but bounded.
        await asyncio.gather(*(one(uri, batch % 2 == 0) for uri in uris))
    elapsed = time.monotonic() - started
    after = await settle(
        editor, {"requestFutures": 1, "progressTokens": 0, "tasks": baseline["tasks"]}
    )
    assert after["requestFutures"] == 1, after  # only the status request itself
    assert after["progressTokens"] == 0, after
    assert after["tasks"] == baseline["tasks"], (baseline, after)
    assert after["channels"] == PARALLEL, after  # one per open document, no more
    assert after["jobs"] <= 50 and after["trackedRegions"] <= 50, after  # MAX_REVIEW_JOBS
    assert after["documents"] == PARALLEL
    assert all(editor.text(uri) == TEXT for uri in uris)

    # Accepting what is left empties the review list.
    status = await editor.command("gptLsp.status")
    for job in status["jobs"]:
        await editor.command("gptLsp.accept", {"jobId": job["jobId"]})
    final = await settle(editor, {"trackedRegions": 0, "jobs": 0})
    assert final["trackedRegions"] == 0 and final["jobs"] == 0, final

    # HTTP: a small pool of kept-alive connections, not one per job.
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == JOBS + PARALLEL
    ports = {r.peer_port for r in chats}
    assert None not in ports
    # Kept alive and reused: far fewer connections than requests. Not an exact count: a
    # connection the pool let go (10 kept alive for 10 parallel jobs) is reopened under load.
    assert len(ports) <= max(4 * PARALLEL, (JOBS + PARALLEL) // 10), len(ports)
    print(f"{JOBS} jobs in {elapsed:.1f} s over {len(ports)} connections")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def flood(editor: Editor, uri: str, count: int) -> None:
    for i in range(count):
        editor.type_at(uri, 0, "a" if i % 2 == 0 else "", 0 if i % 2 == 0 else 1)
        if i % 500 == 0:
            await asyncio.sleep(0)  # let the transport write
    await editor.command("gptLsp.status", timeout=60)  # answered after every change


async def test_did_change_flood_does_not_grow_memory(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    server: Any = editor.client._server
    pid = server.pid
    uri = editor.open("m.py", "def f():\n    return 1\n" * 20)
    await flood(editor, uri, 4000)  # warm-up: allocator pools, caches
    before = rss_kib(pid)
    await flood(editor, uri, 20_000)
    grown = rss_kib(pid) - before
    # A leak of 2 KiB per notification (pygls keeps a future each) would be 40 MiB.
    assert grown < 16 * 1024, f"RSS grew {grown} KiB over 20,000 didChange"
    assert (await internal(editor))["requestFutures"] == 1


def peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def reset_peak(pid: int) -> None:
    """Starts the peak RSS over from the current RSS (Linux: clear_refs 5)."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


ENDLESS = 128 * 1024 * 1024  # before its bound, a line this long held ~1 GiB at its peak
HOSTILE_STREAMS = {
    "endless-line": Scenario(endless_line=ENDLESS),
    "gzip-bomb": Scenario(endless_line=ENDLESS, content_encoding="gzip"),
    "deflate-bomb": Scenario(endless_line=ENDLESS, content_encoding="deflate"),
}
SOURCE = "def f():\n    return 1\n"
FUNCTION = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}


@pytest.mark.parametrize("name", list(HOSTILE_STREAMS))
async def test_a_stream_line_that_never_ends_fails_the_job_in_bounded_memory(
    make_editor: EditorFactory, relay_sim: RelaySim, name: str
) -> None:
    # A silence after the line ends the job too: the bound is what must end it first.
    editor = await make_editor(relay_options(relay_sim, idleTimeout=20))
    pid = editor.client._server.pid
    uri = editor.open("big.py", SOURCE)
    relay_sim.default = Scenario(text="def f():\n    return 2\n")
    warm = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": FUNCTION})
    assert (await editor.wait_finished(warm["jobId"]))["status"] == "done"
    assert (await editor.command("gptLsp.reject", {"jobId": warm["jobId"]}))["ok"]
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)

    before = rss_kib(pid)
    reset_peak(pid)
    relay_sim.enqueue(HOSTILE_STREAMS[name])
    job = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": FUNCTION})
    finished = await editor.wait_finished(job["jobId"], timeout=60)
    grown = peak_kib(pid) - before
    print(f"{name}: RSS {before / 1024:.0f} MiB, peak +{grown / 1024:.1f} MiB")
    assert finished["status"] == "failed", finished
    message = finished["message"]
    assert "stream line or event of more than" in message and "reading stopped" in message
    await editor.wait_until(lambda: editor.text(uri) == SOURCE, timeout=10)
    assert grown < 64 * 1024, f"peak RSS grew {grown} KiB under a {name} stream"
    assert relay_sim.wait_for_disconnect(timeout=5) is not None  # it hung up on the relay
    assert (await editor.command("gptLsp.status"))["jobs"]


async def test_two_hundred_jobs_at_once_wait_for_connections_and_all_finish(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    count = 200
    # Each answer holds its connection ~0.8 s: 200 jobs over 20 connections take ~8 s, far
    # past connectTimeout (the old pool timeout: 81 of 200 failed "overloaded" at 10 s).
    editor = await make_editor(relay_options(relay_sim, connectTimeout=0.5))
    relay_sim.default = Scenario(text="x = 2\n", chunk_size=1, pace=0.12)
    uris = [editor.open(f"many{i}.py", TEXT) for i in range(count)]
    started = time.monotonic()
    jobs = await asyncio.gather(
        *(
            editor.command("gptLsp.chat", {"uri": u, "range": LINE, "instruction": "x"}, 60)
            for u in uris
        )
    )
    await editor.wait_until(lambda: len(editor.finished) >= count, timeout=240)
    elapsed = time.monotonic() - started
    outcomes = Counter(f["status"] for f in editor.finished)
    reasons = Counter(f.get("message", "")[:80] for f in editor.finished if f["status"] != "done")
    print(f"{count} jobs at once: {dict(outcomes)} in {elapsed:.1f} s; {dict(reasons)}")
    assert outcomes == {"done": count}, reasons
    assert {f["jobId"] for f in editor.finished} == {j["jobId"] for j in jobs}
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == count
    # Never more than the pool's streams at the relay at once.
    edges = sorted([(r.received_at, 1) for r in chats] + [(r.ended_at or 0.0, -1) for r in chats])
    at_once = max(itertools.accumulate(step for _, step in edges))
    assert at_once <= 20, at_once
