"""A relay's error answer read (gpt_lsp/relay/bodies.py): one-api and new-api shapes classified,
HTML pages summarized, plain text and empty bodies, bounded reads, Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    ModelDeniedError,
    QuotaError,
    RateLimitError,
    RelayStatusError,
)
from gpt_lsp.relay.bodies import parse_retry_after, read_error, summarize_html
from tests.fakes.relay import CLOUDFLARE_524, URL, error_response, one_api, response


def test_summarize_html_without_title() -> None:
    page = "<html><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>"
    assert summarize_html(page) == "HTML page: 502 Bad Gateway"
    assert summarize_html("<html><body><p>Error code: 522</p></body></html>") == (
        "HTML page: Error code: 522"
    )


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (401, "无效的令牌", AuthError),
        (401, "该令牌已过期", AuthError),
        (401, "该令牌额度已用尽", QuotaError),
        (403, "该令牌无权使用模型：gpt-4", ModelDeniedError),
        (403, "用户额度不足", QuotaError),
        (429, "当前分组上游负载已饱和，请稍后再试", RateLimitError),
        (503, "当前分组 default 下对于模型 gpt-4 无可用渠道", ModelDeniedError),
    ],
)
async def test_read_error_classifies_one_api_messages(
    status: int, message: str, cls: type[RelayStatusError]
) -> None:
    error = await read_error(error_response(status, one_api(message)), "r", URL)
    assert type(error) is cls
    assert error.status == status
    assert error.relay_message == f"{message} (request id: 20240101abc)"
    assert error.relay == "r"
    assert error.url == URL


async def test_read_error_new_api_shape() -> None:
    body = {"error": {"message": "no access", "type": "new_api_error", "code": "model_not_found"}}
    error = await read_error(error_response(404, body))
    assert isinstance(error, ModelDeniedError)
    assert error.code == "model_not_found"
    assert error.url == URL


async def test_read_error_plain_text_and_empty() -> None:
    error = await read_error(error_response(500, "upstream  went\naway"))
    assert type(error) is RelayStatusError
    assert error.relay_message == "upstream went away"
    empty = await read_error(error_response(502, ""))
    assert isinstance(empty, GatewayError)


async def test_read_error_html_page() -> None:
    error = await read_error(error_response(524, CLOUDFLARE_524))
    assert isinstance(error, GatewayError)
    assert "524" in error.relay_message and "<" not in error.relay_message


async def test_read_error_is_bounded() -> None:
    huge = [b"x" * 65536] * 100
    resp = response(huge, status=500, content_type="text/plain")
    error = await read_error(resp)
    assert len(error.relay_message) <= 500


async def test_read_error_retry_after_seconds_and_date() -> None:
    error = await read_error(
        error_response(429, {"error": {"message": "x"}}, {"Retry-After": "30"})
    )
    assert error.retry_after == 30.0
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    error = await read_error(error_response(429, {"error": {"message": "x"}}, headers))
    assert error.retry_after is not None and 100 <= error.retry_after <= 121


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Mon, 01 Jan 2024 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    for bad in (None, "", "soon", "-5", "inf", "nan"):
        assert parse_retry_after(bad) is None
