"""The display-ready lines and shim strings gptLsp.status carries, in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gpt_lsp.i18n import set_language
from gpt_lsp.session.display import SHIM_STRINGS, shim_strings, spend_line, status_lines

STATUS = {
    "version": "1.2.3",
    "relays": [
        {"name": "default", "url": "https://r.example/v1", "model": "gpt-4", "default": True},
        {"name": "free", "url": "https://f.example/v1", "model": "gpt-3.5-turbo"},
    ],
    "jobs": [
        {"jobId": "job-1", "action": "refactor", "status": "running", "tokens": 12},
        {"jobId": "job-2", "action": "explain", "status": "done", "tokens": 40},
    ],
    "usage": {
        "today": {"requests": 1, "tokens": 30, "costUsd": 0.0012, "quota": 600, "unpriced": 0},
        "month": {"requests": 3, "tokens": 90, "costUsd": 0.5, "quota": 0, "unpriced": 2},
    },
}


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def chinese() -> Iterator[None]:
    set_language("zh-CN")
    yield
    set_language("en")


def test_status_lines_name_relays_running_jobs_and_spend(english: None) -> None:
    assert status_lines(STATUS) == [
        "gpt-lsp 1.2.3",
        "relay default (default): https://r.example/v1, model gpt-4",
        "relay free: https://f.example/v1, model gpt-3.5-turbo",
        "job job-1 refactor running (12 tokens)",
        "today: $0.0012 (600 quota), 1 request, 30 tokens",
        "this month: $0.5000, 3 requests, 90 tokens, 2 without a price (not in the cost)",
    ]


def test_without_a_ledger_or_jobs_the_lines_say_so(english: None) -> None:
    lines = status_lines({"version": "1", "relays": [], "jobs": [], "usage": {}})
    assert lines[1:] == [
        "jobs: none running",
        "today: unknown (no usage ledger)",
        "this month: unknown (no usage ledger)",
    ]


def test_chinese_lines_and_shim_strings(chinese: None) -> None:
    lines = status_lines(STATUS)
    assert lines[1] == "中转站 default（默认）：https://r.example/v1，模型 gpt-4"
    assert lines[-2] == "今天：$0.0012（600 额度），1 次请求，30 个 token"
    strings = shim_strings()
    assert strings["chatPrompt"] == "AI："
    assert all(strings[key] != text for key, text in SHIM_STRINGS.items()), strings


def test_shim_strings_are_english_by_default(english: None) -> None:
    assert shim_strings() == SHIM_STRINGS
    assert spend_line("today", None) == "today: unknown (no usage ledger)"
