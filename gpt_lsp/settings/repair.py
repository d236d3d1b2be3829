"""Validation that never stops the server: each bad value is named and dropped, the rest kept."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from gpt_lsp.i18n import _
from gpt_lsp.settings.models import (
    DEFAULT_RELAY,
    SHORTHAND_KEYS,
    ActionConfig,
    Budget,
    CompletionSettings,
    ContextSettings,
    Price,
    RelayConfig,
    Settings,
)
from gpt_lsp.settings.problems import dropped_with, reason, replaced, required, unknown_key

# ---------------------------------------------------------------- validation


@dataclass
class _Problems:
    """The problem lines so far, and what later repairs need to know about them."""

    lines: list[str] = field(default_factory=list)
    bad: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (line, reason)
    typos: dict[tuple[Any, ...], int] = field(default_factory=dict)  # key it meant -> line


def validate(raw: Mapping[str, Any], *, folded: bool = False) -> tuple[Settings, list[str]]:
    """Returns settings from a merged dict, dropping each bad value with a problem line.

    `folded`: relays.default holds only top-level shorthand (baseUrl, apiKey, model...), no
    `[relays.default]` the user wrote: its problems are told in the shorthand's words.
    """
    data: Any = copy.deepcopy(dict(raw))
    problems = _Problems()
    # One repair per round: deleting list items shifts the locations of later errors.
    for _round in range(200):
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            if not _repair_one(data, exc, problems, folded):
                break
            continue
        if settings.relay is not None and settings.relay not in settings.relays:
            known = ", ".join(sorted(settings.relays)) or _("none defined")
            text = _("relay: '{relay}' is not defined (relays: {known}); using the default")
            problems.lines.append(text.format(relay=settings.relay, known=known))
            settings = settings.model_copy(update={"relay": None})
        wanted = settings.completion.relay
        if wanted is not None and wanted not in settings.relays:
            text = _("completion.relay: '{relay}' is not defined; using the default")
            problems.lines.append(text.format(relay=wanted))
            completion = settings.completion.model_copy(update={"relay": None})
            settings = settings.model_copy(update={"completion": completion})
        return settings, problems.lines
    problems.lines.append(_("settings: could not be repaired; using built-in defaults"))
    return Settings(), problems.lines


def _repair_one(data: Any, exc: ValidationError, problems: _Problems, folded: bool) -> bool:
    # Bad and unknown keys first, so a relay is dropped for a missing key only as a last resort.
    errors = sorted(exc.errors(), key=lambda e: e["type"] == "missing")
    for error in errors:
        loc = tuple(error["loc"])
        path = _removable_path(data, loc)
        if path is None:
            continue
        if error["type"] == "missing":
            parent = path[:-1] if len(path) > 1 else path
            section = _get(data, parent)
            written = sorted(section) if isinstance(section, Mapping) else []
            if parent and _delete(data, parent):
                _missing(loc, parent, written, problems, folded)
                return True
            continue
        if _delete(data, path):
            _bad(loc, error, data, problems, folded)
            return True
    return False


def _missing(
    loc: tuple[Any, ...],
    parent: tuple[Any, ...],
    written: list[str],
    problems: _Problems,
    folded: bool,
) -> None:
    """Tells of a section dropped for a required key, on the line that explains it if any;
    `written` are the keys the section still had."""
    where = _shown(loc, folded)
    shorthand = folded and parent == ("relays", DEFAULT_RELAY)
    # The key was there but bad: its line says what went with it.
    if where in problems.bad:
        index, why = problems.bad.pop(where)
        if not shorthand:
            problems.lines[index] = dropped_with(where, why, _dotted(parent))
        elif written:
            problems.lines[index] = dropped_with(where, why, ", ".join(written))
        else:
            problems.lines[index] = _("{key}: {reason}").format(key=where, reason=why)
        return
    # The key was misspelt (`baseURL`): that line says it all; top-level for the shorthand.
    meant = (loc[-1],) if shorthand else loc
    if meant in problems.typos:
        if not shorthand:
            index = problems.typos[meant]
            problems.lines[index] += _("; {section} ignored").format(section=_dotted(parent))
        return
    if shorthand:  # the user wrote `model = ...` at the top, never a relays.default
        problems.lines.append(required(", ".join(written), str(loc[-1])))
        return
    problems.lines.append(required(_dotted(parent), where))


def _bad(
    loc: tuple[Any, ...], error: Mapping[str, Any], data: Any, problems: _Problems, folded: bool
) -> None:
    where = _shown(loc, folded)
    if error["type"] == "extra_forbidden":
        suggestion = _suggest(loc, data)
        if suggestion is not None:
            meant = tuple([*loc[:-1], suggestion])
            problems.typos[meant] = len(problems.lines)
        problems.lines.append(unknown_key(where, suggestion))
        return
    why = reason(error)
    problems.bad[where] = (len(problems.lines), why)
    problems.lines.append(replaced(where, why))


def _shown(loc: tuple[Any, ...], folded: bool) -> str:
    """Returns a key as the user wrote it: `baseUrl`, not relays.default.baseUrl, when the
    default relay is only the top-level shorthand."""
    default = len(loc) == 3 and loc[:2] == ("relays", DEFAULT_RELAY)
    if folded and default and loc[2] in SHORTHAND_KEYS:
        return str(loc[2])
    return _dotted(loc)


def _suggest(loc: tuple[Any, ...], data: Any) -> str | None:
    known = _known_keys(loc[:-1], data)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        match = lowered.get(str(loc[-1]).lower())
        close = [match] if match else []
    return close[0] if close else None


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
        elif model is Settings and step == "context":
            model = ContextSettings
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


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


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
