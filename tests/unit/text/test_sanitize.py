"""Relay text shown to the user: one line, no escapes, no control or bidi characters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpt_lsp.check import run_check
from gpt_lsp.errors import AuthError, RelayStatusError
from gpt_lsp.redaction import register_secret
from gpt_lsp.text.sanitize import sanitize

ESC = "\x1b"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"{ESC}[31mred{ESC}[0m text", "red text"),  # SGR colours
        (f"a{ESC}[2J{ESC}[H{ESC}[1;31;40mb", "ab"),  # clear screen, cursor home
        (f"{ESC}]0;owned{ESC}\\title kept", "title kept"),  # OSC window title, ST
        (f"{ESC}]8;;https://evil.example\x07link{ESC}]8;;\x07", "link"),  # OSC 8 hyperlink
        (f"{ESC}P1$r{ESC}\\dcs", "dcs"),  # DCS string
        (f"x{ESC}7{ESC}8y{ESC}(B", "xy"),  # save/restore cursor, charset
        ("\x9b2Jc1", "c1"),  # 8-bit CSI
        (f"cut{ESC}[", "cut"),  # a sequence cut off at the end
        ("progress 10%\rDONE", "progress 10% DONE"),  # CR cannot overwrite the line
        ("nul\x00byte\x07bell\x08bs\x7fdel", "nulbytebellbsdel"),
        ("one\ntwo\r\nthree\u2028four", "one two three four"),
        ("tab\there", "tab here"),
        ("\u202eelbisivni\u202c and \u2066iso\u2069 \u200fmark", "elbisivni and iso mark"),
        ("无效的令牌 (request id: 2024)", "无效的令牌 (request id: 2024)"),  # verbatim
        ("  padded  ", "padded"),
    ],
)
def test_sanitize(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_sanitize_limit() -> None:
    assert sanitize("a" * 100, limit=10) == "a" * 7 + "..."
    assert sanitize("short", limit=10) == "short"


@given(st.text())
def test_sanitized_text_has_no_control_or_bidi_character(text: str) -> None:
    shown = sanitize(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not set(shown) & set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067")
    assert "\u2028" not in shown and "\u2029" not in shown
    assert sanitize(shown) == shown


def test_relay_message_reaches_the_user_as_one_clean_line() -> None:
    error = RelayStatusError(
        500,
        f"upstream{ESC}[2K\r{ESC}]0;pwned\x07 failed\n\u202egnp.exe",
        relay="r",
        url="https://relay.example/v1/chat/completions",
    )
    text = error.user_message()
    assert text.startswith("relay 'r' (relay.example): HTTP 500: upstream failed gnp.exe")
    assert ESC not in text and "\r" not in text and "\n" not in text and "\u202e" not in text


def test_a_key_split_by_escapes_is_still_redacted() -> None:
    key = "sk-split-key-000111222333"
    register_secret(key)
    echoed = key[:8] + f"{ESC}[0m" + key[8:]
    text = AuthError(401, f"bad key {echoed}", relay="r").user_message()
    assert key not in text and key[:12] not in text and "[redacted]" in text


STREAM = (
    "".join(
        f"data: {json.dumps(chunk)}\n\n"
        for chunk in (
            {"choices": [{"delta": {"content": f"O{ESC}[2J{ESC}]0;x\x07K\r\n"}}]},
            {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        )
    )
    + "data: [DONE]\n\n"
)


def test_check_prints_relay_text_without_escapes(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('baseUrl = "https://relay.example/v1"\napiKey = "sk-unit-000000000"\n')

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/chat/completions"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=STREAM)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": f"gpt-4{ESC}[8m\u202ehidden"}]})
        return httpx.Response(404)

    out, err = io.StringIO(), io.StringIO()
    code = run_check(
        out=out,
        err=err,
        environ={"GPT_LSP_CONFIG": str(config), "GPT_LSP_STATE_DIR": str(tmp_path)},
        transport=httpx.MockTransport(answer),
    )
    assert code == 0, err.getvalue()
    printed = out.getvalue()
    assert "answer:      OK" in printed.splitlines()
    assert "models:      gpt-4hidden" in printed.splitlines()
    assert ESC not in printed and "\r" not in printed and "\u202e" not in printed


def test_check_error_from_the_relay_is_one_clean_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('baseUrl = "https://relay.example/v1"\napiKey = "sk-unit-000000000"\n')

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"error": {"message": f"quota\r\n{ESC}[31mgone{ESC}[0m", "type": "x"}}
        return httpx.Response(400, json=body)

    out, err = io.StringIO(), io.StringIO()
    code = run_check(
        out=out,
        err=err,
        environ={"GPT_LSP_CONFIG": str(config), "GPT_LSP_STATE_DIR": str(tmp_path)},
        transport=httpx.MockTransport(answer),
    )
    assert code != 0
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "quota gone" in lines[0] and ESC not in lines[0]
