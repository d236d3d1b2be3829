"""The relay fault matrix, end to end: the real server over stdio against relay simulators.

Every fault a relay puts on the wire (docs/relays.md), before the first byte and mid-stream: the job
either fails over / retries (bounded) and completes, or fails with exactly one Error message
naming the relay, the HTTP status and the relay's own words plus what to do; the document is
byte-exact as before the job, and the next job on the same server works. README.md's "When the
relay fails" table mirrors these cases.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.conftest import RelaySimFactory
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, start_editor
from tests.relay_sim import (
    CF_524,
    INVALID_TOKEN,
    MODEL_DENIED,
    MSG_INVALID_TOKEN,
    MSG_NO_CHANNEL,
    MSG_QUOTA_EXHAUSTED,
    MSG_SATURATED,
    MSG_TOKEN_EXPIRED,
    MSG_USER_QUOTA,
    NO_CHANNEL,
    QUOTA_EXHAUSTED,
    SATURATED,
    TOKEN_EXPIRED,
    USER_QUOTA,
    RelaySim,
    Scenario,
)

# CRLF, CJK and an astral emoji: a restore that is off by one code unit shows.
SOURCE = "x = 1\r\n# 中文 😀\r\ndef f():\r\n    return 1\r\n\r\nprint(f())\r\n"
REGION = {"start": {"line": 1, "character": 0}, "end": {"line": 4, "character": 0}}
ANSWER = "def f() -> int:\n    return 2\n"
LONG = "".join(f"y{i} = {i}\n" for i in range(40))
GOOD = Scenario(text=ANSWER)
# Short enough to test timeouts, long enough that a loaded machine's backup answers in time.
FAST = {"firstByteTimeout": 1.5, "idleTimeout": 1.5, "connectTimeout": 2}
DONE_TEXT = "x = 1\r\ndef f() -> int:\r\n    return 2\r\n\r\nprint(f())\r\n"


def streaming(**changes: Any) -> Scenario:
    """A stream whose fault comes after some text has reached the document."""
    return Scenario(text=LONG, chunk_size=3, pace=0.02).replace(**changes)


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    id: str
    primary: tuple[Scenario, ...]  # queued on the main host, in order
    words: tuple[str, ...] = ()  # in the one Error message (failures only)
    requests: int = 1  # chat requests the main host must have seen (bounds the retries)
    outcome: str = "failed"  # or "done" (failover, or a retry that worked)
    backup: bool = False  # a backup simulator in backupUrls
    backup_requests: int = 0
    backup_faults: tuple[Scenario, ...] = ()  # queued on the backup host
    refused: bool = False  # the main host is a closed port
    mid_stream: bool = False  # text reached the document before the fault
    relay: dict[str, Any] = field(default_factory=dict)  # extra relay settings


CASES = [
    # ---------------------------------------------------------------- CDN / gateway pages
    Case(
        "524-html",
        (CF_524,),
        ("HTTP 524", "A timeout occurred", "backupUrls"),
    ),
    Case("524-html-failover", (CF_524,), outcome="done", backup=True, backup_requests=1),
    Case(
        "502-html-retried-once",
        (Scenario(html_status=502), Scenario(html_status=502)),
        ("HTTP 502", "Bad gateway", "backupUrls"),
        requests=2,
    ),
    Case(
        "503-html-failover",
        (Scenario(html_status=503),),
        outcome="done",
        backup=True,
        backup_requests=1,
    ),
    Case(
        "504-html",
        (Scenario(html_status=504),),
        ("HTTP 504", "Gateway time-out", "backupUrls"),
    ),
    Case(
        "every-host-fails",
        (CF_524,),
        ("HTTP 502", "all 2 hosts", "backupUrls"),
        backup=True,
        backup_requests=1,
        backup_faults=(Scenario(html_status=502),),
    ),
    # ---------------------------------------------------------------- JSON 5xx from the relay
    Case(
        "500-json-retried-once",
        (Scenario.error(500, "upstream error: do request failed"),) * 2,
        ("HTTP 500", "upstream error: do request failed", "(request id:"),
        requests=2,
    ),
    Case(
        "500-then-ok",
        (Scenario.error(500, "upstream error: do request failed"), GOOD),
        requests=2,
        outcome="done",
    ),
    Case(
        "502-json-retried-once",
        (Scenario.error(502, "bad response status code 502"),) * 2,
        ("HTTP 502", "bad response status code 502"),
        requests=2,
    ),
    Case(
        "503-no-channel-not-retried",
        (NO_CHANNEL,),
        ("HTTP 503", MSG_NO_CHANNEL.replace("{model}", "gpt-4"), "model picker", ":GptModel"),
    ),
    Case(
        "504-json",
        (Scenario.error(504, "upstream timeout"),),
        ("HTTP 504", "upstream timeout"),
    ),
    # ---------------------------------------------------------------- network and time
    Case("refused", (), ("cannot connect", "Check baseUrl"), requests=0, refused=True),
    Case(
        "refused-failover",
        (),
        requests=0,
        refused=True,
        outcome="done",
        backup=True,
        backup_requests=1,
    ),
    Case(
        "first-byte-timeout",
        (Scenario(first_byte_delay=5),),
        ("no answer within 1.5 s", "raise `timeout`"),
        relay=FAST,
    ),
    Case(
        "first-byte-timeout-failover",
        (Scenario(first_byte_delay=5),),
        outcome="done",
        backup=True,
        backup_requests=1,
        relay=FAST,
    ),
    Case(
        "silence-mid-stream",
        (streaming(hang_after=8),),
        ("went silent for 1.5 s", "try again"),
        mid_stream=True,
        relay=FAST,
    ),
    Case(
        "drop-mid-stream",
        (streaming(drop_after=8),),
        ("dropped mid-answer", "try again"),
        mid_stream=True,
    ),
    Case(
        "reset-mid-stream",
        (streaming(drop_after=8, drop_with_reset=True),),
        ("dropped", "try again"),
        mid_stream=True,
    ),
    Case(
        "drop-mid-stream-never-fails-over",
        (streaming(drop_after=8),),
        ("dropped mid-answer",),
        mid_stream=True,
        backup=True,
    ),
    Case(
        "drop-before-first-byte",
        (Scenario(drop_after=0, role_chunk=False),),
        ("relay 'default'", "Check baseUrl"),
        requests=1,
    ),
    # ---------------------------------------------------------------- errors inside a 200
    Case(
        "200-json-error",
        (Scenario(json_error_on_200=True, error_message="upstream error: 上游超时"),),
        ("upstream error: 上游超时",),
    ),
    Case(
        "error-event-mid-stream",
        (streaming(error_event_after=8, error_message="upstream stream error: 连接中断"),),
        ("upstream stream error: 连接中断",),
        mid_stream=True,
    ),
    Case(
        "error-event-first",
        (Scenario(error_event_after=0, error_message="上游返回错误"),),
        ("上游返回错误",),
    ),
    Case(
        "malformed-sse-first",
        (Scenario(malformed_after=0),),
        ("not JSON", "OpenAI-compatible"),
    ),
    Case(
        "malformed-sse-mid-stream",
        (streaming(malformed_after=8),),
        ("not JSON",),
        mid_stream=True,
    ),
    Case(
        "truncated-with-done",
        (streaming(text=LONG[:60], finish_reason=None),),
        ("after [DONE]", "finish_reason", "try again"),
        mid_stream=True,
    ),
    Case(
        "truncated-without-done",
        (streaming(text=LONG[:60], finish_reason=None, send_done=False),),
        ("without [DONE]", "finish_reason", "try again"),
        mid_stream=True,
    ),
    Case(
        "empty-stream",
        (Scenario(text="", finish_reason=None),),
        ("relay 'default'",),
    ),
    # ---------------------------------------------------------------- one-api's own words
    Case("401-invalid-token", (INVALID_TOKEN,), ("HTTP 401", MSG_INVALID_TOKEN, "API key")),
    Case("401-quota", (QUOTA_EXHAUSTED,), ("HTTP 401", MSG_QUOTA_EXHAUSTED, "Top up")),
    Case("401-expired", (TOKEN_EXPIRED,), ("HTTP 401", MSG_TOKEN_EXPIRED, "API key")),
    Case(
        "403-model",
        (MODEL_DENIED,),
        ("HTTP 403", "该令牌无权使用模型：gpt-4", "model picker", "Select Model"),
    ),
    Case("403-user-quota", (USER_QUOTA,), ("HTTP 403", MSG_USER_QUOTA, "Top up")),
    Case(
        "429-retried-twice",
        (SATURATED.replace(retry_after="0"),) * 3,
        ("HTTP 429", MSG_SATURATED, "try again"),
        requests=3,
    ),
    Case(
        "429-then-ok",
        (SATURATED.replace(retry_after="0"), GOOD),
        requests=2,
        outcome="done",
    ),
]


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def errors_of(editor: Editor) -> list[str]:
    return [m.message for m in editor.client.messages if m.type == types.MessageType.Error]


async def chat(editor: Editor, uri: str) -> dict[str, Any]:
    job = await editor.command(
        "gptLsp.chat", {"uri": uri, "range": REGION, "instruction": "return 2"}
    )
    return await editor.wait_finished(job["jobId"], timeout=20)


async def configure(editor: Editor, options: dict[str, Any]) -> None:
    """Gives a running server new settings and waits until it uses them."""
    # Relay settings are user-level: the gptLsp section is the project's and cannot set them.
    editor.client.protocol.notify("gptLsp/didChangeUserSettings", {"settings": options})
    url = options["baseUrl"]
    async with asyncio.timeout(10):
        while True:
            status = await editor.command("gptLsp.status")
            if [r["url"] for r in status["relays"]] == [url]:
                return
            await asyncio.sleep(0.02)


def case_options(
    case: Case, relay_sim: RelaySim, relay_sim_factory: RelaySimFactory
) -> tuple[dict[str, Any], RelaySim | None]:
    """The settings of a case, and its backup simulator."""
    relay_sim.enqueue(*case.primary)
    options = relay_options(relay_sim)
    if case.refused:
        options["baseUrl"] = f"http://127.0.0.1:{closed_port()}/v1"
    backup = None
    if case.backup:
        backup = relay_sim_factory(name="backup")
        backup.default = GOOD
        backup.enqueue(*case.backup_faults)
        options["backupUrls"] = [backup.base_url]
    options["relays"] = {"default": dict(case.relay)}
    return options, backup


async def run_case(
    case: Case, editor: Editor, relay_sim: RelaySim, backup: RelaySim | None
) -> None:
    seen_errors = len(errors_of(editor))
    seen_edits = editor.edits_applied
    uri = editor.open(f"fault-{case.id}.py", SOURCE)

    finished = await chat(editor, uri)

    assert finished["status"] == case.outcome, finished
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == case.requests, [r.status for r in chats]
    if backup is not None:
        assert len(backup.requests) == case.backup_requests
    errors = errors_of(editor)[seen_errors:]
    if case.outcome == "done":
        assert editor.text(uri) == DONE_TEXT
        assert errors == []
    else:
        await editor.wait_until(lambda: editor.text(uri) == SOURCE, timeout=5)
        assert editor.text(uri).encode() == SOURCE.encode()
        if case.mid_stream:
            # The answer had started to arrive: something was written, then taken back.
            assert editor.edits_applied - seen_edits >= 2, editor.edits_applied
        assert len(errors) == 1, errors
        message = errors[0]
        assert message.startswith("relay 'default' (127.0.0.1:"), message
        for words in case.words:
            assert words in message, (words, message)
        assert finished["message"] == message
        assert "Traceback" not in message and 'File "' not in message
        assert "--model" not in message  # the command line's advice; the editor has a picker
        assert "above" not in message  # one line: nothing is above it

    # The server is alive and the next job works.
    relay_sim.default = GOOD
    if backup is not None:
        backup.default = GOOD
    if case.refused and not case.backup:
        return  # no relay to talk to: the failover case covers the next job
    before = editor.text(uri)
    again = await chat(editor, uri)
    assert again["status"] == "done", again
    assert editor.text(uri) != before and "return 2" in editor.text(uri)
    assert len(errors_of(editor)) - seen_errors == len(errors)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vscode(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Editor]:
    """One VS Code-profile server for the whole matrix, reconfigured per case (fast)."""
    editor = await start_editor(tmp_path_factory.mktemp("matrix"), "vscode", "utf-16", {})
    yield editor
    try:
        await editor.shutdown()
    finally:
        await editor.client.stop()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_fault(
    case: Case,
    vscode: Editor,
    relay_sim: RelaySim,
    relay_sim_factory: RelaySimFactory,
) -> None:
    options, backup = case_options(case, relay_sim, relay_sim_factory)
    await configure(vscode, options)
    await run_case(case, vscode, relay_sim, backup)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in ("drop-mid-stream", "524-html-failover", "401-quota")],
    ids=lambda c: c.id,
)
async def test_fault_in_neovim(
    case: Case,
    make_editor: EditorFactory,
    relay_sim: RelaySim,
    relay_sim_factory: RelaySimFactory,
) -> None:
    options, backup = case_options(case, relay_sim, relay_sim_factory)
    editor = await make_editor(options, "neovim", "utf-8")
    await run_case(case, editor, relay_sim, backup)
