"""One reply streamed into a chat document: an AI heading, the answer as it comes (through
the document's edit channel, beside the user's typing), then the turn's figures in the
heading and a new user heading. A relay failure puts the document back as it was; a cancel
keeps what came."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gpt_lsp.accounting.usage import format_cost
from gpt_lsp.answer.prose import ProseOutputFilter
from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.chat.document import ai_heading, user_heading
from gpt_lsp.chat.think import ThinkFilter
from gpt_lsp.context.receipts import listed
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.errors import GptLspError
from gpt_lsp.i18n import _, ngettext
from gpt_lsp.jobs.job import tokens_text
from gpt_lsp.relay.events import Usage
from gpt_lsp.text.regions import Pos

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.asking.target import Target
    from gpt_lsp.context.packing import Piece
    from gpt_lsp.port import ClientPort
    from gpt_lsp.prompting.secrets import StreamUnmasker
    from gpt_lsp.relay.request import ChatRequest

log = logging.getLogger(__name__)

ACTION = "chat"  # the ledger's action of chat replies
REPLIED = "gptLsp/chatReplied"
SETTLE_WAIT = 10.0  # seconds the last edits (or the restore) may take


@dataclass
class Reply:
    """A reply being written: where, what was asked, and how it went."""

    id: str
    uri: str
    channel: DocumentChannel
    region: JobRegion
    target: Target
    request: ChatRequest
    sent: tuple[str, ...]  # the prompt's text, for a local token count
    eol: str
    lead: str  # the line breaks before the heading
    dropped: int = 0  # earlier turns left out for the budget
    context: tuple[Piece, ...] = ()  # the context sent, for the heading's receipts
    masked: int = 0  # secrets masked in what was sent
    unmasker: StreamUnmasker | None = None
    max_chars: int | None = None
    notices: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    status: str = "running"  # running | done | cancelled | failed | conflict
    message: str | None = None
    usage: Usage | None = None
    estimated: bool = False
    task: asyncio.Task[None] | None = None
    parts: list[str] = field(default_factory=list)  # the answer written so far
    first_text: float | None = None  # when the first answer text was queued (bench)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def heading(self, final: bool) -> str:
        """Returns the AI heading: the model; at the end the tokens, time, cost, cut, secrets
        masked and the context sent."""
        if not final:
            return ai_heading(self.target.model)
        figures: list[str] = []
        if self.status != "done":
            figures.append(_(_STATUS.get(self.status, self.status)))
        if self.usage is not None:
            figures.append(tokens_text(self.usage.total_tokens, self.estimated))
        figures.append(_("{seconds:.1f} s").format(seconds=time.monotonic() - self.started))
        if self.usage is not None:
            figures.append(format_cost(self.target.price, self.usage))
        if self.dropped:
            text = ngettext(
                "{count} earlier message not sent (budget)",
                "{count} earlier messages not sent (budget)",
                self.dropped,
            )
            figures.append(text.format(count=self.dropped))
        if self.masked:
            text = ngettext("{count} secret masked", "{count} secrets masked", self.masked)
            figures.append(text.format(count=self.masked))
        figures.append(listed(self.context))
        return ai_heading(self.target.model, figures)

    def write(self, text: str) -> None:
        """Queues answer text into the document."""
        if text:
            if self.first_text is None:
                self.first_text = time.monotonic()
            self.parts.append(text)
            self.region.write(text)
            self.channel.poke()

    def written(self, final: bool) -> str:
        """Returns the region's whole text: heading, answer and (at the end) the user's
        next heading."""
        eol = self.eol
        text = f"{self.lead}{self.heading(final)}{eol}{eol}{''.join(self.parts)}"
        if final:
            body = "".join(self.parts)
            if not body.strip():
                text += _("(no answer)")
            text += f"{eol}{eol}{user_heading()}{eol}"
        return text

    def position(self) -> Pos:
        """Returns where the user's next question goes (after the last heading)."""
        return self.region.span.end


_STATUS = {"cancelled": "cancelled", "failed": "failed", "conflict": "conflict"}


