"""Redaction: a key out of every text in the forms a relay echoes it, ordinary text untouched."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gpt_lsp.errors import AuthError, RelayStatusError
from gpt_lsp.redaction import MIN_PIECE, redact, register_secret, secret_part
from tests.conftest import TEST_API_KEY

# Letters and digits with symbols that URL-encode: a key as one-api and OpenAI make them.
KEY = "sk-proj-Zx9Qw/Er+Ty7Ui=Op4AsDfGh"


@pytest.fixture(autouse=True)
def _keys() -> None:
    register_secret(TEST_API_KEY)
    register_secret(KEY)


def windows(key: str, size: int = MIN_PIECE) -> list[str]:
    part = secret_part(key)
    return [part[i : i + size] for i in range(len(part) - size + 1)]


def assert_gone(text: str, key: str = KEY) -> None:
    shown = redact(text)
    assert "[redacted]" in shown, shown
    folded = shown.lower()
    for piece in windows(key):
        assert piece.lower() not in folded, f"{piece!r} of the key is in {shown!r}"


@pytest.mark.parametrize(
    "text",
    [
        # pytest's first temp folder on a fresh machine: the test key holds `test-0`.
        "/tmp/pytest-of-root/pytest-0/test_an_apology_fails_the_job_0/notes.md",
        "Its whole answer is in /tmp/pt-relay/pytest-0/test_no_code0/20261207-demo-refactor.md.",
        "C:\\Users\\me\\AppData\\Local\\Temp\\pytest-of-me\\pytest-0\\x",
        "the task-runner and disk-usage of sk-8 and Bearer",
        "version 0.1.2-345 and 01234 tokens at 89abc",
        "proj-Zx9 and Zx9Qw/E",  # 7 characters of the secret part: ordinary enough
    ],
)
def test_ordinary_text_is_kept_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_a_notes_path_under_pytest_0_reaches_the_user_whole() -> None:
    path = "/tmp/pytest-of-root/pytest-0/test_x0/20261207-163847-demo-refactor.md"
    error = AuthError(401, f"see {path}", relay="r")
    assert path in error.user_message()


@pytest.mark.parametrize(
    "echo",
    [
        KEY,
        KEY.lower(),
        KEY.upper(),
        KEY.swapcase(),
        quote(KEY, safe=""),
        quote(KEY, safe="").lower(),
        f"{KEY[:14]} {KEY[14:]}",  # a split echo
        f"{KEY[:14]}\u200b{KEY[14:]}".lower(),  # split and lower-cased
        secret_part(KEY)[2:12],  # ten characters of the secret part alone
        f"key={KEY[:10]}****{KEY[-10:]}",
    ],
)
def test_a_key_in_any_case_encoding_or_pieces_is_removed(echo: str) -> None:
    assert_gone(f"Incorrect API key provided: {echo} (request id: 1)")


@pytest.mark.parametrize("prefix", ["", "x", "xy", "Bearer ", "user:", '{"key": "'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_base64_encoded_key_is_removed_at_any_offset(prefix: str, encode: object) -> None:
    assert callable(encode)
    encoded = encode((prefix + KEY + '"}').encode()).decode()
    shown = redact(f"token {encoded} refused")
    assert shown != f"token {encoded} refused"
    assert base64.b64encode(KEY.encode()).decode()[:-4] not in shown
    for pad in range(3):
        core = encode(b"\0" * pad + KEY.encode()).decode()[2:-3]
        assert core not in shown


def test_a_whole_run_is_removed_not_only_its_first_piece() -> None:
    part = secret_part(KEY)
    shown = redact(f"got {part[1:]} back")
    assert shown == "got [redacted] back"


def test_user_messages_of_a_relay_echoing_the_key_base64_encoded() -> None:
    encoded = base64.b64encode(f"Bearer {KEY}".encode()).decode()
    body = json.dumps({"error": {"message": f"bad header {encoded}"}})
    text = RelayStatusError(401, body, relay="r").user_message(cli=True)
    assert encoded not in text and "[redacted]" in text


@given(st.text(alphabet="0123456789abcdefABCDEF-_/ .sktTpyeSK:", max_size=60))
def test_text_without_a_piece_of_a_key_is_never_changed(text: str) -> None:
    folded = text.lower()
    for key in (TEST_API_KEY, KEY):
        assume(not any(piece.lower() in folded for piece in windows(key)))
    assume("sk-" not in folded)
    assert redact(text) == text
