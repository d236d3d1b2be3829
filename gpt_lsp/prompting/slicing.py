"""What a job takes from a document: its region, the selection and the context around it (pure)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.prompts import (
    PromptContext,
    build_messages,
    context_window,
    template_messages,
)
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc, line_break_of
from gpt_lsp.text.regions import Encoding, Pos, Span

# ---------------------------------------------------------------- documents


def uri_path(uri: str) -> str:
    """Returns the path of a URI (file or otherwise), for globbing and display."""
    return unquote(urlsplit(uri).path) or uri


def excluded_by(uri: str, globs: Sequence[str]) -> str | None:
    """Returns the exclude glob a document matches, if any, in any letter case (on macOS and
    Windows `.ENV` is `.env`, and a key in `Server.PEM` is as secret as in `server.pem`)."""
    path = uri_path(uri).lower()
    name = os.path.basename(path)
    for glob in globs:
        folded = glob.lower()
        if fnmatch.fnmatchcase(name, folded) or fnmatch.fnmatchcase(path, folded):
            return glob
    return None


def check_document(uri: str, settings: Settings) -> None:
    """Refuses documents the user excluded from being sent."""
    glob = excluded_by(uri, settings.exclude_globs)
    if glob is not None:
        text = _(
            "{file} matches the exclude pattern '{pattern}': it is never sent to a relay "
            "(see the `exclude` setting)."
        )
        raise RequestRefused(text.format(file=os.path.basename(uri_path(uri)), pattern=glob))


@dataclass(frozen=True)
class Slice:
    """What a job takes from a document."""

    region: Span  # what the job replaces
    original: str  # the region's text, for restoring
    selection: str  # what the prompt calls the selection
    before: str
    after: str
    base_indent: str | None  # when the region starts mid-line


def cut_slice(
    doc: TextDoc, span: Span, encoding: Encoding, budget: int, *, marker: bool = False
) -> Slice:
    """Cuts the region, the prompt's selection and the context around it."""
    start = doc.clamp(span.start, encoding)
    end = doc.clamp(span.end, encoding)
    region = Span(start, end)
    original = doc.text_in(region, encoding)
    selection = original
    if marker:
        # The marker line is replaced with the block but not sent as code to rewrite.
        first_break = _first_break(original)
        selection = original[first_break:] if first_break else ""
    before_text = _text_before(doc, start, encoding, budget)
    after_text = _text_after(doc, end, encoding, budget)
    window = context_window(before_text, after_text, budget)
    base_indent = None
    if start.character > 0 and not marker:
        line = doc.line_text(start.line)
        prefix = line[: len(line) - len(line.lstrip(" \t"))]
        base_indent = prefix
    return Slice(region, original, selection, window.before, window.after, base_indent)


def _first_break(text: str) -> int:
    for index, char in enumerate(text):
        if char == "\n":
            return index + 1
        if char == "\r":
            return index + 2 if text[index + 1 : index + 2] == "\n" else index + 1
    return 0


def _text_before(doc: TextDoc, pos: Pos, encoding: Encoding, budget: int) -> str:
    line, index = doc.index_of(pos, encoding)
    parts = [doc.lines[line][:index]]
    total = len(parts[0])
    number = line - 1
    while number >= 0 and total < budget:
        parts.append(doc.lines[number])
        total += len(doc.lines[number])
        number -= 1
    return "".join(reversed(parts))


def _text_after(doc: TextDoc, pos: Pos, encoding: Encoding, budget: int) -> str:
    line, index = doc.index_of(pos, encoding)
    parts = [doc.lines[line][index:]]
    total = len(parts[0])
    number = line + 1
    while number < len(doc.lines) and total < budget:
        parts.append(doc.lines[number])
        total += len(doc.lines[number])
        number += 1
    return "".join(parts)


def describe_diagnostics(raw: Sequence[Any] | None) -> list[str]:
    """Returns diagnostics as lines: 'line N: message (source code)'."""
    out: list[str] = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "")).strip()
        if not message:
            continue
        rng = item.get("range")
        start = rng.get("start") if isinstance(rng, dict) else None
        line = start.get("line") if isinstance(start, dict) else None
        # Clients send what they like here: only a plausible line number is shown.
        where = ""
        if isinstance(line, int) and not isinstance(line, bool) and 0 <= line < 10**9:
            where = f"line {line + 1}: "
        tags = " ".join(str(item[k]) for k in ("source", "code") if item.get(k) is not None)
        out.append(f"{where}{message}" + (f" ({tags})" if tags else ""))
    return out[:50]


def build_prompt(
    action: Action,
    doc: TextDoc,
    cut: Slice,
    settings: Settings,
    *,
    instruction: str = "",
    diagnostics: Sequence[str] = (),
    context: str = "",
) -> list[dict[str, str]]:
    """Returns the chat messages for an action on a slice; `context` is the block of context
    from other places (already masked)."""
    ctx = PromptContext(
        language_id=doc.language_id,
        file_name=os.path.basename(uri_path(doc.uri)),
        selection=cut.selection,
        before=cut.before,
        after=cut.after,
        diagnostics=tuple(diagnostics),
        instruction=instruction,
        prose_language=settings.language,
        context=context,
    )
    output = "prose" if action.output == "notes" else "code"
    if action.template is not None:
        return template_messages(action.template, output, ctx)
    task = instruction or action.task
    return build_messages(task, output, ctx)


def doc_eol(doc: TextDoc, region: Span) -> str:
    """Returns the line break to write in a region (its own line's, else the document's)."""
    brk = line_break_of(doc.lines[region.start.line]) if region.start.line < len(doc.lines) else ""
    return brk or doc.eol
