"""Jobs: a relay stream turned into document edits, with progress, cost and a clean ending."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from gpt_lsp.errors import GptLspError, RequestRefused
from gpt_lsp.i18n import N_, _
from gpt_lsp.jobs.channel import DocumentChannel
from gpt_lsp.jobs.job import Job, JobSpec, tokens_text
from gpt_lsp.jobs.output import CodeOutputFilter
from gpt_lsp.jobs.port import ClientPort
from gpt_lsp.jobs.region import JobRegion
from gpt_lsp.jobs.usage import UsageTotals, local_token_count
from gpt_lsp.logs import content_logger
from gpt_lsp.relay.events import Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from gpt_lsp.relay.request import Attempt
from gpt_lsp.text.regions import Pos, Span

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress reports
USAGE_TAIL_SECONDS = 0.5  # read on after a closing fence, for the usage chunk
MAX_REVIEW_JOBS = 50  # finished jobs kept for accept/reject, oldest forgotten first
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
        progress: bool = False,
    ) -> None:
        self.port = port
        self.channel_for = channel_for
        self.progress = progress
        self.record: Callable[[Job], None] | None = None  # the usage ledger's, when there is one
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
        if channel is not None:
            channel.add(tracked)
        self.jobs[job_id] = job
        if self.progress:
            job.progress_token = f"gpt-lsp/{job_id}"
            self.port.start_progress(job.progress_token, f"AI: {spec.action.label}")
        if opener is not None:
            job.attaching = asyncio.ensure_future(self._attach(job, opener))
        job.task = asyncio.ensure_future(self._run(job))
        job.task.add_done_callback(lambda task: self._cancelled_before_start(job, task))
        return job

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
        end = channel.doc.end(channel.encoding)
        job.region.span = Span(end, end)
        job.channel = channel
        channel.add(job.region)
        if job.collected:
            self._write(job, "".join(job.collected))
            job.collected.clear()

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
            if job.region.conflict:
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
            elif job.cancel_reason == "conflict" or job.region.conflict:
                job.status = "conflict"
                job.message = _(job.region.conflict_reason or CONFLICT_MESSAGE)
            else:
                job.status = "cancelled"
                await self._restore(job)
        except GptLspError as error:
            job.status = "failed"
            job.message = error.user_message()
            await self._restore(job)
            self.port.show_message("error", job.message)
        except Exception as error:
            log.exception("job %s failed unexpectedly", job.id)
            job.status = "failed"
            job.message = _("gpt-lsp internal error ({name}); see the log.").format(
                name=type(error).__name__
            )
            await self._restore(job)
            self.port.show_message("error", GptLspError(job.message).user_message())
        finally:
            if job.attaching is not None and not job.attaching.done():
                job.attaching.cancel()
                job.spec.notes_uri = None
            self._finish(job)

    async def _stream(self, job: Job) -> None:
        spec = job.spec
        attempt = Attempt()
        last_report = 0.0
        # Checked once per job, not per chunk: logContent changes take effect at the next job.
        log_answer = content_logger().isEnabledFor(logging.DEBUG)
        stream = spec.client.stream_batches(spec.request, attempt)
        tail_until: float | None = None  # after the closing fence: only usage is still wanted
        try:
            for _batch in itertools.count():
                try:
                    if tail_until is None:
                        batch = await stream.__anext__()
                    else:
                        left = tail_until - time.monotonic()
                        batch = await asyncio.wait_for(stream.__anext__(), max(0.001, left))
                except (StopAsyncIteration, asyncio.TimeoutError):
                    break
                for event in batch:
                    if tail_until is not None:
                        if isinstance(event, Usage):
                            job.usage = event
                        elif isinstance(event, Finish):
                            job.finish_reason = event.reason
                        continue
                    if isinstance(event, TextDelta):
                        job.answer_chars += len(event.text)
                        job.completion_estimate += local_token_count(event.text)
                        if log_answer:
                            content_logger().debug("%s answer: %r", job.id, event.text)
                        if job.answer_chars > spec.max_answer_chars:
                            text = _(
                                "The answer passed maxAnswerChars ({limit}); the job was "
                                "stopped and the document restored."
                            )
                            raise RequestRefused(text.format(limit=spec.max_answer_chars))
                        text = spec.unmasker.feed(event.text) if spec.unmasker else event.text
                        self._write(job, spec.output.feed(text))
                        if isinstance(spec.output, CodeOutputFilter) and spec.output.done:
                            # The closing fence came: the rest is prose nobody will see. Read on
                            # briefly for the relay's usage, then close (stopping the billing).
                            job.finish_reason = job.finish_reason or "stop"
                            job.region.stream_ended = True
                            tail_until = time.monotonic() + USAGE_TAIL_SECONDS
                    elif isinstance(event, ToolCallDelta):
                        # Some models answer code through a tool call: treat arguments as text.
                        job.completion_estimate += local_token_count(event.arguments)
                    elif isinstance(event, Usage):
                        job.usage = event
                    elif isinstance(event, Finish):
                        job.finish_reason = event.reason
                    elif isinstance(event, ReasoningDelta):
                        job.completion_estimate += local_token_count(event.text)
                    now = time.monotonic()
                    if job.progress_token and now - last_report >= PROGRESS_INTERVAL:
                        last_report = now
                        self.port.report_progress(
                            job.progress_token, tokens_text(job.completion_estimate)
                        )
                if tail_until is not None and time.monotonic() >= tail_until:
                    break
        finally:
            await stream.aclose()
        job.region.stream_ended = True
        if spec.unmasker is not None:
            self._write(job, spec.output.feed(spec.unmasker.finish()))
        self._write(job, spec.output.finish())
        job.stream_complete = True

    def _write(self, job: Job, text: str) -> None:
        if not text:
            return
        if job.channel is None:
            job.collected.append(text)
            return
        job.region.write(text)
        job.channel.poke()

    async def _drain(self, job: Job) -> None:
        if job.channel is not None:
            await job.channel.wait_idle(job.region)

    async def _restore(self, job: Job) -> None:
        """Puts the original text back (unless the user edited inside the region)."""
        tracked = job.region
        tracked.pending.clear()
        if job.channel is None or job.channel.closed or tracked.conflict:
            return
        if job.spec.notes_uri is not None:
            return
        # Let an edit in flight settle first, so the region is exact.
        tracked.restore_wanted = True
        try:
            await asyncio.wait_for(job.channel.wait_idle(tracked), 10.0)
        except asyncio.TimeoutError:
            log.warning("job %s: could not restore the original in time", job.id)
        if tracked.is_conflicted():
            job.status = "conflict"

    def _finish(self, job: Job) -> None:
        job.ended = time.monotonic()
        if job.usage is None and (job.completion_estimate > 0 or job.stream_complete):
            # No usage from the relay (or stopped mid-answer): every token is still counted.
            prompt = sum(local_token_count(m["content"]) for m in job.spec.messages)
            job.usage = Usage(prompt, job.completion_estimate)
            job.usage_estimated = True
        if job.usage is not None:
            self.totals.add(job.spec.request.model, job.usage, job.spec.price)
            if self.record is not None:
                self.record(job)
        if job.progress_token is not None:
            self.port.end_progress(job.progress_token, job.end_message())
        if job.status != "done" or not job.spec.action.writes_code:
            self._forget_region(job)
        params: dict[str, Any] = {
            "jobId": job.id,
            "uri": job.spec.uri,
            "status": job.status,
            "summary": f"AI: {job.spec.action.label}: {job.end_message()}",
        }
        if job.message:
            params["message"] = job.message
        if job.usage is not None:
            params["usage"] = job.usage_dict()
        if job.spec.notes_uri is not None:
            params["notesUri"] = job.spec.notes_uri
        if job.collected:
            params["text"] = "".join(job.collected)
            # No notes document could show the explanation: a message shows it instead.
            self.port.show_message("info", params["text"])
        self.port.notify(JOB_FINISHED, params)
        job.finished.set()
        self._trim()

    def _forget_region(self, job: Job) -> None:
        if job.channel is not None:
            job.channel.remove(job.id)

    def _trim(self) -> None:
        finished = [j for j in self.jobs.values() if j.status != "running"]
        for job in finished[: max(0, len(finished) - MAX_REVIEW_JOBS)]:
            self._forget_region(job)
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
                self.accept(job.id)

    def accept(self, job_id: str) -> bool:
        """Keeps a finished job's text and forgets its original."""
        job = self.jobs.get(job_id)
        if job is None or job.status == "running":
            return False
        self._forget_region(job)
        self.jobs.pop(job_id, None)
        return True

    async def reject(self, job_id: str) -> bool:
        """Puts back a finished job's original text."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        if job.status == "running":
            self.cancel(job_id)
            await job.finished.wait()
            return job.status == "cancelled"
        if job.status != "done" or job.channel is None or job.id not in job.channel.regions:
            return False
        await self._restore(job)
        restored = job.region.restored
        self._forget_region(job)
        self.jobs.pop(job_id, None)
        return restored

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
                if in_document and _holds(job.region.span, pos):
                    return job
        return candidates[-1] if candidates else None

    def _reviewable(self, job: Job) -> bool:
        channel = job.channel
        return job.status == "done" and channel is not None and job.id in channel.regions

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


def _holds(span: Span, pos: Pos) -> bool:
    """True when a cursor at `pos` is in the region: a region of whole lines ends before the
    next line's first column; a cursor right after text at a line's end is still in it."""
    if span.is_empty:
        return pos == span.start
    return span.start <= pos < span.end or (pos == span.end and span.end.character > 0)
