"""Fuzzing: the SSE parser and the settings loader raise only gpt-lsp errors, in linear time."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.errors import GptLspError
from gpt_lsp.relay.chunks import ChunkState, decode_chunk, finish_stream
from gpt_lsp.relay.stream import iter_events
from gpt_lsp.settings import load_settings, merge_sources, validate

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SSE_BITS = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"event: error\n",
        b": PING\n\n",
        b"\n",
        b"\r",
        b"\r\n",
        b"[DONE]",
        b'{"choices":[{"delta":{"content":"x"}}]}',
        b'{"choices":[{"delta":{},"finish_reason":"stop"}]}',
        b'{"error":{"message":"m","code":429}}',
        b'{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"a"}}]}}]}',
        b"<html>",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xe4\xbd",
        b"{",
        b"[",
    ]
)
BODIES = st.lists(_SSE_BITS | st.binary(max_size=20), max_size=30).map(b"".join)

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "relays", "relay", "baseUrl", "apiKey", "apiKeyEnv", "model", "backupUrls", "actions",
        "exclude", "excludeDefaults", "temperature", "maxTokens", "prices", "timeout",
        "headers", "proxy", "systemRole", "logContent", "maskSecrets", "contextChars",
        "default", "id", "title", "prompt", "modelRatio", "input", "output",
    ]
)  # fmt: skip
SETTINGS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS | st.text(max_size=5), inner),
    max_leaves=25,
)


def response(body: bytes, status: int = 200, content_type: str = "text/event-stream") -> Any:
    reads = [body[i : i + 7] for i in range(0, len(body), 7)] or [b""]

    async def stream() -> Any:
        for read in reads:
            yield read

    return httpx.Response(status, headers={"content-type": content_type}, content=stream())


async def drain(resp: httpx.Response) -> None:
    try:
        async for _ in iter_events(resp, relay="fuzz"):
            pass
    except GptLspError:
        pass


@FUZZ
@given(st.text(max_size=200) | _JSON.map(json.dumps))
def test_decode_chunk_raises_only_gpt_lsp_errors(data: str) -> None:
    state = ChunkState()
    try:
        decode_chunk(data, state)
        decode_chunk(data, state)
        finish_stream(state)
    except GptLspError:
        pass


@FUZZ
@given(
    BODIES,
    st.sampled_from([200, 201, 400, 429, 500, 524]),
    st.sampled_from(["text/event-stream", "application/json", "text/html", ""]),
)
def test_iter_events_raises_only_gpt_lsp_errors(body: bytes, status: int, kind: str) -> None:
    asyncio.run(drain(response(body, status, kind)))


@FUZZ
@given(st.lists(SETTINGS, max_size=4))
def test_settings_from_any_sources_validate_or_report(sources: list[Any]) -> None:
    settings_, problems = validate(merge_sources(*sources))
    assert all(isinstance(p, str) for p in problems)
    settings_.exclude_globs  # noqa: B018 - the properties work on whatever came out
    settings_.default_relay_name()


@FUZZ
@given(
    st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            ['baseUrl = "', "[relays.a]\n", "[[actions]]\n", "= 1\n", 'x = """', "\x00", "\n"]
        ),
        max_size=20,
    ).map("".join)
)
def test_toml_files_of_any_text_load_or_report(text: str) -> None:
    path = Path(f"/tmp/gpt-lsp-fuzz-config-{os.getpid()}.toml")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    settings_, problems = load_settings(environ={}, config_path=path)
    assert all(isinstance(p, str) for p in problems)
    assert settings_ is not None


# ---------------------------------------------------------------- complexity

MB = 1024 * 1024
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}\n\n'
SHAPES: dict[str, Callable[[int], bytes]] = {
    "one-huge-line": lambda n: b"data: " + b"a" * n,
    "data-lines": lambda n: EVENT * (n // len(EVENT)),
    "nested-json": lambda n: b"data: " + b"[" * n + b"\n\n",
    "nested-json-body": lambda n: b"[" * n,
    "carriage-returns": lambda n: b"data: x" + b"\r" * n,
    "comments": lambda n: b": PING\n" * (n // 7),
    "one-huge-event": lambda n: b"data: x\n" * (n // 8),
}


def parse_calls(body: bytes) -> int:
    """Python calls made parsing a body (work, not seconds: the count does not depend on load)."""
    reads = [body[i : i + 65536] for i in range(0, len(body), 65536)]

    async def stream() -> Any:
        for read in reads:
            yield read

    resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())
    count = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        asyncio.run(drain(resp))
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("shape", SHAPES)
def test_parsing_work_is_linear(shape: str) -> None:
    # 4x the input may take 4x the calls (plus a constant); quadratic work would take 16x.
    small = parse_calls(SHAPES[shape](MB // 4))
    large = parse_calls(SHAPES[shape](MB))
    assert large <= 4.5 * small + 2000, (shape, small, large)


# ---------------------------------------------------------------- didChange shapes

_TEXTS = st.text(alphabet=st.sampled_from(list("ab \n\r中😀")), max_size=12)
_POS = st.tuples(st.integers(-2, 6) | st.just(2**40), st.integers(-2, 8))
_CHANGES = st.lists(
    st.tuples(st.none() | st.tuples(_POS, _POS), _TEXTS),
    max_size=3,
)


@FUZZ
@given(text=_TEXTS, changes=_CHANGES, version=st.integers(-1, 5))
def test_a_did_change_of_any_shape_keeps_the_servers_copy_exact(
    text: str,
    changes: list[tuple[tuple[tuple[int, int], tuple[int, int]] | None, str]],
    version: int,
) -> None:
    from gpt_lsp.session.session import Session
    from gpt_lsp.text.regions import Pos, Span
    from tests.fakes import editor as fake
    from tests.fakes.client import FakeClient

    client = FakeClient("vscode")
    session = Session(client, environ={"GPT_LSP_CONFIG": os.devnull})
    client.connect(session, {})
    uri = "file:///fuzz.py"
    session.did_open(uri, text, 1, "python")
    spans = [
        (None if rng is None else Span(Pos(*rng[0]), Pos(*rng[1])), new) for rng, new in changes
    ]
    session.did_change(uri, version, spans)
    copy = session.documents.get(uri)
    assert copy is not None
    # The editor's copy, had it applied them: LSP's clamping (a character past a line's end
    # is its end, a line past the last is the document's end).
    expected: str | None = text
    for rng, new in changes:
        if expected is None or rng is None:
            expected = new if rng is None else None
        elif min(*rng[0], *rng[1]) < 0 or rng[1] < rng[0]:
            expected = None  # no editor has such a copy: it must be refused
        else:
            start = fake.offset_of(expected, rng[0], "utf-16")
            end = fake.offset_of(expected, rng[1], "utf-16")
            expected = expected[:start] + new + expected[end:]
    refused = copy.source == text and copy.version == 1  # the copy is as it was
    applied = copy.source == expected and copy.version == version  # exactly as the editor's
    assert refused or applied
    if expected is None or version < 1:
        assert refused
