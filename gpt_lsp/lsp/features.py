"""Code actions and commands: what the server does with a request (imported on first use,
so that `initialize` is answered before any of it loads)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from gpt_lsp import __version__
from gpt_lsp.errors import RequestRefused
from gpt_lsp.jobs.channel import DocumentChannel
from gpt_lsp.jobs.manager import Job, JobSpec
from gpt_lsp.jobs.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.logs import content_logger
from gpt_lsp.prompting.actions import (
    CHAT_ACTION,
    Action,
    all_actions,
    block_after,
    chat_action,
    find_action,
    markers_in,
)
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.prompting.slicing import (
    CancelArgs,
    ChatArgs,
    JobArgs,
    RunArgs,
    build_prompt,
    check_document,
    cut_slice,
    describe_diagnostics,
    doc_eol,
    excluded_by,
    parse_args,
    uri_path,
)
from gpt_lsp.relay.client import ChatRequest
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span, span_from_lsp

if TYPE_CHECKING:
    from gpt_lsp.lsp.server import GptLanguageServer

log = logging.getLogger(__name__)

NOTES_OPEN_TIMEOUT = 3.0


def code_actions(ls: GptLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Lists AI actions for a range: instant, no relay contacted."""
    uri = params.text_document.uri
    doc = ls.documents.get(uri)
    if doc is None:
        return []
    span = span_from_lsp(params.range)
    span = Span(min(span.start, span.end), max(span.start, span.end))
    only = params.context.only
    diagnostics = [
        ls.protocol._converter.unstructure(d)  # plain dicts travel in the command
        for d in params.context.diagnostics
    ]
    excluded = excluded_by(uri, ls.settings.exclude_globs)
    actions: list[types.CodeAction] = []
    for marker in markers_in(doc.lines, span.start.line, span.end.line):
        _, last = block_after(doc.lines, marker.line)
        region = _marker_region(doc, marker.line, last)
        actions.append(
            _code_action(
                f"AI: {marker.instruction}",
                types.CodeActionKind.RefactorRewrite,
                {
                    "action": CHAT_ACTION,
                    "uri": uri,
                    "range": _range_json(region),
                    "instruction": marker.instruction,
                    "marker": True,
                },
                excluded,
            )
        )
    for action in all_actions(ls.settings.actions):
        if span.is_empty and not (action.needs_diagnostics and diagnostics):
            continue
        target = span if not span.is_empty else _diagnostics_span(doc, diagnostics, span)
        arguments: dict[str, Any] = {
            "action": action.id,
            "uri": uri,
            "range": _range_json(target),
        }
        if action.needs_diagnostics and diagnostics:
            arguments["diagnostics"] = diagnostics
        actions.append(_code_action(f"AI: {action.title}", action.kind, arguments, excluded))
    if only:
        actions = [a for a in actions if any(_kind_matches(a.kind, k) for k in only)]
    return actions


def _code_action(
    title: str, kind: str, arguments: dict[str, Any], excluded: str | None
) -> types.CodeAction:
    action = types.CodeAction(
        title=title,
        kind=kind,
        command=types.Command(title=title, command="gptLsp.run", arguments=[arguments]),
    )
    if excluded is not None:
        action.disabled = types.CodeActionDisabled(
            reason=f"matches exclude pattern '{excluded}': never sent to a relay"
        )
    return action


# ------------------------------------------------------------ commands


