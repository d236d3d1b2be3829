"""One source for what the shims repeat: their user-only key lists are the schema's
(USER_ONLY_KEYS), and VS Code's package.json declares every setting as the schema does, the
user-only ones with a scope a workspace cannot write. (No editor needed: a check of the files.)"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from gpt_lsp.settings import (
    PRIVACY_SWITCHES,
    SHORTHAND_KEYS,
    USER_ONLY_KEYS,
    Settings,
    split_project_source,
)
from scripts.shim_settings import (
    SHIMS,
    VSCODE,
    Shim,
    block,
    drifted,
    package_problems,
    vscode_problems,
    with_block,
)

# Each shim's list as the shim itself holds it, read from the whole file (not only the block).
LISTS: dict[str, tuple[str, str]] = {
    "init.lua": (r"local USER_ONLY = \{(.*?)\n\}", r"(\w+) = true"),
    "gpt-lsp.el": (r"\(defconst gpt-lsp--user-only-keys\s+'\((.*?)\)", r'"(\w+)"'),
    "extension.js": (r"const USER_ONLY = new Set\(\[(.*?)\]\)", r'"(\w+)"'),
}


def shim_keys(shim: Shim) -> list[str]:
    text = shim.path.read_text("utf-8")
    where, item = LISTS[shim.path.name]
    found = re.findall(where, text, re.S)
    assert len(found) == 1, f"{shim.path.name}: {len(found)} user-only lists"
    return re.findall(item, found[0])


@pytest.mark.parametrize("shim", SHIMS, ids=lambda s: s.path.name)
def test_each_shims_user_only_list_is_the_schemas(shim: Shim) -> None:
    keys = shim_keys(shim)
    assert len(keys) == len(set(keys))
    assert set(keys) == set(USER_ONLY_KEYS), "run: python scripts/shim_settings.py"
    assert "budget" in keys  # the key the hand-written lists had lost
    text = shim.path.read_text("utf-8")
    assert with_block(text, shim) == text, "run: python scripts/shim_settings.py"


def test_no_generated_block_has_drifted() -> None:
    assert drifted() == []


@pytest.mark.parametrize("shim", SHIMS, ids=lambda s: s.path.name)
def test_a_drifted_block_is_found_and_rewritten(shim: Shim) -> None:
    text = shim.path.read_text("utf-8")
    old = with_block(text, shim, keys=("baseUrl", "apiKey"))
    assert old != text
    assert with_block(old, shim) == text
    with pytest.raises(ValueError, match="0 user-only key blocks"):
        with_block(text.replace(block(shim), ""), shim)
    with pytest.raises(ValueError, match="2 user-only key blocks"):
        with_block(text + block(shim), shim)


# ---------------------------------------------------------------- what the server does


def _user_value(key: str) -> Any:
    """A value a user might give KEY that a project may not: the non-private switch."""
    if key in PRIVACY_SWITCHES:
        return not PRIVACY_SWITCHES[key]
    return {"enabled": True} if key == "completion" else {"x": 1}


@pytest.mark.parametrize("key", USER_ONLY_KEYS)
def test_each_user_only_key_is_one_the_server_ignores_from_a_project(key: str) -> None:
    ignored = split_project_source({key: _user_value(key)})[1]
    assert ignored == (("completion.enabled",) if key == "completion" else (key,))


def test_every_other_key_is_one_a_project_may_set() -> None:
    # What the shims put in the section they answer: the server has nothing to ignore.
    keys = {f.alias or n for n, f in Settings.model_fields.items()} | set(SHORTHAND_KEYS)
    others = keys - set(USER_ONLY_KEYS)
    assert others >= {"model", "temperature", "exclude", "actions"}
    for key in sorted(others):
        assert split_project_source({key: "any"}) == ({key: "any"}, ()), key


# ---------------------------------------------------------------- package.json


def test_package_json_declares_the_settings_as_the_schema_does() -> None:
    assert vscode_problems() == []


def manifest() -> dict[str, Any]:
    return dict(json.loads((VSCODE / "package.json").read_text("utf-8")))


def settings_of(package: dict[str, Any]) -> dict[str, Any]:
    return dict(package["contributes"]["configuration"]["properties"])


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda props: props.pop(key) and None


DRIFTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "budget-undeclared": (_drop("gptLsp.budget"), "gptLsp.budget: in the schema, not declared"),
    "budget-workspace-scope": (
        lambda p: p["gptLsp.budget"].pop("scope") and None,
        "gptLsp.budget: user-only, but its scope is window",
    ),
    "model-application-scope": (
        lambda p: p["gptLsp.model"].update(scope="application"),
        "gptLsp.model: a workspace may set it, but its scope is application",
    ),
    "unknown-setting": (
        lambda p: p.update({"gptLsp.maxAnswerChar": {"type": "integer", "description": "x"}}),
        "gptLsp.maxAnswerChar: no such setting in the schema",
    ),
    "wrong-type": (
        lambda p: p["gptLsp.temperature"].update(type="string"),
        "gptLsp.temperature: type ['string'], the schema says ['null', 'number']",
    ),
    "wrong-default": (
        lambda p: p["gptLsp.contextChars"].update(default=5000),
        "gptLsp.contextChars: default 5000, the schema says 4000",
    ),
    "wrong-bound": (
        lambda p: p["gptLsp.completion"]["properties"]["maxTokens"].update(maximum=4096),
        "gptLsp.completion.maxTokens: maximum 4096, the schema says 1024",
    ),
    "unknown-nested": (
        lambda p: p["gptLsp.completion"]["properties"].update(debounce={"type": "integer"}),
        "gptLsp.completion.debounce: no such setting in the schema",
    ),
    "nested-undeclared": (
        lambda p: p["gptLsp.budget"]["properties"].pop("dailyQuota") and None,
        "gptLsp.budget.dailyQuota: in the schema, not declared",
    ),
    "relay-field-type": (
        lambda p: p["gptLsp.relays"]["additionalProperties"]["properties"]["timeout"].update(
            type="string"
        ),
        "gptLsp.relays.additionalProperties.timeout: type ['string']",
    ),
    "enum": (
        lambda p: p["gptLsp.completion"]["properties"]["multiline"].update(enum=["auto"]),
        "gptLsp.completion.multiline: enum ['auto']",
    ),
    "no-description": (
        lambda p: p["gptLsp.exclude"].pop("markdownDescription") and None,
        "gptLsp.exclude: no description",
    ),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_each_kind_of_package_json_drift_is_named(drift: str) -> None:
    change, wanted = DRIFTS[drift]
    package = copy.deepcopy(manifest())
    change(package["contributes"]["configuration"]["properties"])
    extension = (VSCODE / "extension.js").read_text("utf-8")
    problems = package_problems(package, extension)
    assert any(p.startswith(wanted) for p in problems), problems


def test_client_only_settings_must_be_declared_and_are_not_the_servers() -> None:
    extension = (VSCODE / "extension.js").read_text("utf-8")
    package = copy.deepcopy(manifest())
    del package["contributes"]["configuration"]["properties"]["gptLsp.serverArgs"]
    assert package_problems(package, extension) == [
        "gptLsp.serverArgs: in CLIENT_ONLY, not declared in package.json"
    ]
    assert "gptLsp.serverPath" in settings_of(manifest())
