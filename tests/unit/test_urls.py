"""URL rules for every form users paste."""

import pytest

from gpt_lsp.urls import (
    billing_urls,
    chat_completions_url,
    host_of,
    models_url,
    normalize_base_url,
)


@pytest.mark.parametrize(
    ("pasted", "endpoint"),
    [
        ("https://api.example", "https://api.example/v1/chat/completions"),
        ("https://api.example/", "https://api.example/v1/chat/completions"),
        ("https://api.example/v1", "https://api.example/v1/chat/completions"),
        ("https://api.example/v1/", "https://api.example/v1/chat/completions"),
        ("https://api.example/v1//", "https://api.example/v1/chat/completions"),
        ("https://api.example/v1/chat/completions", "https://api.example/v1/chat/completions"),
        ("https://api.example/v1/chat/completions/", "https://api.example/v1/chat/completions"),
        ("https://host/api/blog/free/v1", "https://host/api/blog/free/v1/chat/completions"),
        ("https://host/api/blog/free/v1/", "https://host/api/blog/free/v1/chat/completions"),
        (
            "https://host/api/blog/free/v1/chat/completions",
            "https://host/api/blog/free/v1/chat/completions",
        ),
        ("https://host/api/blog/v1", "https://host/api/blog/v1/chat/completions"),
        ("https://host/openai", "https://host/openai/chat/completions"),
        ("  https://api.example/v1  ", "https://api.example/v1/chat/completions"),
        ("HTTPS://api.example:8443/v1", "https://api.example:8443/v1/chat/completions"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/v1/chat/completions"),
        ("https://api.example/chat/completions", "https://api.example/chat/completions"),
    ],
)
def test_chat_completions_url_for_every_pasted_form(pasted: str, endpoint: str) -> None:
    assert chat_completions_url(normalize_base_url(pasted)) == endpoint


def test_models_url_keeps_the_prefix() -> None:
    base = normalize_base_url("https://host/api/blog/free/v1/chat/completions")
    assert models_url(base) == "https://host/api/blog/free/v1/models"


@pytest.mark.parametrize(
    ("pasted", "subscription"),
    [
        ("https://api.example", "https://api.example/dashboard/billing/subscription"),
        ("https://api.example/v1/", "https://api.example/dashboard/billing/subscription"),
        ("https://h/api/blog/v1", "https://h/api/blog/dashboard/billing/subscription"),
    ],
)
def test_billing_urls_drop_v1(pasted: str, subscription: str) -> None:
    sub, usage = billing_urls(normalize_base_url(pasted))
    assert sub == subscription
    assert usage == subscription.replace("subscription", "usage")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("api.example/v1", "http"),
        ("ftp://api.example", "http"),
        ("https://", "no host"),
        ("https:///v1", "no host"),
    ],
)
def test_bad_urls_are_rejected_with_a_reason(bad: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        normalize_base_url(bad)


def test_credentials_in_a_bad_url_are_not_echoed() -> None:
    with pytest.raises(ValueError) as info:
        normalize_base_url("ftp://user:secretpw@host/v1")
    assert "secretpw" not in str(info.value)


def test_host_of_drops_credentials() -> None:
    assert host_of("https://u:p@h.example:8080/v1") == "h.example:8080"
