"""Typed settings: the schema (models), where values come from and how they merge (sources),
and validation that never stops the server (repair).

Sources, lowest precedence first: built-in defaults, the user's config.toml, the environment,
the user's editor settings (LSP initializationOptions, later `gptLsp/didChangeUserSettings`),
then the client's `gptLsp` configuration section. That section is project-level (eglot answers
it from .dir-locals.el, VS Code from workspace settings): it may not set where requests go,
the credentials they carry, their budget or weaken privacy (`split_project_source`). Bad values
never stop the server: each is reported once and replaced by its default.
"""

from __future__ import annotations

from gpt_lsp.settings.models import (
    DEFAULT_EXCLUDE,
    DEFAULT_MODEL,
    DEFAULT_RELAY,
    PRIVACY_SWITCHES,
    PROJECT_KEYS,
    PROTECTED_KEYS,
    QUOTA_PER_USD,
    SHORTHAND_KEYS,
    USER_ONLY_KEYS,
    ActionConfig,
    Budget,
    CompletionSettings,
    ContextSettings,
    Price,
    RelayConfig,
    Settings,
)
from gpt_lsp.settings.repair import (
    validate,
)
from gpt_lsp.settings.sources import (
    LoadedSettings,
    config_file_path,
    deep_merge,
    env_source,
    file_source,
    fold_shorthand,
    load_settings,
    load_sources,
    merge_sources,
    split_project_source,
)

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_MODEL",
    "DEFAULT_RELAY",
    "PRIVACY_SWITCHES",
    "PROJECT_KEYS",
    "PROTECTED_KEYS",
    "QUOTA_PER_USD",
    "SHORTHAND_KEYS",
    "USER_ONLY_KEYS",
    "ActionConfig",
    "Budget",
    "CompletionSettings",
    "ContextSettings",
    "LoadedSettings",
    "Price",
    "RelayConfig",
    "Settings",
    "config_file_path",
    "deep_merge",
    "env_source",
    "file_source",
    "fold_shorthand",
    "load_settings",
    "load_sources",
    "merge_sources",
    "split_project_source",
    "validate",
]
