"""Turns a validated request into a job's inputs: region, prompt, relay request, output filter."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from gpt_lsp.answer.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.answer.repeats import context_lines
from gpt_lsp.answer.shape import is_prose_document
from gpt_lsp.answer.syntax import syntax_check
from gpt_lsp.asking.target import Chat, Params, build, target
from gpt_lsp.context.block import ContextPack
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _, ngettext
from gpt_lsp.jobs.job import JobSpec
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.prompting.slicing import (
    Slice,
    build_prompt,
    check_document,
    cut_slice,
    doc_eol,
    uri_path,
)
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Span


@dataclass(frozen=True)
class Launch:
    """A job ready to start: what it sends and which part of the document it replaces."""

    spec: JobSpec
    region: Span
    original: str


def prepare(
    action: Action,
    doc: TextDoc,
    span: Span,
    *,
    settings: Settings,
    relays: RelayPool,
    encoding: Encoding,
    instruction: str = "",
    diagnostics: list[str] | None = None,
    marker: bool = False,
    context: Callable[[Slice], ContextPack] | None = None,
) -> Launch:
    """Checks the request against the settings and builds the job; raises RequestRefused.
    `context` gathers the context from other places for the cut slice."""
    check_document(doc.uri, settings)
    name = os.path.basename(uri_path(doc.uri))
    if span.start.line >= len(doc.lines):
        raise RequestRefused(
            f"The range starts at line {span.start.line + 1}, past the end of "
            f"{name} ({len(doc.lines)} lines)."
        )
    cut = cut_slice(doc, span, encoding, settings.context_chars, marker=marker)
    if len(cut.selection) > settings.max_selection_chars:
        text = _(
            "The selection has {count} characters, more than maxSelectionChars ({limit}): "
            "select less."
        )
        raise RequestRefused(
            text.format(count=f"{len(cut.selection):,}", limit=f"{settings.max_selection_chars:,}")
        )
    pack = context(cut) if context is not None else ContextPack()
    mask = SecretMask()
    if settings.mask_secrets:
        cut = replace(
            cut,
            selection=mask.mask(cut.selection),
            before=mask.mask(cut.before),
            after=mask.mask(cut.after),
        )
        # The instruction and diagnostics are sent too (a marker's comment, a linter's
        # message, a pasted key): the same mask, so the answer's placeholders still resolve.
        instruction = mask.mask(instruction)
        diagnostics = [mask.mask(line) for line in diagnostics or []]
    where = target(relays, settings, action.relay, action.model)
    # Context snippets take the same mask: an answer quoting one still unmasks.
    block = pack.render(mask.mask if settings.mask_secrets else str)
    messages = build_prompt(
        action,
        doc,
        cut,
        settings,
        instruction=instruction,
        diagnostics=diagnostics or [],
        context=block,
    )
    params = Params(
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        presence_penalty=settings.presence_penalty,
    )
    request = build(where, Chat(messages), params, label=action.id)
    selection, eol = mask.unmask(cut.selection), doc_eol(doc, cut.region)
    # An insertion at a line's start adds whole lines: end them with a break.
    at_line_start = cut.region.is_empty and cut.region.start.character == 0
    before, after = context_lines(mask.unmask(cut.before), mask.unmask(cut.after))

    def make_output() -> CodeOutputFilter | ProseOutputFilter:
        """A fresh output filter: one per turn of the job."""
        if action.output == "notes":
            return ProseOutputFilter(doc.eol)
        return CodeOutputFilter(
            selection,
            eol,
            base_indent=cut.base_indent,
            indent_first_line=cut.base_indent is None,
            trailing_newline=True if at_line_start else None,
            before=before,
            after=after,
            prose_document=is_prose_document(doc.language_id, doc.uri),
            parses=syntax_check(doc),
        )

    spec = JobSpec(
        action=action,
        uri=doc.uri,
        messages=messages,
        request=request,
        client=where.client,
        price=where.price,
        output=make_output(),
        max_answer_chars=settings.max_answer_chars,
        unmasker=StreamUnmasker(mask) if mask.count else None,
        mask=mask,
        make_output=make_output,
        context=pack.receipts(),
    )
    if mask.count:
        notice = ngettext(
            "{count} secret was masked before sending.",
            "{count} secrets were masked before sending.",
            mask.count,
        )
        spec.notices.append(notice.format(count=mask.count))
    return Launch(spec, cut.region, cut.original)
