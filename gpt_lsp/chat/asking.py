"""A chat's conversation made into a request: references expanded, secrets masked, the
oldest turns cut to the budget, under a system prompt; then its reply started where the
document ends."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from gpt_lsp.asking.target import Chat, Params, build, target
from gpt_lsp.chat.budget import cut
from gpt_lsp.chat.document import ChatDoc, messages
from gpt_lsp.chat.references import expand
from gpt_lsp.chat.reply import ACTION, Reply, run
from gpt_lsp.chat.sources import WorkspaceSources
from gpt_lsp.chat.subject import fit, subject_of
from gpt_lsp.context.block import ContextPack
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _, ngettext
from gpt_lsp.prompting.prompts import prose_language_name
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker
from gpt_lsp.prompting.slicing import excluded_by
from gpt_lsp.text.documents import TextDoc, units_for_chars
from gpt_lsp.text.regions import Encoding, Pos, Span

if TYPE_CHECKING:
    from gpt_lsp.chat.host import Host

BUDGET_FACTOR = 6  # a chat sends up to this many times contextChars of conversation
CONTEXT_SEPARATOR = "\n\n---\n\n"  # between the context block and the question
SYSTEM = (
    "You are a programming assistant answering in the user's code editor, in a Markdown "
    "chat document. Answer in Markdown. Put code in fenced blocks with a language tag; when "
    "you change code the user showed, give the whole changed function or block, so that it "
    "can replace the original."
)


def start_reply(
    host: Host, doc: TextDoc, chat: ChatDoc, reply_id: str, diagnostics: list[str]
) -> Reply:
    """Builds the request (raising RequestRefused before anything is sent) and starts the
    reply; its text goes at the end of the document. `diagnostics`: the source's, last seen."""
    settings = host.settings()
    host.spending.check(settings.budget)  # a budget reached sends nothing
    meta = chat.meta
    source = meta.source if meta is not None else None
    selection = None
    if meta is not None and meta.range is not None:
        l1, c1, l2, c2 = meta.range
        selection = Span(Pos(l1, c1), Pos(l2, c2))
    sources = WorkspaceSources(
        settings,
        roots=host.client().roots,
        open_doc=host.documents.store.get,
        source=source,
        selection=selection,
        encoding=host.client().encoding,
        diagnostics=diagnostics,
    )
    said = messages(chat.turns)
    typed = said[-1]["content"]
    for message in said:
        if message["role"] == "user":
            message["content"] = expand(message["content"], sources)
    subject = subject_of(
        doc, meta, _source_doc(host, source), (typed, said[-1]["content"]), host.client().encoding
    )
    mask = SecretMask()
    if settings.mask_secrets:
        for message in said:
            message["content"] = mask.mask(message["content"])
    budget = settings.context_chars * BUDGET_FACTOR
    pack = host.parts.context.for_chat(subject.doc, subject.shown, subject.code)
    # Context comes before the question, in what the question leaves of the budget; earlier
    # turns get the rest. Its snippets take the same mask: an answer quoting one unmasks.
    room = budget - len(said[-1]["content"]) - len(CONTEXT_SEPARATOR)
    pack = fit(pack, partial(_render, mask=mask, masking=settings.mask_secrets), room)
    if pack.pieces:
        block = pack.render(mask.mask if settings.mask_secrets else str)
        said[-1]["content"] = block + CONTEXT_SEPARATOR + said[-1]["content"]
    kept = cut(said, budget)
    system = SYSTEM
    prose = prose_language_name(settings.language)
    if prose:
        system += f" Write your explanations in {prose}."
    sent = [{"role": "system", "content": system}, *kept.messages]
    where = target(host.relays(), settings)
    params = Params(max_tokens=settings.max_tokens, temperature=settings.temperature)
    request = build(where, Chat(sent), params, label=ACTION)
    channel = host.documents.channel_for(doc.uri)
    if channel is None:
        raise RequestRefused(_("The chat document is not open in the editor."))
    span, original = _end_of(doc, host.client().encoding)

    def conflict() -> None:  # the user's edit went over the reply: it stops, kept as it is
        _stop(reply)

    region = JobRegion(reply_id, span, original, on_conflict=conflict)
    reply = Reply(
        id=reply_id,
        uri=doc.uri,
        channel=channel,
        region=region,
        target=where,
        request=request,
        sent=tuple(m["content"] for m in sent),
        eol=doc.eol,
        lead=doc.eol * 2,
        dropped=kept.dropped,
        context=tuple(pack.pieces),
        masked=mask.count,
        unmasker=StreamUnmasker(mask) if mask.count else None,
        max_chars=settings.max_answer_chars,
    )
    if mask.count:
        notice = ngettext(
            "{count} secret was masked before sending.",
            "{count} secrets were masked before sending.",
            mask.count,
        )
        reply.notices.append(notice.format(count=mask.count))
    channel.add(region)
    reply.task = asyncio.ensure_future(run(reply, host.port, host.spending))
    return reply


def _render(pack: ContextPack, mask: SecretMask, masking: bool) -> str:
    """A trial rendering with a copy of the mask: a piece left out leaves no secret counted."""
    return pack.render(SecretMask(list(mask.originals)).mask if masking else str)


def _source_doc(host: Host, source: str | None) -> TextDoc | None:
    """The chat's source document when it is open and may be sent, else None."""
    if source is None or excluded_by(source, host.settings().exclude_globs) is not None:
        return None
    return host.documents.store.get(source)


def _stop(reply: Reply) -> None:
    if reply.task is not None and not reply.task.done():
        reply.task.cancel()


def _end_of(doc: TextDoc, encoding: Encoding) -> tuple[Span, str]:
    """Returns where a reply goes: from the end of the last line with text to the document's
    last line break (Neovim takes an insertion after it for a new line of its own), and the
    blank lines it replaces."""
    last = len(doc.lines) - 1
    if doc.lines[last] == "" and last > 0:
        last -= 1  # the document ends with a line break: stay before it
    end = Pos(last, units_for_chars(doc.line_text(last), 10**9, encoding))
    number = last
    while number > 0 and not doc.line_text(number).strip():
        number -= 1
    text = doc.line_text(number)
    start = Pos(number, units_for_chars(text, len(text), encoding))
    span = Span(start, end)
    return span, doc.text_in(span, encoding)
