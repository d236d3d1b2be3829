"""Jobs: a relay stream turned into document edits, with progress, cost and a clean ending."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.accounting.usage import UsageTotals, local_token_count
from gpt_lsp.answer.output import CodeOutputFilter, Output, Rewrite
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion
from gpt_lsp.errors import AnswerWithoutCode, GptLspError
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.job import Job, JobSpec, tokens_text
from gpt_lsp.jobs.restore import fail_refused, restore_original, take_back
from gpt_lsp.jobs.review import ReviewBoard, holds
from gpt_lsp.jobs.streaming import stream_answer
from gpt_lsp.jobs.turns import reset_for_turn
from gpt_lsp.port import ClientPort
from gpt_lsp.prompting.slicing import uri_path
from gpt_lsp.relay.events import Usage
from gpt_lsp.text.documents import units_for_chars
from gpt_lsp.text.regions import Pos, Span

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress reports
MAX_REVIEW_JOBS = 50  # finished jobs kept for accept/reject, oldest forgotten first
MAX_ENDED = 500  # outcomes of reviewed jobs kept for messages
USER_OUTCOMES = frozenset({"accepted", "rejected", "undone", "edited", "closed"})
CONFLICT_MESSAGE = N_("You edited inside the job's region: the job stopped and left your text.")
JOB_FINISHED = "gptLsp/jobFinished"
NOTES_WAIT = 3.0  # seconds a finished explain job still waits for its notes document


class JobManager:
    """Starts, tracks and ends jobs."""

    def __init__(
        self,
        port: ClientPort,
        channel_for: Callable[[str], DocumentChannel | None],
        *,
        spending: Spending | None = None,
        progress: bool = False,
        lens_refresh: bool = False,
    ) -> None:
        self.port = port
        self.channel_for = channel_for
        self.spending = spending  # the usage ledger and budget, when there is one
        self.progress = progress
        self.board = ReviewBoard(port, lens_refresh=lens_refresh)
        self.board.on_ended = self._forget_job
        self.board.undo_between = self._undo_between
        self._taking_back: set[asyncio.Future[bool]] = set()  # restores after an undo
        self.ended: dict[str, str] = {}  # how reviewed jobs ended, by id, the newest kept
        # Writes an answer without code to a notes document; returns its URI (the session's).
        self.keep_answer: Callable[[Job, str], str | None] | None = None
        self.jobs: dict[str, Job] = {}
        self.totals = UsageTotals()
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ lifecycle

    def start(
        self,
        spec: JobSpec,
        region: Span | None,
        original: str,
        opener: Awaitable[DocumentChannel | None] | None = None,
    ) -> Job:
        """Starts a job in the background and returns it at once.

        The progress request goes out now, before the command is answered, and the relay
        request starts without waiting for any client answer. `opener` (explain) opens the
        notes document beside the stream; until it is open the text is collected (and sent
        in jobFinished if it never opens).
        """
        job_id = f"job-{next(self._ids)}"
        notes = spec.notes_uri is not None
        channel = self.channel_for(spec.uri) if spec.action.writes_code else None
        empty = Span(Pos(0, 0), Pos(0, 0))
        tracked = JobRegion(job_id, region or empty, original, replaced=notes)
        job = Job(job_id, spec, tracked, channel)
        tracked.on_conflict = lambda: self._conflict(job)
        tracked.on_review_change = lambda verdict: self.board.user_changed(job, verdict)
        job.history = list(spec.messages)
        if channel is not None:
            channel.add(tracked)
            job.review = "running"
        self.jobs[job_id] = job
        if opener is not None:
            job.attaching = asyncio.ensure_future(self._attach(job, opener))
        self._launch(job)
        return job

    def _launch(self, job: Job) -> None:
        """Starts the job's current turn: progress, review state, the stream task."""
        if self.progress:
            job.progress_token = f"gpt-lsp/{job.id}" + (f"/{job.turn}" if job.turn > 1 else "")
            self.port.start_progress(job.progress_token, f"AI: {job.spec.action.label}")
        if job.review == "running":
            self.board.show(job)
        job.task = asyncio.ensure_future(self._run(job))
        job.task.add_done_callback(lambda task: self._cancelled_before_start(job, task))

    def _cancelled_before_start(self, job: Job, task: asyncio.Task[None]) -> None:
        """A job cancelled before its task ran a line never reached its own ending."""
        if task.cancelled() and job.status == "running":
            job.status = "cancelled"
            if job.attaching is not None:
                job.attaching.cancel()
                job.spec.notes_uri = None
            self._finish(job)

    async def _attach(self, job: Job, opener: Awaitable[DocumentChannel | None]) -> None:
        """Waits for the notes document and appends to its end."""
        channel = await opener
        if channel is None:
            job.spec.notes_uri = None
            return
        self._append_to(job, channel)
        if job.collected:
            self._write(job, "".join(job.collected))
            job.collected.clear()

    def _append_to(self, job: Job, channel: DocumentChannel) -> None:
        """Points a notes job's region at the end of its notes document's text, before its
        last line break: Neovim turns an insertion after a document's last line break into a
        new line of its own (a line break the server never wrote, then taken for the user's)."""
        doc = channel.doc
        end = doc.end(channel.encoding)
        if len(doc.lines) > 1 and doc.lines[-1] == "":
            last = len(doc.lines) - 2
            end = Pos(last, units_for_chars(doc.line_text(last), 10**9, channel.encoding))
        job.region.span = Span(end, end)
        job.channel = channel
        channel.add(job.region)

    # ------------------------------------------------------------ follow-up turns

    async def stop_turn(self, job: Job) -> None:
        """Stops a running turn for a follow-up, keeping what it wrote."""
        if job.status == "running" and job.task is not None and not job.task.done():
            job.cancel_reason = "refine"
            job.region.pending.clear()
            job.task.cancel()
        await job.finished.wait()

    def next_turn(
        self, job: Job, spec: JobSpec, notes: DocumentChannel | None = None, lead: str = ""
    ) -> None:
        """Starts a follow-up turn of a stopped or pending job on the same region (same id);
        a notes job appends under its previous answer (in `notes`, when still open)."""
        reset_for_turn(job, spec)
        if job.review == "none":
            if notes is not None:
                self._append_to(job, notes)
                job.region.write(lead)  # the follow-up's heading, under the previous answer
            elif lead:
                job.collected.append(lead)
        self._launch(job)

    async def _settle_notes(self, job: Job) -> None:
        """Gives the notes document a last moment to open; else its text goes in jobFinished."""
        attaching = job.attaching
        if attaching is None or attaching.done():
            return
        done, _pending = await asyncio.wait([attaching], timeout=NOTES_WAIT)
        if not done:
            attaching.cancel()
            job.spec.notes_uri = None

    async def _run(self, job: Job) -> None:
        try:
            await self._stream(job)
            await self._settle_notes(job)
            await self._drain(job)
            if job.region.refused != "no":
                await fail_refused(job, self.port)
            elif job.region.conflict:
                job.status = "conflict"
                job.message = _(job.region.conflict_reason or CONFLICT_MESSAGE)
            elif job.finish_reason == "length":
                job.status = "done"
                job.message = _("The answer was cut at the token limit (maxTokens): review it.")
            else:
                job.status = "done"
                job.message = " ".join(job.spec.notices) or None
        except asyncio.CancelledError:
            # The job handles its own cancellation: take it back, so that restoring the
            # original (more awaits, httpx/anyio cleanup) is not cancelled in turn.
            task = asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            if job.cancel_reason == "closed":
                job.status = "cancelled"
                job.message = _("The document was closed: the job stopped.")
            elif job.cancel_reason == "refine":
                job.status = "cancelled"
                job.message = _("Stopped for a follow-up turn, which rewrites the region.")
            elif job.region.refused != "no":
                await fail_refused(job, self.port)
            elif job.cancel_reason == "conflict" or job.region.conflict:
                job.status = "conflict"
                job.message = _(job.region.conflict_reason or CONFLICT_MESSAGE)
            else:
                job.status = "cancelled"
                await restore_original(job)
        except GptLspError as error:
            job.status = "failed"
            job.message = error.user_message()
            await restore_original(job)
            self.port.show_message("error", job.message)
        except Exception as error:
            log.exception("job %s failed unexpectedly", job.id)
            job.status = "failed"
            job.message = _("gpt-lsp internal error ({name}); see the log.").format(
                name=type(error).__name__
            )
            await restore_original(job)
            self.port.show_message("error", GptLspError(job.message).user_message())
        finally:
            if job.attaching is not None and not job.attaching.done():
                job.attaching.cancel()
                job.spec.notes_uri = None
            self._finish(job)

    async def _stream(self, job: Job) -> None:
        await stream_answer(job, self._write, self._streamed)
        output = job.spec.output
        if isinstance(output, CodeOutputFilter) and output.no_code:
            self._no_code(job, output.answer)

    def _no_code(self, job: Job, answer: str) -> None:
        """Fails a job whose answer held no code; the answer goes to a notes document."""
        notes = None
        if answer.strip() and self.keep_answer is not None:
            job.answer_notes = self.keep_answer(job, answer)
            notes = job.answer_notes and uri_path(job.answer_notes)
        raise AnswerWithoutCode(answer, notes)

    def _streamed(self, job: Job) -> None:
        """Tells the client how far the job got (progress, then the review state)."""
        now = time.monotonic()
        if job.progress_token and now - job.last_report >= PROGRESS_INTERVAL:
            job.last_report = now
            self.port.report_progress(job.progress_token, tokens_text(job.completion_estimate))
        if job.review == "running":
            self.board.streaming(job)

    def _write(self, job: Job, out: Output) -> None:
        if isinstance(out, Rewrite):
            job.region.rewrite(out.text)  # only code jobs rewrite, and they have a channel
        elif not out:
            return
        else:
            if job.review == "none":
                job.notes_written.append(out)  # a follow-up turn carries it as the last answer
            if job.channel is None:
                job.collected.append(out)
                return
            job.region.write(out)
        if job.channel is not None:
            job.channel.poke()

    async def _drain(self, job: Job) -> None:
        if job.channel is not None:
            await job.channel.wait_idle(job.region)

    def _finish(self, job: Job) -> None:
        """Ends a turn: usage counted and recorded, jobFinished sent, review decided. Whatever
        fails in there, the turn is over: whoever waits for it (reject, a follow-up) goes on."""
        try:
            self._report_end(job)
        except Exception:  # the job is over either way; the log says why
            log.exception("job %s: ending it failed", job.id)
        finally:
            job.finished.set()
            self._trim()

    def _report_end(self, job: Job) -> None:
        job.ended = time.monotonic()
        if job.usage is None and (job.completion_estimate > 0 or job.stream_complete):
            # No usage from the relay (or stopped mid-answer): every token is still counted.
            prompt = sum(local_token_count(m["content"]) for m in job.spec.messages)
            job.usage = Usage(prompt, job.completion_estimate)
            job.usage_estimated = True
        if job.usage is not None:
            self.totals.add(job.spec.request.model, job.usage, job.spec.price)
            if self.spending is not None:
                try:
                    self.spending.record_usage(
                        relay=job.spec.client.name,
                        model=job.spec.request.model,
                        action=job.spec.action.id,
                        usage=job.usage,
                        estimated=job.usage_estimated,
                        price=job.spec.price,
                        status=job.status,
                    )
                except Exception:  # a ledger never keeps a job from ending
                    log.exception("job %s: recording its usage failed", job.id)
        if job.progress_token is not None:
            self.port.end_progress(job.progress_token, job.end_message())
        params: dict[str, Any] = {
            "jobId": job.id,
            "uri": job.spec.uri,
            "status": job.status,
            "summary": f"AI: {job.spec.action.label}: {job.end_message()}",
        }
        if job.message:
            params["message"] = job.message
        if job.job_usage() is not None:
            params["usage"] = job.usage_dict()
        if job.spec.context:
            params["context"] = job.spec.context  # what context was sent, and its tokens
        if (notes := job.spec.notes_uri or job.answer_notes) is not None:
            params["notesUri"] = notes
        if job.collected:
            params["text"] = "".join(job.collected)
            # No notes document could show the explanation: a message shows it instead.
            self.port.show_message("info", params["text"])
        self.port.notify(JOB_FINISHED, params)
        self.board.after_turn(job)

    def _forget_job(self, job: Job) -> None:
        """A reviewed job ended by the user's decision: only its outcome is kept (for a clear
        refine error); a job that failed stays listed like before, until trimmed."""
        if job.outcome not in USER_OUTCOMES:
            return
        self.jobs.pop(job.id, None)
        self.ended[job.id] = job.outcome or "ended"
        for old in list(self.ended)[: max(0, len(self.ended) - MAX_ENDED)]:
            del self.ended[old]

    def _trim(self) -> None:
        finished = [j for j in self.jobs.values() if j.status != "running"]
        for job in finished[: max(0, len(finished) - MAX_REVIEW_JOBS)]:
            self.board.end(job, "accepted")
            self.jobs.pop(job.id, None)

    # ------------------------------------------------------------ user requests

    def _conflict(self, job: Job) -> None:
        if job.status == "running" and job.task is not None and not job.task.done():
            job.cancel_reason = "conflict"
            job.task.cancel()

    def cancel(self, job_id: str | None = None) -> bool:
        """Cancels one running job, or all of them; True when something was cancelled."""
        targets = [self.jobs[job_id]] if job_id in self.jobs else []
        if job_id is None:
            targets = list(self.jobs.values())
        hit = False
        for job in targets:
            if job.status == "running" and job.task is not None and not job.task.done():
                job.cancel_reason = job.cancel_reason or "cancel"
                job.task.cancel()
                hit = True
        return hit

    def close_document(self, uri: str) -> None:
        """The editor closed a document: stop its jobs without touching it, forget them."""
        for job in [j for j in self.jobs.values() if j.uri == uri]:
            if job.status == "running" and job.task is not None and not job.task.done():
                job.cancel_reason = "closed"
                job.region.pending.clear()
                job.task.cancel()
            else:
                self.board.end(job, "closed")

    def accept(self, job_id: str) -> bool:
        """Keeps a pending job's text; a running job is kept when it is done (never pending)."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        self.board.decide_now(job)
        if job.status == "running":
            job.accept_when_done = True
            return True
        if job.review != "pending":
            return False
        self.board.end(job, "accepted")
        return True

    async def reject(self, job_id: str) -> bool:
        """Puts back the text from before the job's first turn, byte-exact."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        self.board.decide_now(job)
        if job.status == "running":
            job.reject_wanted = True
            job.region.restore_text = None
            self.cancel(job_id)
            await job.finished.wait()
            return job.status == "cancelled" and job.region.restored
        if job.review != "pending" or job.channel is None:
            return False
        return await take_back(job, self.board, "rejected")

    def _undo_between(self, job: Job) -> None:
        """An undo left a pending job's region showing text the job wrote earlier (between two
        of its states): the original goes back, and the job ends as undone."""
        log.info("job %s: an undo landed between the job's states: restoring", job.id)
        task = asyncio.ensure_future(take_back(job, self.board, "undone"))
        self._taking_back.add(task)
        task.add_done_callback(self._taking_back.discard)

    def find(
        self, uri: str, pos: Pos | None = None, *, want: Literal["any", "running", "done"] = "any"
    ) -> Job | None:
        """Returns the job whose region holds the position, else the document's most recent
        job; `want` narrows the jobs looked at (running ones, or done ones still reviewable)."""
        candidates = [
            job
            for job in self.jobs.values()
            if job.spec.uri == uri
            if (job.status == "running" and want != "done")
            or (self._reviewable(job) and want != "running")
        ]
        if pos is not None:
            for job in reversed(candidates):
                in_document = job.channel is not None and job.channel.doc.uri == uri
                if in_document and holds(job.region.span, pos):
                    return job
        return candidates[-1] if candidates else None

    def _reviewable(self, job: Job) -> bool:
        return job.review == "pending"

    def running(self) -> list[Job]:
        """Returns the running jobs."""
        return [j for j in self.jobs.values() if j.status == "running"]

    async def shutdown(self) -> None:
        """Cancels every job and waits (briefly) for them to end."""
        for job in self.running():
            job.cancel_reason = "shutdown"
        self.cancel(None)
        tasks = [j.task for j in self.jobs.values() if j.task is not None and not j.task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
