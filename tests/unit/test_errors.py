"""Error classification and redaction."""

import httpx
import pytest

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    MissingKeyError,
    ModelDeniedError,
    QuotaError,
    RateLimitError,
    RelayStatusError,
)
from gpt_lsp.redaction import redact, register_secret
from gpt_lsp.relay.classify import classify_status


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "无效的令牌 (request id: 2024011512345)", AuthError),
        (401, "该令牌已过期", AuthError),
        (401, "未提供令牌", AuthError),
        (401, "该令牌额度已用尽", QuotaError),
        (403, "该令牌无权使用模型：gpt-4", ModelDeniedError),
        (403, "用户额度不足", QuotaError),
        (403, "insufficient_user_quota", QuotaError),
        (429, "当前分组上游负载已饱和，请稍后再试", RateLimitError),
        (200, "当前分组上游负载已饱和，请稍后再试", RateLimitError),
        (503, "当前分组 default 下对于模型 gpt-4 无可用渠道", ModelDeniedError),
        (524, "", GatewayError),
        (400, "bad request", RelayStatusError),
        (500, "upstream error", RelayStatusError),
    ],
)
def test_classification_by_message_and_status(
    status: int, message: str, expected: type[RelayStatusError]
) -> None:
    error = classify_status(status, message, relay="free", url="https://h.example/v1")
    assert type(error) is expected
    assert error.status == status
    # The relay's own words are kept verbatim in what the user sees.
    assert message in error.user_message()
    assert "relay 'free' (h.example)" in error.user_message()


def test_html_marks_a_gateway_error() -> None:
    assert isinstance(classify_status(502, "Bad gateway", html=True), GatewayError)


def test_user_message_says_what_to_do() -> None:
    assert "API key" in classify_status(401, "无效的令牌").user_message()
    assert "quota" in classify_status(401, "该令牌额度已用尽").user_message()
    assert "GPT_LSP_API_KEY" in MissingKeyError("default").user_message()
    assert "MY_KEY" in MissingKeyError("default", "MY_KEY").user_message()


def test_redact_removes_known_keys_and_their_pieces() -> None:
    key = "sk-canary-9f8e7d6c5b4a3210"
    register_secret(key)
    text = f"Incorrect API key provided: {key[:8]}****{key[-6:]} and {key}"
    cleaned = redact(text)
    assert key not in cleaned
    assert key[-6:] not in cleaned
    assert key[:8] not in cleaned


def test_redact_catches_unregistered_key_shapes() -> None:
    assert "abcdefgh123" not in redact("Authorization: Bearer abcdefgh123")
    assert "0123456789" not in redact("key sk-0123456789abcdef")
    assert "hunter22" not in redact("""{"apiKey": "hunter22"}""")
    assert "hunter22" not in redact("api_key='hunter22'")


def test_user_message_is_redacted() -> None:
    register_secret("zz-private-key-value-42")
    error = classify_status(401, "bad key zz-private-key-value-42")
    assert "zz-private-key-value-42" not in error.user_message()


def test_a_model_refusal_names_the_picker_in_the_editor_and_the_flag_on_the_command_line() -> None:
    error = ModelDeniedError(403, "该令牌无权使用模型：gpt-4", relay="r")
    in_editor = error.user_message()
    assert "model picker" in in_editor and ":GptModel" in in_editor
    assert "gpt-lsp-select-model" in in_editor and "Select Model" in in_editor
    assert "--model" not in in_editor
    assert "gpt-lsp check --model NAME" in error.user_message(cli=True)


def test_a_status_error_never_points_above_a_one_line_message() -> None:
    for message in ("I'm a teapot", ""):
        text = RelayStatusError(418, message, relay="r").user_message()
        assert "above" not in text
        assert text.endswith("ask its operator if it persists.")
    assert "gave no reason" in RelayStatusError(500, "", relay="r").user_message()


def test_a_local_pool_timeout_is_not_blamed_on_the_relay() -> None:
    from gpt_lsp.errors import ConnectionsBusy
    from gpt_lsp.relay.translate import translate_httpx_error

    error = translate_httpx_error(
        httpx.PoolTimeout("pool"), relay="r", url="https://h.example/v1", started=False
    )
    assert type(error) is ConnectionsBusy
    text = error.user_message()
    assert "this editor's other requests" in text and "Too many AI requests at once" in text
    assert "overloaded" not in text