class _Sink(Sink):
    """The answer into the document: secrets put back, `<think>` dropped, Markdown kept."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.think = ThinkFilter()
        self.prose = ProseOutputFilter(reply.eol)

    def take(self, text: str) -> bool:
        """Writes the text; never has enough (the whole answer is wanted)."""
        unmasker = self.reply.unmasker
        self.reply.write(
            self.prose.feed(self.think.feed(unmasker.feed(text) if unmasker else text))
        )
        return False

    def finish(self) -> None:
        """Writes what was held back at the end of the answer."""
        unmasker = self.reply.unmasker
        rest = self.think.feed(unmasker.finish()) if unmasker else ""
        self.reply.write(self.prose.feed(rest + self.think.finish()))
        self.prose.finish()


async def run(reply: Reply, port: ClientPort, spending: Spending | None) -> None:
    """Streams the reply and ends it: figures in the heading, the ledger, chatReplied."""
    reply.region.write(reply.written(final=False))
    reply.channel.poke()
    reading = Reading(reply.target.client, reply.request, label=reply.id, max_chars=reply.max_chars)
    sink = _Sink(reply)
    try:
        await reading.read(sink)
        sink.finish()
        reply.status = "done"
    except asyncio.CancelledError:
        task = asyncio.current_task()
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: the ending still awaits
        if uncancel is not None:
            uncancel()
        sink.finish()
        reply.status = "conflict" if reply.region.conflict else "cancelled"
    except GptLspError as error:
        reply.status, reply.message = "failed", error.user_message()
    except Exception as error:
        log.exception("chat reply %s failed unexpectedly", reply.id)
        reply.status = "failed"
        reply.message = _("gpt-lsp internal error ({name}); see the log.").format(
            name=type(error).__name__
        )
    finally:
        await reading.aclose()
        _record(reply, reading, spending)
    try:
        await _settle(reply)
    finally:
        _finished(reply, port)


def _record(reply: Reply, reading: Reading, spending: Spending | None) -> None:
    if not reading.opened and reading.usage is None:
        return  # nothing came: nothing billed
    reply.usage, reply.estimated = reading.billed(reply.sent)
    if spending is None:
        return
    try:
        spending.record_usage(
            relay=reply.target.relay,
            model=reply.target.model,
            action=ACTION,
            usage=reply.usage,
            estimated=reply.estimated,
            price=reply.target.price,
            status=reply.status,
        )
    except Exception:  # a ledger never keeps a reply from ending
        log.exception("chat reply %s: recording its usage failed", reply.id)


async def _settle(reply: Reply) -> None:
    """Puts the document back (a failure) or writes the reply's ending, and waits for it."""
    region = reply.region
    if reply.channel.closed or region.conflict:
        return
    region.pending.clear()
    if reply.status == "failed":
        region.rewrite_text = None
        region.restore_wanted = True
    else:
        region.rewrite(reply.written(final=True))
    try:
        await asyncio.wait_for(reply.channel.wait_idle(region), SETTLE_WAIT)
    except asyncio.TimeoutError:
        log.warning("chat reply %s: its last edit was not confirmed in time", reply.id)


def _finished(reply: Reply, port: ClientPort) -> None:
    reply.channel.remove(reply.id)
    if reply.status == "conflict" and reply.message is None:
        reply.message = _(
            "You edited inside the reply while it was written: it stopped and kept your text."
        )
    params: dict[str, Any] = {"uri": reply.uri, "replyId": reply.id, "status": reply.status}
    if reply.message:
        params["message"] = reply.message
    if reply.status in ("done", "cancelled") and not reply.channel.closed:
        pos = reply.position()
        params["position"] = {"line": pos.line, "character": pos.character}
    if reply.usage is not None:
        params["usage"] = {
            "promptTokens": reply.usage.prompt_tokens,
            "completionTokens": reply.usage.completion_tokens,
            "estimated": reply.estimated,
            "model": reply.target.model,
        }
    if reply.status == "failed" and reply.message:
        port.show_message("error", reply.message)
    elif reply.status == "conflict" and reply.message:
        port.show_message("warning", reply.message)
    port.notify(REPLIED, params)
    reply.done.set()
