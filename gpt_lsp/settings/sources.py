"""Where settings come from (config.toml, the environment, the editor) and how they merge;
a project-level source may not set where requests go, their credentials, cost or privacy."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from gpt_lsp.i18n import _
from gpt_lsp.settings.models import (
    _ALL_KEYS,
    COMPLETION_PROJECT_KEYS,
    COMPLETION_PROJECT_SWITCHES,
    DEFAULT_RELAY,
    PRIVACY_SWITCHES,
    PROJECT_KEYS,
    SHORTHAND_KEYS,
    ContextSettings,
    Settings,
)
from gpt_lsp.settings.repair import validate
from gpt_lsp.text.sanitize import sanitize

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


# ---------------------------------------------------------------- sources


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the user config file path (GPT_LSP_CONFIG, else the platform config dir)."""
    env = os.environ if environ is None else environ
    named = env.get("GPT_LSP_CONFIG")
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("gpt-lsp", appauthor=False)) / "config.toml"


def file_source(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Reads a TOML config file; a missing file is empty, a broken one a problem."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), []
    except FileNotFoundError:
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [_("config file {path}: {error}").format(path=path, error=exc)]


def env_source(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Reads GPT_LSP_* variables, or OPENAI_* when no GPT_LSP_* one is set."""
    env = os.environ if environ is None else environ
    names = {"baseUrl": "BASE_URL", "apiKey": "API_KEY", "model": "MODEL"}
    # All or nothing: never pair a GPT_LSP_ relay URL with an OpenAI key meant for another host.
    prefix = "GPT_LSP_" if any(env.get("GPT_LSP_" + v) for v in names.values()) else "OPENAI_"
    out: dict[str, Any] = {}
    for key, suffix in names.items():
        value = env.get(prefix + suffix)
        if value and not (prefix == "OPENAI_" and key == "model"):
            out[key] = value
    return out


# ---------------------------------------------------------------- merging


def fold_shorthand(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Moves top-level baseUrl/apiKey/apiKeyEnv/model/backupUrls into relays.default."""
    out = dict(raw)
    short = {k: out.pop(k) for k in SHORTHAND_KEYS if k in out}
    if short:
        relays = out.get("relays")
        relays = dict(relays) if isinstance(relays, Mapping) else {}
        current = relays.get(DEFAULT_RELAY)
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged.update(short)
        relays[DEFAULT_RELAY] = merged
        out["relays"] = relays
    return out


def deep_merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """Merges mappings recursively; values of `high` win, lists are replaced whole."""
    out = dict(low)
    for key, value in high.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def merge_sources(*sources: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merges raw sources, lowest precedence first, after folding each one's shorthand."""
    merged: dict[str, Any] = {}
    for source in sources:
        if isinstance(source, Mapping):
            merged = deep_merge(merged, fold_shorthand(source))
    return merged


class LoadedSettings(NamedTuple):
    """Settings as loaded, the problems found, and the project-level keys that were ignored."""

    settings: Settings
    problems: list[str]
    ignored: tuple[str, ...]


def load_settings(
    *,
    init_options: Mapping[str, Any] | None = None,
    client_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> tuple[Settings, list[str]]:
    """Loads settings: initializationOptions are user-level, the client section project-level."""
    loaded = load_sources(
        user_options=init_options,
        project_options=client_config,
        environ=environ,
        config_path=config_path,
    )
    return loaded.settings, loaded.problems


def load_sources(
    *,
    user_options: Mapping[str, Any] | None = None,
    project_options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> LoadedSettings:
    """Loads settings from every source; project-level values are held to `split_project_source`.

    `user_options` come from the user's own editor configuration (initializationOptions, or
    gptLsp/didChangeUserSettings); `project_options` is the client's `gptLsp` section.
    """
    path = config_path if config_path is not None else config_file_path(environ)
    from_file, problems = file_source(path)
    env = os.environ if environ is None else environ
    if config_path is None and env.get("GPT_LSP_CONFIG") and not path.exists():
        problems.append(_("GPT_LSP_CONFIG names {path}, which does not exist").format(path=path))
    user = merge_sources(from_file, env_source(environ), user_options)
    project, ignored = split_project_source(project_options)
    layer, dropped = _onto_user(user, project)
    merged = merge_sources(user, layer)
    written = any(_names_default(source) for source in (from_file, user_options, layer))
    settings, more = validate(merged, folded=not written)
    more = dropped + more
    # Problems quote keys and values from files a project wrote: one clean line each.
    shown = [sanitize(problem, limit=500) for problem in problems + more]
    return LoadedSettings(settings, shown, ignored)


def _names_default(source: Mapping[str, Any] | None) -> bool:
    """Returns whether a source has a `[relays.default]` of its own (not only shorthand)."""
    relays = source.get("relays") if isinstance(source, Mapping) else None
    return isinstance(relays, Mapping) and DEFAULT_RELAY in relays


def split_project_source(raw: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Returns what a project-level source may set, and the keys it set that it may not.

    Protected keys are dropped whole (a project cannot add a host to the user's relay, or a
    variable name for the key); a privacy switch is kept only at its private value. Keys that
    are no setting at all are kept, so validation reports them as unknown.
    """
    if not isinstance(raw, Mapping):
        return {}, ()
    kept: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in raw.items():
        if value is None:
            continue  # changes nothing (deep_merge skips it)
        name = _camel(key) if isinstance(key, str) else key
        if name == "completion" and isinstance(value, Mapping):
            part, dropped = _project_completion(value)
            if part:
                kept[key] = part
            ignored.extend(f"completion.{k}" for k in dropped if f"completion.{k}" not in ignored)
            continue
        if name in PRIVACY_SWITCHES:
            # `is`, not ==: "true" or 1 would validate as True.
            allowed = value is PRIVACY_SWITCHES[name]
        else:
            allowed = name in PROJECT_KEYS or name not in _ALL_KEYS
        if allowed:
            kept[key] = value
        elif name not in ignored:
            ignored.append(name)
    return kept, tuple(sorted(ignored))


def _project_completion(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Splits a project's `completion` object: what it may set, and the keys it may not."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in raw.items():
        name = _camel(key) if isinstance(key, str) else key
        if value is None:
            continue
        if name in COMPLETION_PROJECT_KEYS or COMPLETION_PROJECT_SWITCHES.get(name) == value:
            kept[key] = value
        else:
            dropped.append(str(name))
    return kept, dropped


def _onto_user(
    user: Mapping[str, Any], project: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Makes a project's `exclude` and `actions` add to the user's instead of replacing them.

    A value that is no list is dropped here: replacing the user's list, then failing
    validation, it would take the user's own globs with it.
    """
    out = dict(project)
    problems: list[str] = []
    for key in ("exclude", "actions"):
        if key in out and not isinstance(out[key], list):
            problems.append(_not_a_list(key))
            del out[key]
    mine = user.get("exclude")
    theirs = out.get("exclude")
    if isinstance(mine, list) and isinstance(theirs, list):
        out["exclude"] = mine + [glob for glob in theirs if glob not in mine]
    _add_completion_lists(user, out, problems)
    _lower_context(user, out)
    mine = user.get("actions")
    theirs = out.get("actions")
    if isinstance(mine, list) and isinstance(theirs, list):
        ids = {a.get("id") for a in theirs if isinstance(a, Mapping)}
        kept = [a for a in mine if not (isinstance(a, Mapping) and a.get("id") in ids)]
        out["actions"] = kept + theirs
    return out, problems


def _add_completion_lists(
    user: Mapping[str, Any], project: dict[str, Any], problems: list[str]
) -> None:
    """Makes a project's completion exclude lists add to the user's."""
    theirs = project.get("completion")
    if not isinstance(theirs, Mapping):
        return
    merged = dict(theirs)
    mine = user.get("completion")
    mine = mine if isinstance(mine, Mapping) else {}
    for key in ("exclude", "excludeLanguages"):
        if key not in merged:
            continue
        if not isinstance(merged[key], list):
            problems.append(_not_a_list(f"completion.{key}"))
            del merged[key]
        elif isinstance(mine.get(key), list):
            merged[key] = mine[key] + [g for g in merged[key] if g not in mine[key]]
    project["completion"] = merged


def _lower_context(user: Mapping[str, Any], project: dict[str, Any]) -> None:
    """Holds a project's `context` to the user's: a budget at most the user's (or the default),
    a switch only turned off; anything else is ignored and the user's own value stands."""
    theirs = project.get("context")
    if not isinstance(theirs, Mapping):
        return
    mine = user.get("context")
    mine = mine if isinstance(mine, Mapping) else {}
    defaults = ContextSettings()
    kept: dict[str, Any] = {}
    for key, value in theirs.items():
        name = _camel(key) if isinstance(key, str) else key
        field = _CONTEXT_FIELDS.get(name)
        if field is None:
            kept[key] = value  # unknown: validation names it (a typo)
            continue
        ours = mine.get(name, getattr(defaults, field))
        if isinstance(value, bool) or isinstance(ours, bool):
            if value is False:
                kept[key] = False
        elif isinstance(value, int) and isinstance(ours, int):
            kept[key] = min(value, ours)
    project["context"] = kept


_CONTEXT_FIELDS = {f.alias or n: n for n, f in ContextSettings.model_fields.items()}


def _not_a_list(key: str) -> str:
    return _("{key}: the workspace/project value is not a list; ignored").format(key=key)


def _camel(key: str) -> str:
    # pydantic accepts field names (log_content) as well as aliases (logContent).
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)
