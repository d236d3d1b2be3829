"""RelayClient against the relay simulator: real HTTP on 127.0.0.1, each quirk of docs/relays.md."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from gpt_lsp.errors import (
    AuthError,
    ConnectionsBusy,
    GatewayError,
    ModelDeniedError,
    QuotaError,
    RateLimitError,
    RelayConnectError,
    RelayError,
    RelayStatusError,
    RelayTimeout,
    TruncatedAnswer,
)
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from gpt_lsp.relay.request import Attempt, ChatRequest
from gpt_lsp.settings import RelayConfig
from tests.conftest import TEST_API_KEY, RelaySimFactory
from tests.relay_sim import (
    HANG_CAP,
    INVALID_TOKEN,
    MODEL_DENIED,
    MSG_INVALID_TOKEN,
    MSG_MODEL_DENIED,
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

MODEL = "gpt-4"
REQUEST = ChatRequest(messages=[{"role": "user", "content": "Say hello."}], model=MODEL)
WITH_SYSTEM = ChatRequest(
    messages=[
        {"role": "system", "content": "You write Python."},
        {"role": "user", "content": "Say hello."},
    ],
    model=MODEL,
)
# Text with multi-byte UTF-8, so split writes cut inside characters.
CJK_TEXT = "你好，世界！héllo — ünïcode ✓ 完成"
# No single test should come near this; it bounds a hang if the client regresses.
TEST_DEADLINE = 60.0

ClientFactory = Callable[..., RelayClient]


@dataclass
class Outcome:
    """Everything one stream produced: the events, then the error that ended it (if any)."""

    events: list[StreamEvent] = field(default_factory=list)
    error: RelayError | None = None

    @property
    def text(self) -> str:
        """The answer text (TextDelta only)."""
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def reasoning(self) -> str:
        """The reasoning text."""
        return "".join(e.text for e in self.events if isinstance(e, ReasoningDelta))

    @property
    def finishes(self) -> list[Finish]:
        """Finish events (at most one is expected)."""
        return [e for e in self.events if isinstance(e, Finish)]

    @property
    def usages(self) -> list[Usage]:
        """Usage events."""
        return [e for e in self.events if isinstance(e, Usage)]

    @property
    def tool_calls(self) -> list[ToolCallDelta]:
        """Tool-call deltas."""
        return [e for e in self.events if isinstance(e, ToolCallDelta)]


async def run(
    client: RelayClient, request: ChatRequest = REQUEST, attempt: Attempt | None = None
) -> Outcome:
    """Streams one request to its end, keeping the events seen before any error."""
    outcome = Outcome()

    async def consume() -> None:
        stream = client.stream_chat(request, attempt)
        try:
            async for event in stream:
                outcome.events.append(event)
        except RelayError as exc:
            outcome.error = exc
        finally:
            await stream.aclose()

    await asyncio.wait_for(consume(), TEST_DEADLINE)
    return outcome


async def no_wait(seconds: float) -> None:
    """A sleep for retry back-offs that the test does not want to wait out."""
    await asyncio.sleep(0)


def closed_port() -> int:
    """Returns a local port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def chat_requests(sim: RelaySim) -> list[Any]:
    """The chat requests the simulator received (not models or billing)."""
    return [r for r in sim.requests if r.path.endswith("/chat/completions")]


