"""The `context` settings: budgets per source; a project may lower them or turn sources off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpt_lsp.settings import ContextSettings, load_sources


def _load(user: dict[str, Any] | None = None, project: dict[str, Any] | None = None) -> Any:
    return load_sources(
        user_options=user, project_options=project, environ={}, config_path=Path("/nonexistent")
    )


def test_defaults() -> None:
    context = _load().settings.context
    assert context == ContextSettings()
    assert (context.definitions, context.documents, context.edits, context.instructions) == (
        1000,
        300,
        200,
        400,
    )
    assert context.index and context.completion == 150


def test_the_user_may_raise_a_budget() -> None:
    assert _load({"context": {"definitions": 4000}}).settings.context.definitions == 4000


def test_a_project_may_lower_budgets_never_raise_them() -> None:
    loaded = _load(
        {"context": {"definitions": 500}},
        {"context": {"definitions": 5000, "edits": 50, "documents": 9000, "instructions": 0}},
    )
    context = loaded.settings.context
    assert context.definitions == 500  # the user's, not the project's 5000
    assert context.documents == 300  # the default, not 9000
    assert context.edits == 50 and context.instructions == 0  # lowered, turned off
    assert loaded.problems == []


def test_a_project_may_turn_the_index_off_never_on() -> None:
    assert _load(None, {"context": {"index": False}}).settings.context.index is False
    loaded = _load({"context": {"index": False}}, {"context": {"index": True, "maxFiles": 10**5}})
    assert loaded.settings.context.index is False
    assert loaded.settings.context.max_files == 5000


def test_a_projects_bad_value_leaves_the_users() -> None:
    loaded = _load({"context": {"definitions": 700}}, {"context": {"definitions": "all"}})
    assert loaded.settings.context.definitions == 700


def test_a_users_bad_value_is_named_and_defaults() -> None:
    loaded = _load({"context": {"definitions": -1, "edits": 10}})
    assert loaded.settings.context.definitions == 1000
    assert loaded.settings.context.edits == 10
    assert any("context.definitions" in p for p in loaded.problems)
