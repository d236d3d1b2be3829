"""A job's turn run: the relay's stream read into the region, progress shown, the turn ended
(by jobs/lifecycle.py), its usage counted and recorded, jobFinished sent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.accounting.usage import UsageTotals, local_token_count
from gpt_lsp.answer.output import CodeOutputFilter, Output, Rewrite
from gpt_lsp.context.receipts import summary as context_summary
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.errors import AnswerWithoutCode, GptLspError
from gpt_lsp.i18n import _
from gpt_lsp.jobs.job import Job, Turn, tokens_text
from gpt_lsp.jobs.lifecycle import Cause, Lifecycle
from gpt_lsp.jobs.review import ReviewBoard
from gpt_lsp.jobs.streaming import stream_answer
from gpt_lsp.port import ClientPort
from gpt_lsp.prompting.slicing import uri_path
from gpt_lsp.relay.events import Usage
from gpt_lsp.text.documents import units_for_chars
from gpt_lsp.text.regions import Pos, Span

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress reports
JOB_FINISHED = "gptLsp/jobFinished"
NOTES_WAIT = 3.0  # seconds a finished explain job still waits for its notes document

# Writes an answer without code to a notes document; returns its URI (the session's notes).
KeepAnswer = Callable[[Job, str], str | None]


class TurnRunner:
    """Runs a job's turns: one task per turn, from the relay request to jobFinished."""

    def __init__(
        self,
        port: ClientPort,
        life: Lifecycle,
        board: ReviewBoard,
        *,
        totals: UsageTotals,
        spending: Spending | None = None,
        keep_answer: KeepAnswer | None = None,
        progress: bool = False,
    ) -> None:
        self.port = port
        self.life = life
        self.board = board
        self.totals = totals
        self.spending = spending  # the usage ledger and budget, when there is one
        self.keep_answer = keep_answer
        self.progress = progress

    def launch(self, job: Job) -> None:
        """Starts the job's current turn: progress, review state, the stream task."""
        turn = job.turn
        if self.progress:
            number = len(job.turns)
            turn.progress_token = f"gpt-lsp/{job.id}" + (f"/{number}" if number > 1 else "")
            self.port.start_progress(turn.progress_token, f"AI: {turn.spec.action.label}")
        if job.review == "running":
            self.board.show(job)
        turn.task = asyncio.ensure_future(self._run(job))
        turn.task.add_done_callback(lambda task: self._cancelled_before_start(job, turn, task))

    def _cancelled_before_start(self, job: Job, turn: Turn, task: asyncio.Task[None]) -> None:
        """A turn cancelled before its task ran a line never reached its own ending."""
        if task.cancelled() and turn.status == "running":
            self.life.never_started(job)
            if job.attaching is not None:
                job.attaching.cancel()
                job.spec.notes_uri = None
            self._finish(job)

    def attach_notes(self, job: Job, opener: Awaitable[DocumentChannel | None]) -> None:
        """Opens the notes document beside the stream; until then the text is collected."""
        job.attaching = asyncio.ensure_future(self._attach(job, opener))

    async def _attach(self, job: Job, opener: Awaitable[DocumentChannel | None]) -> None:
        """Waits for the notes document and appends to its end."""
        channel = await opener
        if channel is None:
            job.spec.notes_uri = None
            return
        self.append_to(job, channel)
        collected = job.turn.collected
        if collected:
            self._write(job, "".join(collected))
            collected.clear()

    def append_to(self, job: Job, channel: DocumentChannel) -> None:
        """Points a notes job's region at the end of its notes document's text, before its
        last line break: Neovim turns an insertion after a document's last line break into a
        new line of its own (a line break the server never wrote, then taken for the user's)."""
        doc = channel.doc
        end = doc.end(channel.encoding)
        if len(doc.lines) > 1 and doc.lines[-1] == "":
            last = len(doc.lines) - 2
            end = Pos(last, units_for_chars(doc.line_text(last), 10**9, channel.encoding))
        job.attach(channel, Span(end, end))

    async def _run(self, job: Job) -> None:
        try:
            await self.life.end_turn(job, await self._read(job))
        finally:
            if job.attaching is not None and not job.attaching.done():
                job.attaching.cancel()
                job.spec.notes_uri = None
            self._finish(job)

    async def _read(self, job: Job) -> Cause:
        """Reads the turn's answer into the region; returns what ended it."""
        try:
            await self._stream(job)
            await self._settle_notes(job)
            if job.channel is not None:
                await job.channel.wait_idle(job.region)
        except asyncio.CancelledError:
            # The job handles its own cancellation: take it back, so that restoring the
            # original (more awaits, httpx/anyio cleanup) is not cancelled in turn.
            task = asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            return "stopped"
        except Exception as error:
            if not isinstance(error, GptLspError):
                log.exception("job %s failed unexpectedly", job.id)
            return error
        return "answered"

    async def _stream(self, job: Job) -> None:
        await stream_answer(job, self._write, self._streamed)
        output = job.spec.output
        if isinstance(output, CodeOutputFilter) and output.no_code:
            self._no_code(job, output.answer)

    def _no_code(self, job: Job, answer: str) -> None:
        """Fails a job whose answer held no code; the answer goes to a notes document."""
        notes = None
        if answer.strip() and self.keep_answer is not None:
            job.turn.answer_notes = self.keep_answer(job, answer)
            notes = job.turn.answer_notes and uri_path(job.turn.answer_notes)
        raise AnswerWithoutCode(answer, notes)

    def _streamed(self, job: Job) -> None:
        """Tells the client how far the job got (progress, then the review state)."""
        now = time.monotonic()
        turn = job.turn
        if turn.progress_token and now - turn.last_report >= PROGRESS_INTERVAL:
            turn.last_report = now
            self.port.report_progress(turn.progress_token, tokens_text(turn.completion_estimate))
        if job.review == "running":
            self.board.streaming(job)

    def _write(self, job: Job, out: Output) -> None:
        if isinstance(out, Rewrite):
            job.region.rewrite(out.text)  # only code jobs rewrite, and they have a channel
        elif not out:
            return
        else:
            if not job.state.reviewed:
                job.turn.notes_written.append(out)  # a follow-up carries it as the last answer
            if job.channel is None:
                job.turn.collected.append(out)
                return
            job.region.write(out)
        if job.channel is not None:
            job.channel.poke()

    async def _settle_notes(self, job: Job) -> None:
        """Gives the notes document a last moment to open; else its text goes in jobFinished."""
        attaching = job.attaching
        if attaching is None or attaching.done():
            return
        done, _pending = await asyncio.wait([attaching], timeout=NOTES_WAIT)
        if not done:
            attaching.cancel()
            job.spec.notes_uri = None

    def _finish(self, job: Job) -> None:
        """Ends a turn: usage counted and recorded, jobFinished sent, review decided. Whatever
        fails in there, the turn is over: whoever waits for it (reject, a follow-up) goes on."""
        try:
            self._report_end(job)
        except Exception:  # the job is over either way; the log says why
            log.exception("job %s: ending it failed", job.id)
        finally:
            job.turn.finished.set()
            self.life.trim()

    def _report_end(self, job: Job) -> None:
        turn = job.turn
        turn.ended = time.monotonic()
        if turn.usage is None and (turn.completion_estimate > 0 or turn.stream_complete):
            # No usage from the relay (or stopped mid-answer): every token is still counted.
            prompt = sum(local_token_count(m["content"]) for m in turn.spec.messages)
            turn.usage = Usage(prompt, turn.completion_estimate)
            turn.usage_estimated = True
        if turn.usage is not None:
            self._record(job, turn.usage)
        ended = job.end_message()
        if turn.spec.context:  # what context went, briefly, where every editor shows the end:
            # jobFinished's summary (the shims) and the progress's end (Helix's status line)
            ended = _("{summary}; {context}").format(
                summary=ended, context=context_summary(turn.spec.context)
            )
        if turn.progress_token is not None:
            self.port.end_progress(turn.progress_token, ended)
        summary = f"AI: {turn.spec.action.label}: {ended}"
        params: dict[str, Any] = {
            "jobId": job.id,
            "uri": turn.spec.uri,
            "status": turn.status,
            "summary": summary,
        }
        if turn.message:
            params["message"] = turn.message
        if job.job_usage() is not None:
            params["usage"] = job.usage_dict()
        if turn.spec.context:
            params["context"] = turn.spec.context  # what context was sent, and its tokens
        if turn.spec.notes_uri is not None:
            params["notesUri"] = turn.spec.notes_uri
        elif turn.answer_notes is not None:
            params["notesUri"] = turn.answer_notes
        if turn.collected:
            params["text"] = "".join(turn.collected)
            # No notes document could show the explanation: a message shows it instead.
            self.port.show_message("info", params["text"])
        self.port.notify(JOB_FINISHED, params)
        self.life.after_turn(job)

    def _record(self, job: Job, usage: Usage) -> None:
        """Counts the turn's usage in the session's totals and the ledger."""
        spec = job.spec
        self.totals.add(spec.request.model, usage, spec.price)
        if self.spending is None:
            return
        try:
            self.spending.record_usage(
                relay=spec.client.name,
                model=spec.request.model,
                action=spec.action.id,
                usage=usage,
                estimated=job.usage_estimated,
                price=spec.price,
                status=job.status,
            )
        except Exception:  # a ledger never keeps a job from ending
            log.exception("job %s: recording its usage failed", job.id)
