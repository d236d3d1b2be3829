"""An answer's code block applied to a source document as a pending job, with the whole
review (original drawn, Accept/Reject, refine, one undo): it replaces the range the chat was
opened with, or the definition of the same name, or else an edit job is asked to make the
change; `insert` puts it at the last cursor instead."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gpt_lsp.chat.apply import definition_span, selection_span
from gpt_lsp.chat.document import ChatDoc, block_at, fenced
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.launch import prepare
from gpt_lsp.prompting.actions import chat_action
from gpt_lsp.prompting.slicing import uri_path
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span

if TYPE_CHECKING:
    from gpt_lsp.chat.host import Host

OPEN_WAIT = 5.0  # seconds for the editor to open a target document it was asked to show
TITLE = N_("Apply from chat")
REPLACE = "Replace the selection with the code from the chat, as given."
CHANGE = "Apply this change from a chat to the file, changing nothing else:\n\n{block}"


async def apply_block(
    host: Host, chat: ChatDoc, line: int, target: tuple[str, Pos] | None, insert: bool
) -> dict[str, Any]:
    """Starts the job in `target` (a document, and the cursor there for `insert`); answers
    {jobId}; RequestRefused when the block or the document cannot be used."""
    block = block_at(chat, line)
    if block is None or block.role != "assistant" or not block.code.strip():
        raise RequestRefused(_("There is no code block of an AI answer at this line."))
    if target is None and insert:
        raise RequestRefused(_("No source document is known yet: use a code action there."))
    if target is None:
        raise RequestRefused(_("This chat was opened from no file: use Insert at cursor."))
    uri, cursor = target
    doc = await _opened(host, uri)
    encoding = host.client().encoding
    given: str | None = fenced(block.code, block.info)
    if insert:
        at = doc.clamp(cursor, encoding)
        span, instruction = Span(at, at), REPLACE
    else:
        found = selection_span(chat, doc, encoding) or definition_span(
            block.code, doc, host.parts.definitions, encoding
        )
        if found is not None:
            span, instruction = found, REPLACE
        else:  # nowhere known: the model makes the change in the whole file
            span = Span(Pos(0, 0), doc.end(encoding))
            instruction, given = CHANGE.format(block=given), None
            host.spending.check(host.settings().budget)
    action = replace(chat_action(instruction), title=TITLE, translated=True)
    launch = prepare(
        action,
        doc,
        span,
        settings=host.settings(),
        relays=host.relays(),
        encoding=encoding,
        instruction=instruction,
    )
    launch.spec.given = given
    job = host.parts.jobs.start(launch.spec, launch.region, launch.original)
    return {"jobId": job.id}


async def _opened(host: Host, uri: str) -> TextDoc:
    """Returns the target document, asking the editor to show it when it is not open."""
    doc = host.documents.store.get(uri)
    if doc is not None:
        return doc
    name = os.path.basename(uri_path(uri))
    opened = host.parts.notes.expect(uri)
    try:
        if host.client().show_document:
            await asyncio.wait_for(host.port.show_document(uri), OPEN_WAIT)
            await asyncio.wait_for(opened.wait(), OPEN_WAIT)
    except Exception:  # noqa: BLE001 - not shown: said below
        pass
    finally:
        host.parts.notes.forget(uri)
    doc = host.documents.store.get(uri)
    if doc is None:
        raise RequestRefused(_("Open {file} in the editor, then apply again.").format(file=name))
    return doc