def command_run(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.run: starts an action's job; answers {jobId} at once."""
    args = parse_args(RunArgs, "gptLsp.run", raw)
    if args.action == CHAT_ACTION:
        if not args.instruction:
            raise RequestRefused("gptLsp.run: the chat action needs an instruction.")
        action = chat_action(args.instruction)
    else:
        found = find_action(all_actions(ls.settings.actions), args.action)
        if found is None:
            known = ", ".join(a.id for a in all_actions(ls.settings.actions))
            raise RequestRefused(f"gptLsp.run: unknown action '{args.action}' ({known}).")
        action = found
    diagnostics = describe_diagnostics(args.diagnostics)
    return _start(
        ls,
        action,
        args.uri,
        args.range.span(),
        args.instruction or "",
        diagnostics,
        marker=args.marker,
    )


def command_chat(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.chat: rewrites the range following an instruction."""
    args = parse_args(ChatArgs, "gptLsp.chat", raw)
    action = chat_action(args.instruction)
    return _start(ls, action, args.uri, args.range.span(), args.instruction, [])


def _start(
    ls: GptLanguageServer,
    action: Action,
    uri: str,
    span: Span,
    instruction: str,
    diagnostics: list[str],
    *,
    marker: bool = False,
) -> dict[str, Any]:
    doc = ls.documents.get(uri)
    if doc is None:
        raise RequestRefused(f"{os.path.basename(uri_path(uri))} is not open in the editor.")
    settings = ls.settings
    check_document(uri, settings)
    encoding = ls.encoding
    if span.start.line >= len(doc.lines):
        raise RequestRefused(
            f"The range starts at line {span.start.line + 1}, past the end of "
            f"{os.path.basename(uri_path(uri))} ({len(doc.lines)} lines)."
        )
    cut = cut_slice(doc, span, encoding, settings.context_chars, marker=marker)
    if len(cut.selection) > settings.max_selection_chars:
        raise RequestRefused(
            f"The selection has {len(cut.selection):,} characters, more than "
            f"maxSelectionChars ({settings.max_selection_chars:,}): select less."
        )
    mask = SecretMask()
    if settings.mask_secrets:
        cut = replace(
            cut,
            selection=mask.mask(cut.selection),
            before=mask.mask(cut.before),
            after=mask.mask(cut.after),
        )
    relay_name = ls.relays.resolve_name(action.relay)
    client = ls.relays.get(relay_name)
    model = settings.model_for(relay_name, action.model)
    messages = build_prompt(
        action, doc, cut, settings, instruction=instruction, diagnostics=diagnostics
    )
    if content_logger().isEnabledFor(logging.DEBUG):
        content_logger().debug("prompt for %s: %r", action.id, messages)
    request = ChatRequest(
        messages=messages,
        model=model,
        temperature=settings.temperature,
        presence_penalty=settings.presence_penalty,
        max_tokens=settings.max_tokens,
    )
    notes_uri = None
    if action.output == "notes":
        output: CodeOutputFilter | ProseOutputFilter = ProseOutputFilter(doc.eol)
        notes_uri = _notes_file(ls, doc, action)
    else:
        # An insertion at a line's start adds whole lines: end them with a break.
        at_line_start = cut.region.is_empty and cut.region.start.character == 0
        output = CodeOutputFilter(
            mask.unmask(cut.selection),
            doc_eol(doc, cut.region),
            base_indent=cut.base_indent,
            indent_first_line=cut.base_indent is None,
            trailing_newline=True if at_line_start else None,
        )
    spec = JobSpec(
        action=action,
        uri=uri,
        messages=messages,
        request=request,
        client=client,
        price=settings.relays[relay_name].price_for(model),
        output=output,
        max_answer_chars=settings.max_answer_chars,
        notes_uri=None,
        unmasker=StreamUnmasker(mask) if mask.count else None,
    )
    if mask.count:
        plural = "s were" if mask.count > 1 else " was"
        spec.notices.append(f"{mask.count} secret{plural} masked before sending.")
    if notes_uri is not None:
        job = _start_notes(ls, spec, notes_uri)
    else:
        job = ls.jobs.start(spec, cut.region, cut.original)
    job.request_id = ls.protocol.msg_id
    return {"jobId": job.id}


def _notes_file(ls: GptLanguageServer, doc: TextDoc, action: Action) -> str:
    base = ls.notes_dir
    if base is None:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("gpt-lsp", appauthor=False)) / "notes"
    base.mkdir(parents=True, exist_ok=True)
    name = os.path.splitext(os.path.basename(uri_path(doc.uri)))[0] or "notes"
    path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{action.id}.md"
    path.write_text(f"# {action.title}: {os.path.basename(uri_path(doc.uri))}\n\n", "utf-8")
    return path.as_uri()


def _start_notes(ls: GptLanguageServer, spec: JobSpec, notes_uri: str) -> Job:
    """Starts an explain job: opens the notes document, then streams into it."""
    window = ls.client_capabilities.window
    can_show = bool(window and window.show_document and window.show_document.support)
    if can_show:
        spec.notes_uri = notes_uri
        event = ls._opened.setdefault(notes_uri, asyncio.Event())
        return ls.jobs.start(spec, None, "", _open_notes(ls, notes_uri, event))
    return ls.jobs.start(spec, None, "", _no_channel())


async def _open_notes(
    ls: GptLanguageServer, uri: str, event: asyncio.Event
) -> DocumentChannel | None:
    try:
        result = await ls.window_show_document_async(
            types.ShowDocumentParams(uri=uri, take_focus=False)
        )
        if result.success:
            await asyncio.wait_for(event.wait(), NOTES_OPEN_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - no notes document means "collect the text"
        log.info("notes document not shown: %s", type(exc).__name__)
    finally:
        ls._opened.pop(uri, None)
    return ls.channel_for(uri)


def command_accept(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.accept: keeps a job's text."""
    args = parse_args(JobArgs, "gptLsp.accept", raw)
    return {"ok": ls.jobs.accept(args.job_id)}


async def command_reject(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.reject: puts back a job's original text."""
    args = parse_args(JobArgs, "gptLsp.reject", raw)
    return {"ok": await ls.jobs.reject(args.job_id)}


def command_cancel(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.cancel: stops one job, or all of them."""
    args = parse_args(CancelArgs, "gptLsp.cancel", raw)
    return {"ok": ls.jobs.cancel(args.job_id)}


def command_status(ls: GptLanguageServer, raw: Any) -> dict[str, Any]:
    """gptLsp.status: relays, jobs and session usage."""
    settings = ls.settings
    active = ls.relays.active()
    relays = []
    for name, config in settings.relays.items():
        client = active.get(name)
        relays.append(
            {
                "name": name,
                "url": client.current_url if client else config.base_url,
                "model": settings.model_for(name),
                "default": name == settings.default_relay_name(),
                "systemRole": not client.quirks.no_system_role if client else config.system_role,
            }
        )
    jobs = [
        {
            "jobId": job.id,
            "uri": job.spec.uri,
            "action": job.spec.action.id,
            "status": job.status,
            "tokens": job.completion_estimate,
        }
        for job in ls.jobs.jobs.values()
    ]
    totals = ls.jobs.totals
    internal = {
        # Resource counts, for leak tests and benchmarks.
        "requestFutures": len(ls.protocol._request_futures),
        "progressTokens": len(ls.work_done_progress.tokens),
        "tasks": len(asyncio.all_tasks()),
        "documents": len(ls.documents),
        "channels": len(ls.channels),
        "trackedRegions": sum(len(c.regions) for c in ls.channels.values()),
    }
    return {
        "version": __version__,
        "internal": internal,
        "relays": relays,
        "jobs": jobs,
        "usage": {
            "jobs": totals.jobs,
            "promptTokens": totals.prompt_tokens,
            "completionTokens": totals.completion_tokens,
            "costUsd": round(totals.cost_usd, 6),
        },
    }


async def _no_channel() -> DocumentChannel | None:
    return None


def _marker_region(doc: TextDoc, marker_line: int, last_line: int) -> Span:
    end_line = max(marker_line, last_line)
    if end_line + 1 < len(doc.lines):
        return Span(Pos(marker_line, 0), Pos(end_line + 1, 0))
    return Span(Pos(marker_line, 0), Pos(end_line, 10**6))


def _diagnostics_span(doc: TextDoc, diagnostics: list[Any], fallback: Span) -> Span:
    lines = [
        d["range"]["start"]["line"] for d in diagnostics if isinstance(d.get("range"), dict)
    ] + [d["range"]["end"]["line"] for d in diagnostics if isinstance(d.get("range"), dict)]
    if not lines:
        return fallback
    first, last = min(lines), max(lines)
    if last + 1 < len(doc.lines):
        return Span(Pos(first, 0), Pos(last + 1, 0))
    return Span(Pos(first, 0), Pos(last, 10**6))


def _range_json(span: Span) -> dict[str, Any]:
    return {
        "start": {"line": span.start.line, "character": span.start.character},
        "end": {"line": span.end.line, "character": span.end.character},
    }


def _kind_matches(kind: str | None, wanted: str) -> bool:
    return kind is not None and (kind == wanted or kind.startswith(wanted + "."))
