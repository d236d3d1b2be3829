"""The `completion` settings: defaults, validation, and what a project may set."""

from __future__ import annotations

import os
from pathlib import Path

from gpt_lsp.settings import load_sources

USER = {
    "baseUrl": "http://127.0.0.1:9/v1",
    "apiKey": "sk-x",
    "relays": {"cheap": {"baseUrl": "http://127.0.0.1:8/v1"}},
}


def load(user: dict | None = None, project: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    return load_sources(
        user_options=user, project_options=project, environ={}, config_path=Path(os.devnull)
    )


def test_completion_is_off_by_default_with_small_answers() -> None:
    completion = load(USER).settings.completion
    assert completion.enabled is False
    assert completion.max_tokens <= 128 and completion.debounce_ms > 0
    assert completion.multiline == "auto"


def test_user_settings_are_taken() -> None:
    user = {
        **USER,
        "completion": {
            "enabled": True,
            "relay": "cheap",
            "model": "m",
            "debounceMs": 300,
            "maxTokens": 32,
            "multiline": "never",
            "excludeLanguages": ["markdown"],
        },
    }
    loaded = load(user)
    completion = loaded.settings.completion
    assert loaded.problems == []
    assert (completion.enabled, completion.relay, completion.model) == (True, "cheap", "m")
    assert (completion.debounce_ms, completion.max_tokens) == (300, 32)
    assert completion.exclude_languages == ["markdown"]


def test_bad_values_are_dropped_one_by_one() -> None:
    user = {
        **USER,
        "completion": {"enabled": True, "maxTokens": -1, "multilne": "never", "relay": "nowhere"},
    }
    loaded = load(user)
    completion = loaded.settings.completion
    assert completion.enabled is True and completion.max_tokens == 64 and completion.relay is None
    text = " | ".join(loaded.problems)
    assert "completion.maxTokens" in text and "did you mean 'multiline'" in text
    assert "completion.relay: 'nowhere'" in text


def test_a_project_cannot_turn_completion_on_or_choose_where_or_what_it_costs() -> None:
    project = {
        "completion": {
            "enabled": True,
            "relay": "cheap",
            "model": "pricey",
            "maxTokens": 1000,
            "debounceMs": 0,
            "multiline": "never",
            "exclude": ["*.gen.py"],
        }
    }
    loaded = load({**USER, "completion": {"exclude": ["*.lock"]}}, project)
    completion = loaded.settings.completion
    assert completion.enabled is False and completion.relay is None and completion.model is None
    assert completion.max_tokens == 64 and completion.debounce_ms == 150
    assert completion.multiline == "never"
    assert completion.exclude == ["*.lock", "*.gen.py"]  # added to the user's
    assert set(loaded.ignored) == {
        "completion.enabled",
        "completion.relay",
        "completion.model",
        "completion.maxTokens",
        "completion.debounceMs",
    }


def test_a_project_list_that_is_no_list_is_dropped() -> None:
    loaded = load(
        {**USER, "completion": {"exclude": ["*.lock"]}}, {"completion": {"exclude": "*.py"}}
    )
    assert loaded.settings.completion.exclude == ["*.lock"]
    assert any("completion.exclude" in p for p in loaded.problems)
