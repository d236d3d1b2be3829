"""What the relay simulator answers (Scenario), what it records (RecordedRequest), and presets."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

LineEnding = Literal["\n", "\r\n", "\r"]
UsageMode = Literal["auto", "always", "never"]
ContentEncoding = Literal["gzip", "deflate"]

# one-api's messages, verbatim (full-width punctuation included); "{model}" is filled in.
MSG_INVALID_TOKEN = "无效的令牌"
MSG_NO_TOKEN = "未提供令牌"
MSG_QUOTA_EXHAUSTED = "该令牌额度已用尽"
MSG_TOKEN_EXPIRED = "该令牌已过期"
MSG_MODEL_DENIED = "该令牌无权使用模型：{model}"
MSG_USER_QUOTA = "用户额度不足"
MSG_SATURATED = "当前分组上游负载已饱和，请稍后再试"
MSG_NO_CHANNEL = "当前分组 default 下对于模型 {model} 无可用渠道"

HANG_CAP = 600.0  # a hung stream still ends eventually, so nothing waits forever


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """How the simulator answers one chat request; the defaults give a normal streamed answer.

    "After N chunks" knobs count content-bearing chunks only (content, reasoning and
    tool-argument deltas), not the role chunk: drop_after=0 cuts right after the role chunk.
    """

    # Content and timing.
    # Code, so that a code-writing job takes it (a sentence is prose: such a job fails).
    text: str = 'print("Hello from the relay simulator.")'
    chunks: Sequence[str] | None = None  # explicit content pieces; overrides splitting text
    chunk_size: int = 4  # characters per content piece
    pace: float = 0.0  # seconds between events
    first_byte_delay: float = 0.0  # seconds before the status line (any response)
    model: str | None = None  # model to report; None echoes the request's
    usage: UsageMode = "auto"  # auto: usage chunk only if stream_options.include_usage
    # Any JSON number for a hostile relay: 2**63, float("nan") (sent as NaN), -5.
    prompt_tokens: int | float | None = None  # None: characters of all messages // 4
    completion_tokens: int | float | None = None  # None: number of content-bearing chunks
    # Framing quirks.
    line_ending: LineEnding = "\n"
    space_after_data: bool = True  # "data: {...}" rather than "data:{...}"
    keepalive_comments: bool = False  # ": PING" comment events between chunks (new-api)
    multiline_data: bool = False  # one JSON object over several data: lines
    split_writes: bool = False  # each event in several TCP writes, cut inside UTF-8 too
    split_pause: float = 0.005  # pause between split writes, so they arrive separately
    role_chunk: bool = True  # first chunk is delta {role: assistant}
    empty_choices_chunk: bool = False  # an extra chunk with choices: [] mid-stream
    missing_delta_chunk: bool = False  # an extra chunk whose choice has no delta
    content_type: str = "text/event-stream"
    # The stream compressed (Content-Encoding), flushed at every write so that it still streams.
    content_encoding: ContentEncoding | None = None
    # Endings.
    finish_reason: str | None = "stop"  # "" as Claude through one-api; None: no finish chunk
    send_done: bool = True  # data: [DONE]
    # Content forms.
    as_tool_calls: bool = False  # text arrives as tool_calls[0].function.arguments pieces
    tool_call_index: bool = True  # False leaves out "index", as some relays do
    tool_name: str = "apply_edit"
    reasoning: str | None = None  # sent first as reasoning_content deltas
    think_tags: bool = False  # reasoning as <think>...</think> inside content (new-api)
    # Failures.
    status: int = 200  # non-200: one-api JSON error body {"error": {message, type, code?}}
    error_message: str | None = None  # None: a typical message for the status
    error_type: str = "one_api_error"
    error_code: str | None = None  # left out of the body when None
    one_api_request_id: bool = True  # append " (request id: ...)" to messages
    html_status: int | None = None  # a Cloudflare text/html error page with this status
    json_error_on_200: bool = False  # HTTP 200 application/json error to a stream request
    error_event_after: int | None = None  # data: {"error": ...} after N chunks (+ [DONE])
    drop_after: int | None = None  # close the TCP connection after N chunks, no terminator
    drop_with_reset: bool = False  # drop with a RST instead of a FIN
    malformed_after: int | None = None  # a data: line that is not JSON after N chunks, then end
    malformed_data: str = '{"id": "chatcmpl-x", "choices": [{"delta": {"content": oops'
    # After the first piece, one data: line of this many bytes that never ends (sent in 64 KiB
    # writes, the answer's text as far as a parser can tell), then silence until the client
    # leaves. With content_encoding, a decompression bomb.
    endless_line: int | None = None
    hang_after: int | None = None  # go silent after N chunks until the client leaves
    hang_seconds: float = HANG_CAP  # ...or this long, then end the body normally
    # A pause the test ends: after N pieces, wait until `release` is set (or the client leaves,
    # or HANG_CAP), then send the rest. For a test that acts while a job surely still runs.
    hold_after: int | None = None
    release: threading.Event | None = None
    retry_after: str | None = None  # Retry-After header on the error response
    redirect_to: str | None = None  # answer redirect_status with this Location instead
    redirect_status: int = 302
    # Request checks (each answers 400 like a relay that has the limitation).
    reject_system_role: bool = False
    reject_developer_role: bool = False
    reject_stream_options: bool = False
    reject_max_tokens: bool = False

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        type: str = "one_api_error",
        code: str | None = None,
        **kwargs: Any,
    ) -> Scenario:
        """Build a scenario answering `status` with a one-api JSON error body."""
        return cls(status=status, error_message=message, error_type=type, error_code=code, **kwargs)

    @classmethod
    def tokenized(cls, text: str, **kwargs: Any) -> Scenario:
        """Build a scenario sending `text` one token-like piece per chunk (`split_tokens`)."""
        return cls(chunks=split_tokens(text), **kwargs)

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some fields changed (scenarios are frozen, presets shared)."""
        return dataclasses.replace(self, **changes)

    def pieces(self) -> list[str]:
        """Content (or tool-argument) pieces, in sending order."""
        if self.chunks is not None:
            return list(self.chunks)
        return split_text(self.text, self.chunk_size)

    def reasoning_pieces(self) -> list[str]:
        """Reasoning pieces, in sending order."""
        return split_text(self.reasoning, self.chunk_size) if self.reasoning else []


