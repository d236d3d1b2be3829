"""Which AI actions a range offers: listed instantly, never contacting a relay (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.prompting.actions import (
    BUILTIN_ACTIONS,
    CHAT_ACTION,
    all_actions,
    block_after,
    markers_in,
)
from gpt_lsp.prompting.definitions import Definition
from gpt_lsp.prompting.secrets import conceal
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span

BUILTIN_IDS = frozenset(a.id for a in BUILTIN_ACTIONS)


@dataclass(frozen=True)
class Offer:
    """One code action: its title, kind and the `gptLsp.run` argument it carries."""

    title: str
    kind: str
    arguments: dict[str, Any]
    disabled: str | None = None  # why it cannot run (an excluded document)
    command: str = "gptLsp.run"


def list_offers(
    doc: TextDoc,
    span: Span,
    diagnostics: Sequence[dict[str, Any]],
    settings: Settings,
    *,
    excluded: str | None = None,
    only: Sequence[str] | None = None,
    definition: Definition | None = None,
) -> list[Offer]:
    """Returns the AI actions for a range: markers, then built-in and user actions; at a bare
    cursor, the built-in actions on the definition around it (`definition`)."""
    span = Span(min(span.start, span.end), max(span.start, span.end))
    disabled = (
        _("matches exclude pattern '{pattern}': never sent to a relay").format(pattern=excluded)
        if excluded
        else None
    )
    offers: list[Offer] = []
    for marker in markers_in(doc.lines, span.start.line, span.end.line):
        _first, last = block_after(doc.lines, marker.line)
        region = _whole_lines(doc, marker.line, max(marker.line, last))
        arguments = {
            "action": CHAT_ACTION,
            "uri": doc.uri,
            "range": range_json(region),
            "instruction": marker.instruction,
            "marker": True,
        }
        title = f"AI: {conceal(marker.instruction)}"
        offers.append(Offer(title, "refactor.rewrite", arguments, disabled))
    for action in all_actions(settings.actions):
        title = f"AI: {action.label}"
        if not span.is_empty:
            target = span
        elif definition is not None and action.id in BUILTIN_IDS:
            if action.needs_diagnostics and not diagnostics:
                continue
            target = definition.span(doc)
            title = f"{title} {definition.name}"
        elif action.needs_diagnostics and diagnostics:
            target = _diagnostics_span(doc, diagnostics, span)
        else:
            continue
        arguments = {"action": action.id, "uri": doc.uri, "range": range_json(target)}
        if action.needs_diagnostics and diagnostics:
            arguments["diagnostics"] = list(diagnostics)
        offers.append(Offer(title, action.kind, arguments, disabled))
    if only:
        offers = [o for o in offers if any(kind_matches(o.kind, k) for k in only)]
    return offers


def bare_cursor_target(
    doc: TextDoc, cursor: Span, definition: Definition | None, has_diagnostics: bool
) -> Span:
    """The range an action run at a bare cursor covers: the definition around it, as its code
    action does (`:GptAction refactor` and the code action at one cursor do the same thing);
    for fix with diagnostics outside any definition, the cursor's line; else RequestRefused."""
    if definition is not None:
        return definition.span(doc)
    if has_diagnostics:
        return _whole_lines(doc, cursor.start.line, cursor.start.line)
    raise RequestRefused(
        _("The cursor is not inside a function, method or class: select the code to change.")
    )


def range_json(span: Span) -> dict[str, Any]:
    """Returns a span as an LSP range object."""
    return {
        "start": {"line": span.start.line, "character": span.start.character},
        "end": {"line": span.end.line, "character": span.end.character},
    }


def _whole_lines(doc: TextDoc, first: int, last: int) -> Span:
    if last + 1 < len(doc.lines):
        return Span(Pos(first, 0), Pos(last + 1, 0))
    return Span(Pos(first, 0), Pos(last, 10**6))


def _diagnostics_span(doc: TextDoc, diagnostics: Sequence[Any], fallback: Span) -> Span:
    ranges = [d["range"] for d in diagnostics if isinstance(d.get("range"), dict)]
    lines = [r["start"]["line"] for r in ranges] + [r["end"]["line"] for r in ranges]
    if not lines:
        return fallback
    return _whole_lines(doc, min(lines), max(lines))


def kind_matches(kind: str | None, wanted: str) -> bool:
    """True when a code action kind is `wanted` or one of its sub-kinds."""
    return kind is not None and (kind == wanted or kind.startswith(wanted + "."))
