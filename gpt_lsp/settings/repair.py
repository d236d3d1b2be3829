"""Validation that never stops the server: each bad value is named and dropped, the rest kept."""

from __future__ import annotations

import copy
import difflib
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from gpt_lsp.settings.models import (
    SHORTHAND_KEYS,
    ActionConfig,
    Budget,
    CompletionSettings,
    Price,
    RelayConfig,
    Settings,
)

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on 3.10 only
    pass  # type: ignore[import-not-found,unused-ignore]


# ---------------------------------------------------------------- validation


def validate(raw: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Returns settings from a merged dict, dropping each bad value with a problem line."""
    data: Any = copy.deepcopy(dict(raw))
    problems: list[str] = []
    # One repair per round: deleting list items shifts the locations of later errors.
    for _ in range(200):
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            if not _repair_one(data, exc, problems):
                break
            continue
        if settings.relay is not None and settings.relay not in settings.relays:
            known = ", ".join(sorted(settings.relays)) or "none defined"
            problems.append(
                f"relay: '{settings.relay}' is not defined (relays: {known}); using the default"
            )
            settings = settings.model_copy(update={"relay": None})
        wanted = settings.completion.relay
        if wanted is not None and wanted not in settings.relays:
            problems.append(f"completion.relay: '{wanted}' is not defined; using the default")
            completion = settings.completion.model_copy(update={"relay": None})
            settings = settings.model_copy(update={"completion": completion})
        return settings, problems
    problems.append("settings: could not be repaired; using built-in defaults")
    return Settings(), problems


def _repair_one(data: Any, exc: ValidationError, problems: list[str]) -> bool:
    # Bad and unknown keys first, so a relay is dropped for a missing key only as a last resort.
    errors = sorted(exc.errors(), key=lambda e: e["type"] == "missing")
    for error in errors:
        loc = tuple(error["loc"])
        path = _removable_path(data, loc)
        if path is None:
            continue
        if error["type"] == "missing":
            parent = path[:-1] if len(path) > 1 else path
            if parent and _delete(data, parent):
                prefix = _dotted(loc) + ":"
                earlier = [i for i, text in enumerate(problems) if text.startswith(prefix)]
                if earlier:
                    text = problems[earlier[0]].removesuffix("; using the default")
                    problems[earlier[0]] = f"{text}; {_dotted(parent)} ignored"
                else:
                    problems.append(f"{_dotted(parent)}: ignored ({_dotted(loc)} is required)")
                return True
            continue
        if _delete(data, path):
            problems.append(_describe(loc, error, data))
            return True
    return False


def _describe(loc: tuple[Any, ...], error: Mapping[str, Any], data: Any) -> str:
    where = _dotted(loc)
    if error["type"] == "extra_forbidden":
        hint = _suggest(loc, data)
        return f"unknown key '{where}' ignored{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}; using the default"


def _suggest(loc: tuple[Any, ...], data: Any) -> str:
    known = _known_keys(loc[:-1], data)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        match = lowered.get(str(loc[-1]).lower())
        close = [match] if match else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_keys(parent: tuple[Any, ...], data: Any) -> list[str]:
    model: type[BaseModel] = Settings
    walk = list(parent)
    while walk:
        step = walk.pop(0)
        if model is Settings and step == "relays" and walk:
            walk.pop(0)
            model = RelayConfig
        elif model is RelayConfig and step == "prices" and walk:
            walk.pop(0)
            model = Price
        elif model is Settings and step == "actions" and walk:
            walk.pop(0)
            model = ActionConfig
        elif model is Settings and step == "budget":
            model = Budget
        elif model is Settings and step == "completion":
            model = CompletionSettings
    fields = [f.alias or name for name, f in model.model_fields.items()]
    return fields + (list(SHORTHAND_KEYS) if model is Settings else [])


def _removable_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    # pydantic appends validator names and union tags to locations; keep the real keys.
    path: list[Any] = []
    node = data
    for step in loc:
        if (isinstance(node, Mapping) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        ):
            path.append(step)
            node = node[step]
        else:
            if isinstance(node, Mapping) and isinstance(step, str) and not path:
                return (step,)
            if isinstance(node, Mapping) and isinstance(step, str):
                path.append(step)
            break
    return tuple(path) if path else None


def _delete(data: Any, path: tuple[Any, ...]) -> bool:
    node = data
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node.pop(last)
        return True
    return False


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
