"""Fuzzing the settings loader (gpt_lsp/settings): any sources, any TOML text, validate or report
problems, never raise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.settings import load_settings, merge_sources, validate

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_KEYS = st.sampled_from(
    [
        "relays", "relay", "baseUrl", "apiKey", "apiKeyEnv", "model", "backupUrls", "actions",
        "exclude", "excludeDefaults", "temperature", "maxTokens", "prices", "timeout",
        "headers", "proxy", "systemRole", "logContent", "maskSecrets", "contextChars",
        "default", "id", "title", "prompt", "modelRatio", "input", "output",
    ]
)  # fmt: skip
SETTINGS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS | st.text(max_size=5), inner),
    max_leaves=25,
)


@FUZZ
@given(st.lists(SETTINGS, max_size=4))
def test_settings_from_any_sources_validate_or_report(sources: list[Any]) -> None:
    settings_, problems = validate(merge_sources(*sources))
    assert all(isinstance(p, str) for p in problems)
    settings_.exclude_globs  # noqa: B018 - the properties work on whatever came out
    settings_.default_relay_name()


@FUZZ
@given(
    st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            ['baseUrl = "', "[relays.a]\n", "[[actions]]\n", "= 1\n", 'x = """', "\x00", "\n"]
        ),
        max_size=20,
    ).map("".join)
)
def test_toml_files_of_any_text_load_or_report(text: str) -> None:
    path = Path(f"/tmp/gpt-lsp-fuzz-config-{os.getpid()}.toml")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    settings_, problems = load_settings(environ={}, config_path=path)
    assert all(isinstance(p, str) for p in problems)
    assert settings_ is not None