@pytest_asyncio.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Builds RelayClients with small timeouts; all are closed at teardown."""
    clients: list[RelayClient] = []

    def make(
        base_url: str,
        *,
        backups: tuple[str, ...] = (),
        key: str = TEST_API_KEY,
        sleep: Callable[[float], Any] | None = None,
        **config: Any,
    ) -> RelayClient:
        settings = {
            "baseUrl": base_url,
            "backupUrls": list(backups),
            # Generous unless a test is about a timeout (it sets its own): on a loaded machine
            # a 2 s first byte timed out, failed over to the backup and lost the answer.
            "connectTimeout": 10.0,
            "firstByteTimeout": 20.0,
            "idleTimeout": 20.0,
            "timeout": 40.0,
            **config,
        }
        relay = RelayConfig.model_validate(settings)
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        client = RelayClient("sim", relay, key, **extra)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# ---------------------------------------------------------------- framing quirks


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
async def test_line_endings(
    relay_sim: RelaySim, make_client: ClientFactory, line_ending: Any, split: bool
) -> None:
    relay_sim.default = Scenario(text=CJK_TEXT, line_ending=line_ending, split_writes=split)
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert outcome.text == CJK_TEXT
    assert outcome.finishes == [Finish("stop")]


@pytest.mark.parametrize(
    "quirk",
    [
        {"space_after_data": False},
        {"keepalive_comments": True},
        {"multiline_data": True},
        {"split_writes": True},
        {"split_writes": True, "multiline_data": True, "keepalive_comments": True},
        {"empty_choices_chunk": True},
        {"missing_delta_chunk": True},
        {"role_chunk": False},
    ],
    ids=lambda q: "+".join(q),
)
async def test_framing_quirks_give_the_same_answer(
    relay_sim: RelaySim, make_client: ClientFactory, quirk: dict[str, Any]
) -> None:
    relay_sim.default = Scenario(text=CJK_TEXT, chunk_size=3, **quirk)
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert outcome.text == CJK_TEXT
    assert outcome.finishes == [Finish("stop")]
    # The simulator really sent the quirk (an extra chunk, keep-alives...) and saw the end.
    record = chat_requests(relay_sim)[0]
    assert record.chunks_sent >= len(Scenario(text=CJK_TEXT, chunk_size=3).pieces()) + 2


async def test_split_writes_arrive_in_several_reads(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    # A slow split makes each piece its own TCP read: JSON and UTF-8 are cut across reads.
    relay_sim.default = Scenario(text="é✓你", chunk_size=1, split_writes=True, split_pause=0.02)
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert outcome.text == "é✓你"
    assert "\ufffd" not in outcome.text


async def test_empty_finish_reason_counts_as_complete(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(text="claude says hi", finish_reason="")
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert outcome.text == "claude says hi"
    assert outcome.finishes == [Finish("stop")]


@pytest.mark.parametrize("with_index", [True, False], ids=["index", "no-index"])
async def test_tool_call_deltas(
    relay_sim: RelaySim, make_client: ClientFactory, with_index: bool
) -> None:
    arguments = '{"code": "print(\'你好\')"}'
    relay_sim.default = Scenario(
        text=arguments, as_tool_calls=True, tool_call_index=with_index, finish_reason="tool_calls"
    )
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    calls = outcome.tool_calls
    assert {c.index for c in calls} == {0}
    assert calls[0].id == "call_sim0001" and calls[0].name == "apply_edit"
    assert "".join(c.arguments for c in calls) == arguments
    assert outcome.text == ""
    assert outcome.finishes == [Finish("tool_calls")]


@pytest.mark.parametrize("think_tags", [False, True], ids=["reasoning_content", "think-tags"])
async def test_reasoning_never_reaches_text(
    relay_sim: RelaySim, make_client: ClientFactory, think_tags: bool
) -> None:
    reasoning = "SECRET-REASONING: the user wants a greeting"
    relay_sim.default = Scenario(
        text="Hello!", reasoning=reasoning, think_tags=think_tags, chunk_size=5
    )
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert outcome.text == "Hello!"
    assert outcome.reasoning == reasoning
    assert "SECRET" not in outcome.text and "think>" not in outcome.text


# ---------------------------------------------------------------- usage and adaptation


async def test_usage_chunk_when_stream_options_asked(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(prompt_tokens=11, completion_tokens=7)
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None
    assert chat_requests(relay_sim)[0].json["stream_options"] == {"include_usage": True}
    assert outcome.usages == [Usage(prompt_tokens=11, completion_tokens=7)]


async def test_no_usage_chunk_when_stream_options_not_sent(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    client = make_client(relay_sim.base_url)
    client.quirks.no_stream_options = True
    outcome = await run(client)
    assert outcome.error is None
    assert "stream_options" not in chat_requests(relay_sim)[0].json
    assert outcome.usages == []


async def test_stream_options_rejected_retried_without_and_remembered(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(reject_stream_options=True, text="works")
    client = make_client(relay_sim.base_url)
    first = await run(client)
    second = await run(client)
    assert first.error is None and second.error is None
    assert first.text == second.text == "works"
    bodies = [r.json for r in chat_requests(relay_sim)]
    assert len(bodies) == 3  # rejected, retried, and the next request sent right at once
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1] and "stream_options" not in bodies[2]
    assert [r.status for r in chat_requests(relay_sim)] == [400, 200, 200]


async def test_system_role_rejected_folded_and_remembered(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(reject_system_role=True, text="ok")
    client = make_client(relay_sim.base_url)
    assert (await run(client, WITH_SYSTEM)).text == "ok"
    assert (await run(client, WITH_SYSTEM)).text == "ok"
    records = chat_requests(relay_sim)
    assert [r.status for r in records] == [400, 200, 200]
    folded = [{"role": "user", "content": "You write Python.\n\nSay hello."}]
    assert records[1].json["messages"] == folded
    assert records[2].json["messages"] == folded


async def test_max_tokens_rejected_renamed_and_remembered(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(reject_max_tokens=True, text="ok")
    client = make_client(relay_sim.base_url)
    request = ChatRequest(REQUEST.messages, "o1-mini", max_tokens=64)
    assert (await run(client, request)).text == "ok"
    assert (await run(client, request)).text == "ok"
    records = chat_requests(relay_sim)
    assert [r.status for r in records] == [400, 200, 200]
    assert records[0].json["max_tokens"] == 64
    for record in records[1:]:
        assert record.json["max_completion_tokens"] == 64
        assert "max_tokens" not in record.json


# ---------------------------------------------------------------- relay errors


@pytest.mark.parametrize(
    ("scenario", "error_class", "message", "status"),
    [
        (INVALID_TOKEN, AuthError, MSG_INVALID_TOKEN, 401),
        (TOKEN_EXPIRED, AuthError, MSG_TOKEN_EXPIRED, 401),
        (QUOTA_EXHAUSTED, QuotaError, MSG_QUOTA_EXHAUSTED, 401),
        (MODEL_DENIED, ModelDeniedError, MSG_MODEL_DENIED.replace("{model}", MODEL), 403),
        (USER_QUOTA, QuotaError, MSG_USER_QUOTA, 403),
        (SATURATED, RateLimitError, MSG_SATURATED, 429),
        (NO_CHANNEL, ModelDeniedError, MSG_NO_CHANNEL.replace("{model}", MODEL), 503),
    ],
    ids=[
        "INVALID_TOKEN",
        "TOKEN_EXPIRED",
        "QUOTA_EXHAUSTED",
        "MODEL_DENIED",
        "USER_QUOTA",
        "SATURATED",
        "NO_CHANNEL",
    ],
)
async def test_one_api_error_presets(
    relay_sim: RelaySim,
    make_client: ClientFactory,
    scenario: Scenario,
    error_class: type[RelayStatusError],
    message: str,
    status: int,
) -> None:
    relay_sim.default = scenario
    outcome = await run(make_client(relay_sim.base_url, sleep=no_wait))
    error = outcome.error
    assert type(error) is error_class
    assert isinstance(error, RelayStatusError)
    assert error.status == status
    assert error.relay_message.startswith(message + " (request id: ")
    shown = error.user_message()
    assert error.relay_message in shown  # verbatim, request id included
    assert f"HTTP {status}" in shown
    assert error_class.hint and f"{error.relay_message}. {error_class.hint}" in shown
    if isinstance(error, ModelDeniedError):
        # A model error names the models the relay lists, so the user can pick one.
        assert shown.endswith(
            "The relay lists: claude-3-opus-20240229, gpt-3.5-turbo, gpt-4, gpt-4-1106-preview."
        )
    else:
        assert shown.endswith(error_class.hint)
    assert TEST_API_KEY not in shown
    assert outcome.events == []
    # Only a 429 is retried (twice); none of the others heals on a retry, a 503 "no channel"
    # neither: one request.
    assert len(chat_requests(relay_sim)) == (3 if error_class is RateLimitError else 1)


async def test_http_200_with_json_error(relay_sim: RelaySim, make_client: ClientFactory) -> None:
    relay_sim.default = Scenario(json_error_on_200=True)
    outcome = await run(make_client(relay_sim.base_url, sleep=no_wait))
    assert isinstance(outcome.error, RelayStatusError)
    assert "upstream error: do request failed" in outcome.error.user_message()
    assert outcome.events == []
    assert len(chat_requests(relay_sim)) == 1


async def test_json_error_on_200_is_classified_by_message(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(json_error_on_200=True, error_message=MSG_QUOTA_EXHAUSTED)
    outcome = await run(make_client(relay_sim.base_url))
    assert type(outcome.error) is QuotaError
    assert MSG_QUOTA_EXHAUSTED in outcome.error.user_message()


@pytest.mark.parametrize("send_done", [True, False], ids=["done", "no-done"])
async def test_error_event_mid_stream(
    relay_sim: RelaySim, make_client: ClientFactory, send_done: bool
) -> None:
    relay_sim.default = Scenario(
        text="abcdefgh",
        chunk_size=2,
        error_event_after=2,
        error_message="upstream read failed",
        send_done=send_done,
    )
    outcome = await run(make_client(relay_sim.base_url, backups=(relay_sim.base_url + "x",)))
    assert outcome.text == "abcd"  # the text that arrived first is kept
    assert isinstance(outcome.error, RelayStatusError)
    assert "upstream read failed" in outcome.error.user_message()
    assert outcome.finishes == []
    assert len(chat_requests(relay_sim)) == 1


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_connection_dropped_mid_stream_is_not_retried(
    relay_sim: RelaySim,
    make_client: ClientFactory,
    relay_sim_factory: RelaySimFactory,
    reset: bool,
) -> None:
    backup = relay_sim_factory()
    relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, drop_after=2, drop_with_reset=reset)
    outcome = await run(make_client(relay_sim.base_url, backups=(backup.base_url,)))
    assert outcome.text == "abcd"
    # The answer is cut short; the advice is to try again, not to doubt baseUrl.
    assert type(outcome.error) is TruncatedAnswer
    assert "dropped" in outcome.error.user_message()
    assert outcome.finishes == []
    assert len(relay_sim.requests) == 1  # text was already shown: no retry, no failover
    assert backup.requests == []


@pytest.mark.parametrize(
    ("finish_reason", "send_done"),
    [(None, True), (None, False), ("", False)],
    ids=["no-finish+DONE", "no-finish", "empty-finish-no-DONE"],
)
async def test_truncated_stream(
    relay_sim: RelaySim,
    make_client: ClientFactory,
    finish_reason: str | None,
    send_done: bool,
) -> None:
    relay_sim.default = Scenario(
        text="half an ans", finish_reason=finish_reason, send_done=send_done
    )
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.text == "half an ans"
    assert type(outcome.error) is TruncatedAnswer
    assert outcome.error.hint in outcome.error.user_message()
    assert len(relay_sim.requests) == 1


# ---------------------------------------------------------------- failover and timeouts


async def test_cloudflare_524_fails_over_and_backup_is_preferred(
    relay_sim_factory: RelaySimFactory, make_client: ClientFactory
) -> None:
    primary = relay_sim_factory(name="primary")
    primary.default = Scenario(html_status=524)
    backup = relay_sim_factory(name="backup")
    client = make_client(primary.base_url, backups=(backup.base_url,))
    attempt = Attempt()
    first = await run(client, attempt=attempt)
    assert first.error is None and first.text == Scenario().text
    assert attempt.url == backup.chat_url
    assert attempt.failovers == 1
    assert [r.status for r in primary.requests] == [524]
    second_attempt = Attempt()
    second = await run(client, attempt=second_attempt)
    assert second.error is None
    assert len(primary.requests) == 1  # the backup that worked is tried first now
    assert len(backup.requests) == 2
    assert second_attempt.url == backup.chat_url


async def test_cloudflare_524_on_a_lone_host_is_a_gateway_error(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(html_status=524)
    outcome = await run(make_client(relay_sim.base_url, sleep=no_wait))
    assert type(outcome.error) is GatewayError
    shown = outcome.error.user_message()
    assert "HTTP 524" in shown and "A timeout occurred" in shown and "backupUrls" in shown
    assert "<" not in shown  # a summary, not the HTML page
    assert len(relay_sim.requests) == 1


async def test_connection_refused_fails_over(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    client = make_client(dead, backups=(relay_sim.base_url,))
    attempt = Attempt()
    outcome = await run(client, attempt=attempt)
    assert outcome.error is None and outcome.text == Scenario().text
    assert attempt.url == relay_sim.chat_url
    assert client.current_url == relay_sim.base_url


async def test_connection_refused_on_a_lone_host(make_client: ClientFactory) -> None:
    port = closed_port()
    outcome = await run(make_client(f"http://127.0.0.1:{port}/v1"))
    assert type(outcome.error) is RelayConnectError
    shown = outcome.error.user_message()
    assert f"127.0.0.1:{port}" in shown and "baseUrl" in shown


async def test_first_byte_timeout_fails_over(
    relay_sim_factory: RelaySimFactory, make_client: ClientFactory
) -> None:
    primary = relay_sim_factory(name="slow")
    # Never answers (within the test): only the first-byte timeout can end the wait.
    primary.default = Scenario(first_byte_delay=HANG_CAP)
    backup = relay_sim_factory(name="backup")
    client = make_client(primary.base_url, backups=(backup.base_url,), firstByteTimeout=0.2)
    attempt = Attempt()
    outcome = await run(client, attempt=attempt)  # bounded by TEST_DEADLINE
    assert outcome.error is None and outcome.text == Scenario().text
    assert attempt.url == backup.chat_url
    assert len(primary.requests) == 1 and len(backup.requests) == 1
    assert primary.wait_for_disconnect() is not None  # it hung up on the slow host
    assert primary.requests[0].client_disconnected


async def test_first_byte_timeout_on_a_lone_host(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(first_byte_delay=HANG_CAP)
    outcome = await run(make_client(relay_sim.base_url, firstByteTimeout=0.2))
    assert type(outcome.error) is RelayTimeout
    assert outcome.error.phase == "first_byte"
    assert "no answer within 0.2 s" in outcome.error.user_message()


async def test_silence_mid_stream_is_a_timeout_without_failover(
    relay_sim: RelaySim, relay_sim_factory: RelaySimFactory, make_client: ClientFactory
) -> None:
    backup = relay_sim_factory(name="backup")
    relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, hang_after=2)
    # The first-byte budget stays large: the idle timeout alone must catch the silence.
    client = make_client(
        relay_sim.base_url, backups=(backup.base_url,), idleTimeout=0.3, firstByteTimeout=30.0
    )
    outcome = await run(client)  # the relay stays silent: only the idle timeout ends this
    assert outcome.text == "abcd"
    assert type(outcome.error) is RelayTimeout
    assert outcome.error.phase == "silence"
    assert "silent for 0.3 s mid-answer. The relay may" in outcome.error.user_message()
    assert backup.requests == []
    assert len(relay_sim.requests) == 1
    # Giving up also hangs up on the relay.
    assert relay_sim.wait_for_disconnect() is not None
    assert relay_sim.requests[0].client_disconnected


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(text="x" * 100, chunk_size=1, pace=0.05),
        # Silent after three chunks, with no idle timeout to catch it: the total budget must
        # end the wait itself, not the next chunk (there is none).
        Scenario(text="x" * 100, chunk_size=1, hang_after=3),
    ],
    ids=["trickle", "silent"],
)
async def test_total_timeout_ends_a_long_answer(
    relay_sim: RelaySim, make_client: ClientFactory, scenario: Scenario
) -> None:
    relay_sim.default = scenario
    client = make_client(relay_sim.base_url, timeout=0.4, idleTimeout=30, firstByteTimeout=30)
    outcome = await run(client)  # bounded by TEST_DEADLINE
    assert type(outcome.error) is RelayTimeout
    assert outcome.error.phase == "total"
    assert 0 < len(outcome.text) < 100
    assert relay_sim.wait_for_disconnect() is not None
    assert relay_sim.requests[0].client_disconnected


async def test_429_retry_after_retried_twice_then_rate_limit_error(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = SATURATED.replace(retry_after="0.2")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    outcome = await run(make_client(relay_sim.base_url, sleep=sleep))
    assert type(outcome.error) is RateLimitError
    assert outcome.error.retry_after == pytest.approx(0.2)
    assert MSG_SATURATED in outcome.error.user_message()
    assert len(relay_sim.requests) == 3  # the request and at most two retries
    assert waits == [pytest.approx(0.2)] * 2  # Retry-After was waited, twice


async def test_429_then_success(relay_sim: RelaySim, make_client: ClientFactory) -> None:
    relay_sim.enqueue(SATURATED.replace(retry_after="0.1"))
    outcome = await run(make_client(relay_sim.base_url))
    assert outcome.error is None and outcome.text == Scenario().text
    assert [r.status for r in relay_sim.requests] == [429, 200]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_before_first_byte_retried_once(
    relay_sim: RelaySim, make_client: ClientFactory, status: int
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    failing = Scenario.error(status, f"upstream error: bad response status code {status}")
    relay_sim.enqueue(failing)
    outcome = await run(make_client(relay_sim.base_url, sleep=sleep))
    assert outcome.error is None and outcome.text == Scenario().text
    assert [r.status for r in relay_sim.requests] == [status, 200]
    assert len(waits) == 1

    relay_sim.enqueue(failing, failing, failing)
    outcome = await run(make_client(relay_sim.base_url, sleep=sleep))
    assert type(outcome.error) is RelayStatusError
    assert outcome.error.status == status
    assert len(relay_sim.requests) == 4  # one retry only
    assert relay_sim.pending == 1


# ---------------------------------------------------------------- URLs, keys, proxy


@pytest.mark.parametrize("pasted", ["", "/", "/chat/completions", "/chat/completions/"])
async def test_path_prefixed_base_url(
    relay_sim_factory: RelaySimFactory, make_client: ClientFactory, pasted: str
) -> None:
    sim = relay_sim_factory(prefix="/api/blog/free/v1")
    outcome = await run(make_client(sim.base_url + pasted))
    assert outcome.error is None and outcome.text == Scenario().text
    assert [r.path for r in sim.requests] == ["/api/blog/free/v1/chat/completions"]


async def test_wrong_key_is_an_auth_error(relay_sim: RelaySim, make_client: ClientFactory) -> None:
    wrong = "sk-wrong-key-9876543210abcdef"
    outcome = await run(make_client(relay_sim.base_url, key=wrong))
    assert type(outcome.error) is AuthError
    shown = outcome.error.user_message()
    assert MSG_INVALID_TOKEN in shown and "apiKey" in shown
    assert wrong not in shown and wrong[3:15] not in shown
    assert relay_sim.requests[0].headers["authorization"] == f"Bearer {wrong}"


async def test_proxy_setting_routes_through_the_proxy(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    # The simulator answers absolute-form proxy requests like a forwarding HTTP proxy would;
    # the relay's own host does not resolve, so only the proxy can have answered.
    client = make_client("http://relay.invalid/v1", proxy=relay_sim.origin)
    outcome = await run(client)
    assert outcome.error is None and outcome.text == Scenario().text
    record = relay_sim.requests[0]
    assert record.path == "/v1/chat/completions"
    assert record.headers["host"] == "relay.invalid"


# ---------------------------------------------------------------- closing


@pytest.mark.parametrize("how", ["paced", "hung"])
async def test_closing_the_stream_closes_the_response(
    relay_sim: RelaySim, make_client: ClientFactory, how: str
) -> None:
    if how == "paced":
        relay_sim.default = Scenario(text="x" * 200, chunk_size=1, pace=0.02)
    else:
        relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, hang_after=2)
    client = make_client(relay_sim.base_url)
    stream = client.stream_chat(REQUEST)
    seen = [await asyncio.wait_for(stream.__anext__(), TEST_DEADLINE) for _ in range(2)]
    assert all(isinstance(e, TextDelta) for e in seen)
    await stream.aclose()
    assert relay_sim.wait_for_disconnect() is not None
    record = relay_sim.requests[0]
    assert record.client_disconnected
    assert record.chunks_sent < 50


async def test_cancelling_the_consumer_closes_the_response(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(text="x" * 200, chunk_size=1, pace=0.02)
    client = make_client(relay_sim.base_url)
    got_one = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream_chat(REQUEST):
            got_one.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), TEST_DEADLINE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert relay_sim.wait_for_disconnect() is not None
    assert relay_sim.requests[0].client_disconnected


# ---------------------------------------------------------------- connections

STREAMS = 20  # gpt_lsp.relay.slots.MAX_STREAMS


async def hold_streams(client: RelayClient, count: int) -> list[AsyncIterator[StreamEvent]]:
    """Opens streams that stay open (the relay goes silent), each holding a connection."""
    held = [client.stream_chat(REQUEST) for _ in range(count)]
    await asyncio.wait_for(asyncio.gather(*(anext(s) for s in held)), TEST_DEADLINE)
    return held


async def close_all(streams: list[AsyncIterator[StreamEvent]]) -> None:
    for stream in streams:
        await stream.aclose()  # type: ignore[attr-defined]


async def test_a_request_past_the_pool_waits_its_turn_not_the_first_byte_timeout(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, hang_after=1)
    # The old pool timeout was connectTimeout: a request waiting longer for a connection
    # failed as if the relay were overloaded.
    client = make_client(
        relay_sim.base_url, connectTimeout=0.2, firstByteTimeout=0.3, idleTimeout=30
    )
    held = await hold_streams(client, STREAMS)
    try:
        relay_sim.default = Scenario()
        waiting = asyncio.create_task(run(client))
        # A connection comes free only after longer than both timeouts.
        await asyncio.sleep(0.6)
        freed_at = time.monotonic()
        await held.pop().aclose()  # type: ignore[attr-defined]
        outcome = await waiting
        assert outcome.error is None and outcome.text == Scenario().text
        chats = chat_requests(relay_sim)
        assert len(chats) == STREAMS + 1
        assert chats[-1].received_at >= freed_at  # it waited here, not at the relay
    finally:
        await close_all(held)


async def test_a_request_that_never_gets_a_connection_says_so(
    relay_sim: RelaySim, make_client: ClientFactory
) -> None:
    relay_sim.default = Scenario(text="abcdefgh", chunk_size=2, hang_after=1)
    client = make_client(relay_sim.base_url, timeout=10, idleTimeout=30)
    held = await hold_streams(client, STREAMS)
    try:
        # A request with half a second of its budget left (begun 9.5 s ago).
        outcome = await run(client, attempt=Attempt(started=time.monotonic() - 9.5))
        assert type(outcome.error) is ConnectionsBusy
        text = outcome.error.user_message()
        assert "all 20 connections to the relay stayed taken by this editor's other" in text
        assert "Too many AI requests at once" in text and "overloaded" not in text
        assert len(chat_requests(relay_sim)) == STREAMS
    finally:
        await close_all(held)
    relay_sim.default = Scenario()
    assert (await run(client)).error is None  # the connections came back