QUOTA_EXHAUSTED = Scenario.error(401, MSG_QUOTA_EXHAUSTED)
TOKEN_EXPIRED = Scenario.error(401, MSG_TOKEN_EXPIRED)
INVALID_TOKEN = Scenario.error(401, MSG_INVALID_TOKEN)
MODEL_DENIED = Scenario.error(403, MSG_MODEL_DENIED)
USER_QUOTA = Scenario.error(403, MSG_USER_QUOTA, code="insufficient_user_quota")
SATURATED = Scenario.error(429, MSG_SATURATED, type="upstream_error")
NO_CHANNEL = Scenario.error(503, MSG_NO_CHANNEL)
CF_524 = Scenario(html_status=524)


@dataclass
class RecordedRequest:
    """One request as the simulator saw it; times are time.monotonic()."""

    index: int  # position in sim.requests
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any  # parsed body, None if absent or not JSON
    raw_body: bytes
    received_at: float
    first_byte_at: float | None = None  # status line and headers sent
    ended_at: float | None = None  # response finished, dropped, or client gone
    client_disconnected: bool = False  # client left before the server finished
    chunks_sent: int = 0  # data: events written, [DONE] and the error event included
    status: int | None = None
    peer_port: int | None = None  # the client's TCP port: one per connection it opened
    scenario: Scenario | None = None  # None for non-chat and unauthorised requests


# Roughly how BPE tokenizers cut text: a word with its leading space (long words in pieces of
# at most six letters), CJK in ones or twos, digits, punctuation runs, whitespace runs.
_TOKEN = re.compile(
    r"[\u4e00-\u9fff]{1,2}| ?[^\W\d_]{1,6}|[^\W\d_]{1,6}| ?\d{1,3}| ?[^\s\w]{1,3}|\s+(?!\S)|\s+|.",
    re.S,
)


def split_tokens(text: str) -> list[str]:
    """Cut text like a tokenizer, for answers sent one token per chunk as real relays do."""
    return _TOKEN.findall(text)


def split_text(text: str, size: int) -> list[str]:
    """Cut text into pieces of `size` characters (at least one character each)."""
    step = max(1, size)
    return [text[i : i + step] for i in range(0, len(text), step)]
