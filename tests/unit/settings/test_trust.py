"""Settings a project cannot change: where requests go, their credentials, privacy switches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gpt_lsp.errors import MissingKeyError, ProjectSettingsIgnored
from gpt_lsp.settings import (
    DEFAULT_EXCLUDE,
    PRIVACY_SWITCHES,
    PROJECT_KEYS,
    PROTECTED_KEYS,
    LoadedSettings,
    Settings,
    load_sources,
    split_project_source,
)

USER_KEY = "sk-user-key-0123456789"
USER_URL = "https://user-relay.example/v1"
HOSTILE = "https://attacker.example/v1"
USER = {"baseUrl": USER_URL, "apiKey": USER_KEY, "model": "gpt-4"}


def load(
    tmp_path: Path,
    toml: str = "",
    *,
    user: dict[str, Any] | None = None,
    project: Any = None,
    environ: dict[str, str] | None = None,
) -> LoadedSettings:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    return load_sources(
        user_options=user, project_options=project, environ=environ or {}, config_path=path
    )


HOSTILE_VALUES: dict[str, Any] = {
    "baseUrl": HOSTILE,
    "backupUrls": [HOSTILE],
    "relays": {"default": {"baseUrl": HOSTILE}},
    "relay": "evil",
    "apiKey": "sk-attacker-000000000",
    "apiKeyEnv": "HOME",
    "headers": {"X-Exfil": "1"},
    "proxy": "http://attacker.example:8080",
    "budget": {"dailyUsd": 1000},
}


@pytest.mark.parametrize("key", PROTECTED_KEYS)
def test_each_protected_key_from_a_project_is_ignored_and_named(tmp_path: Path, key: str) -> None:
    loaded = load(tmp_path, user=USER, project={key: HOSTILE_VALUES[key], "temperature": 0.2})
    assert loaded.ignored == (key,)
    relay = loaded.settings.relays["default"]
    assert relay.urls == [USER_URL]
    assert relay.resolve_key("default", {"HOME": "/home/canary"}) == USER_KEY
    assert relay.headers == {} and relay.proxy is None and relay.api_key_env is None
    assert loaded.settings.relay is None
    assert loaded.settings.temperature == 0.2  # the rest of the section still applies
    assert not any("evil" in p for p in loaded.problems), loaded.problems


def test_project_host_never_pairs_with_the_users_key(tmp_path: Path) -> None:
    # The user's key is in config.toml; the project names only a host for the same relay.
    toml = f'[relays.default]\nbaseUrl = "{USER_URL}"\napiKey = "{USER_KEY}"\n'
    project = {
        "relays": {"default": {"baseUrl": HOSTILE, "backupUrls": [HOSTILE]}},
        "baseUrl": HOSTILE,
        "backupUrls": [HOSTILE],
    }
    loaded = load(tmp_path, toml, project=project)
    relay = loaded.settings.relays["default"]
    assert relay.urls == [USER_URL]
    assert relay.resolve_key("default", {}) == USER_KEY
    assert loaded.ignored == ("backupUrls", "baseUrl", "relays")


def test_project_cannot_name_the_environment_variable_holding_the_key(tmp_path: Path) -> None:
    # No user key at all: a project's apiKeyEnv must not make the server read HOME.
    user = {"baseUrl": USER_URL}
    loaded = load(tmp_path, user=user, project={"apiKeyEnv": "CANARY"})
    relay = loaded.settings.relays["default"]
    assert relay.api_key_env is None
    with pytest.raises(MissingKeyError):
        relay.resolve_key("default", {"CANARY": "canary-value"})
    nested = load(tmp_path, user=user, project={"relays": {"default": {"apiKeyEnv": "CANARY"}}})
    with pytest.raises(MissingKeyError):
        nested.settings.relays["default"].resolve_key("default", {"CANARY": "canary-value"})


def test_user_level_sources_may_still_set_every_key(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        user={**USER, "relays": {"default": {"headers": {"X-Team": "a"}}}, "logContent": True},
        environ={},
    )
    assert loaded.ignored == ()
    assert loaded.settings.relays["default"].headers == {"X-Team": "a"}
    assert loaded.settings.log_content is True


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("logContent", True),
        ("logContent", "true"),
        ("logContent", 1),
        ("log_content", True),
        ("excludeDefaults", False),
        ("excludeDefaults", "false"),
        ("exclude_defaults", False),
        ("maskSecrets", False),
        ("maskSecrets", 0),
    ],
)
def test_a_project_cannot_weaken_privacy(tmp_path: Path, key: str, value: Any) -> None:
    loaded = load(tmp_path, user=USER, project={key: value})
    assert len(loaded.ignored) == 1 and loaded.ignored[0] in PRIVACY_SWITCHES
    settings = loaded.settings
    assert settings.log_content is False
    assert settings.mask_secrets is True
    assert settings.exclude_globs == list(DEFAULT_EXCLUDE)


def test_a_project_may_make_things_more_private(tmp_path: Path) -> None:
    user = {**USER, "logContent": True, "excludeDefaults": False, "maskSecrets": False}
    project = {"logContent": False, "excludeDefaults": True, "maskSecrets": True}
    loaded = load(tmp_path, user=user, project=project)
    assert loaded.ignored == ()
    assert loaded.settings.log_content is False
    assert loaded.settings.mask_secrets is True
    assert loaded.settings.exclude_globs == list(DEFAULT_EXCLUDE)


def test_snake_case_names_are_protected_too(tmp_path: Path) -> None:
    # pydantic accepts field names as well as the camelCase aliases.
    kept, ignored = split_project_source(
        {"api_key_env": "HOME", "base_url": HOSTILE, "backup_urls": [HOSTILE]}
    )
    assert kept == {} and ignored == ("apiKeyEnv", "backupUrls", "baseUrl")


def test_project_exclude_and_actions_add_to_the_users(tmp_path: Path) -> None:
    mine = {"id": "mine", "title": "Mine", "prompt": "p {selection}"}
    shared = {"id": "tests", "title": "Tests (user)", "prompt": "u {selection}"}
    theirs = {"id": "tests", "title": "Tests (project)", "prompt": "t {selection}"}
    extra = {"id": "lint", "title": "Lint", "prompt": "l {selection}"}
    loaded = load(
        tmp_path,
        user={**USER, "exclude": ["*.local"], "actions": [mine, shared]},
        project={"exclude": ["fixtures/**", "*.local"], "actions": [theirs, extra]},
    )
    assert loaded.ignored == ()
    assert loaded.settings.exclude_globs == [*DEFAULT_EXCLUDE, "*.local", "fixtures/**"]
    assert [(a.id, a.title) for a in loaded.settings.actions] == [
        ("mine", "Mine"),
        ("tests", "Tests (project)"),
        ("lint", "Lint"),
    ]


def test_project_model_and_parameters_apply(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        user=USER,
        project={"model": "gpt-4o-mini", "temperature": 0.3, "maxTokens": 200, "language": "zh"},
    )
    assert loaded.ignored == ()
    settings = loaded.settings
    assert settings.model_for("default") == "gpt-4o-mini"
    assert settings.relays["default"].urls == [USER_URL]
    assert (settings.temperature, settings.max_tokens, settings.language) == (0.3, 200, "zh")


def test_project_action_relay_can_only_name_the_users_relays(tmp_path: Path) -> None:
    action = {"id": "x", "title": "X", "prompt": "{selection}", "relay": "evil"}
    loaded = load(
        tmp_path,
        user=USER,
        project={"actions": [action], "relays": {"evil": {"baseUrl": HOSTILE}}},
    )
    assert loaded.ignored == ("relays",)
    assert set(loaded.settings.relays) == {"default"}  # "evil" resolves to nothing


def test_unknown_project_keys_are_reported_as_unknown_not_ignored(tmp_path: Path) -> None:
    loaded = load(tmp_path, user=USER, project={"baseURL": HOSTILE})
    assert loaded.ignored == ()
    assert any("baseURL" in p and "did you mean 'baseUrl'" in p for p in loaded.problems)
    assert loaded.settings.relays["default"].urls == [USER_URL]


@pytest.mark.parametrize("project", [None, [], "text", 5, {"baseUrl": None}])
def test_project_sources_that_set_nothing(tmp_path: Path, project: Any) -> None:
    loaded = load(tmp_path, user=USER, project=project)
    assert loaded.ignored == ()
    assert loaded.settings.relays["default"].urls == [USER_URL]


def test_every_setting_is_classified() -> None:
    # A new setting must be placed deliberately: unlisted keys count as protected.
    fields = {f.alias for f in Settings.model_fields.values()}
    listed = set(PROJECT_KEYS) | set(PRIVACY_SWITCHES) | set(PROTECTED_KEYS)
    assert fields - listed == set()
    assert not set(PROJECT_KEYS) & (set(PRIVACY_SWITCHES) | set(PROTECTED_KEYS))


def test_the_warning_names_the_keys_and_where_they_came_from() -> None:
    text = ProjectSettingsIgnored(("apiKeyEnv", "baseUrl")).user_message()
    assert "apiKeyEnv, baseUrl" in text
    assert "workspace/project settings" in text
    assert "\n" not in text


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [*PROTECTED_KEYS, *PRIVACY_SWITCHES, *PROJECT_KEYS, "api_key", "base_url", "log_content"]
)
PROJECT = st.dictionaries(KEYS, JSON | st.just(HOSTILE), max_size=6)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROJECT)
def test_no_project_source_changes_a_relay_but_its_model(project: dict[str, Any]) -> None:
    path = Path("/nonexistent/gpt-lsp/config.toml")
    user = {**USER, "exclude": ["*.local"]}
    alone = load_sources(user_options=user, environ={}, config_path=path).settings
    loaded = load_sources(user_options=user, project_options=project, environ={}, config_path=path)
    got = loaded.settings
    assert set(got.relays) == set(alone.relays)
    for name, relay in got.relays.items():
        assert relay.model_copy(update={"model": None}) == alone.relays[name].model_copy(
            update={"model": None}
        )
    assert got.relay == alone.relay
    assert got.log_content is False and got.mask_secrets is True
    assert {*DEFAULT_EXCLUDE, "*.local"} <= set(got.exclude_globs)


def test_problems_quoting_a_projects_keys_are_one_clean_line(tmp_path: Path) -> None:
    loaded = load(tmp_path, user=USER, project={"\x1b]0;owned\x07mod\x1b[2Jel\nx": 1})
    assert loaded.problems and all(
        "\x1b" not in p and "\n" not in p and "\x07" not in p for p in loaded.problems
    )


@pytest.mark.parametrize("value", ["*.py", {"a": 1}, 5, True])
def test_a_projects_bad_exclude_keeps_the_users_globs(tmp_path: Path, value: Any) -> None:
    loaded = load(
        tmp_path, user={**USER, "exclude": ["*.local"]}, project={"exclude": value, "actions": 1}
    )
    assert loaded.settings.exclude_globs == [*DEFAULT_EXCLUDE, "*.local"]
    assert any(p.startswith("exclude:") for p in loaded.problems)
    assert any(p.startswith("actions:") for p in loaded.problems)


def test_a_projects_bad_glob_is_dropped_alone(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, user={**USER, "exclude": ["*.local"]}, project={"exclude": [3, "vendor/**"]}
    )
    assert loaded.settings.exclude_globs == [*DEFAULT_EXCLUDE, "*.local", "vendor/**"]
