"""Jobs: a relay stream turned into document edits, with progress, cost and a clean ending."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from gpt_lsp.errors import GptLspError, RequestRefused
from gpt_lsp.jobs.channel import DocumentChannel, Writer
from gpt_lsp.jobs.output import CodeOutputFilter, ProseOutputFilter
from gpt_lsp.jobs.usage import UsageTotals, format_cost, local_token_count
from gpt_lsp.logs import content_logger
from gpt_lsp.prompting.actions import Action
from gpt_lsp.prompting.secrets import StreamUnmasker
from gpt_lsp.relay.client import Attempt, ChatRequest, RelayClient
from gpt_lsp.relay.events import Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from gpt_lsp.settings import Price
from gpt_lsp.text.regions import Pos, Span

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress reports
USAGE_TAIL_SECONDS = 0.5  # read on after a closing fence, for the usage chunk
MAX_REVIEW_JOBS = 50  # finished jobs kept for accept/reject, oldest forgotten first
CONFLICT_MESSAGE = "You edited inside the job's region: the job stopped and left your text."


class JobPort(Protocol):
    """What jobs need from the language server."""

    async def progress_begin(self, token: str, title: str) -> bool: ...
    def progress_report(self, token: str, message: str) -> None: ...
    def progress_end(self, token: str, message: str) -> None: ...
    def job_finished(self, params: dict[str, Any]) -> None: ...
    def show_error(self, error: GptLspError) -> None: ...


@dataclass
class JobSpec:
    """Everything needed to run a job, resolved by the server before it starts."""

    action: Action
    uri: str
    messages: list[dict[str, str]]
    request: ChatRequest
    client: RelayClient
    price: Price | None
    output: CodeOutputFilter | ProseOutputFilter
    max_answer_chars: int
    notes_uri: str | None = None  # explain: the notes document written instead of `uri`
    notices: list[str] = field(default_factory=list)
    unmasker: StreamUnmasker | None = None  # puts masked secrets back into the answer


@dataclass
class Job:
    """One running or finished job."""

    id: str
    spec: JobSpec
    writer: Writer
    channel: DocumentChannel | None
    status: str = "running"  # running | done | cancelled | failed | conflict
    message: str | None = None
    usage: Usage | None = None
    usage_estimated: bool = False
    finish_reason: str | None = None
    answer_chars: int = 0
    completion_estimate: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    task: asyncio.Task[None] | None = None
    cancel_reason: Literal["cancel", "conflict", "shutdown", "closed"] | None = None
    progress_token: str | None = None
    request_id: Any = None
    collected: list[str] = field(default_factory=list)  # notes text when no document shows it
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def uri(self) -> str:
        """Returns the document the job edits."""
        return self.spec.notes_uri or self.spec.uri

    def cost_text(self) -> str:
        """Returns the cost for messages, or ""."""
        if self.usage is None:
            return ""
        return format_cost(self.spec.price, self.usage)


class JobManager:
    """Starts, tracks and ends jobs."""

    def __init__(self, port: JobPort, channel_for: Callable[[str], DocumentChannel | None]) -> None:
        self.port = port
        self.channel_for = channel_for
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

        `opener` (explain) opens the notes document first and gives its channel; without a
        channel the text is collected and sent at the end.
        """
        job_id = f"job-{next(self._ids)}"
        notes = spec.notes_uri is not None
        channel = None if opener is not None else self.channel_for(spec.uri)
        empty = Span(Pos(0, 0), Pos(0, 0))
        writer = Writer(job_id, region or empty, original, replaced=notes)
        job = Job(job_id, spec, writer, channel)
        writer.on_conflict = lambda: self._conflict(job)
        if channel is not None:
            channel.add(writer)
        self.jobs[job_id] = job
        job.task = asyncio.ensure_future(self._run(job, opener))
        return job

    async def _attach(self, job: Job, opener: Awaitable[DocumentChannel | None]) -> None:
        """Waits for the notes document and appends to its end."""
        channel = await opener
        if channel is None:
            job.spec.notes_uri = None
            return
        end = channel.doc.end(channel.encoding)
        job.writer.region = Span(end, end)
        job.channel = channel
        channel.add(job.writer)

    async def _run(self, job: Job, opener: Awaitable[DocumentChannel | None] | None = None) -> None:
        title = f"AI: {job.spec.action.title}"
        token = f"gpt-lsp/{job.id}"
        try:
            if await self.port.progress_begin(token, title):
                job.progress_token = token
            if opener is not None:
                await self._attach(job, opener)
            await self._stream(job)
            await self._drain(job)
            if job.writer.conflict:
                job.status = "conflict"
                job.message = job.writer.conflict_reason or CONFLICT_MESSAGE
            elif job.finish_reason == "length":
                job.status = "done"
                job.message = "The answer was cut at the token limit (maxTokens): review it."
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
                job.message = "The document was closed: the job stopped."
            elif job.cancel_reason == "conflict" or job.writer.conflict:
                job.status = "conflict"
                job.message = job.writer.conflict_reason or CONFLICT_MESSAGE
            else:
                job.status = "cancelled"
                await self._restore(job)
        except GptLspError as error:
            job.status = "failed"
            job.message = error.user_message()
            await self._restore(job)
            self.port.show_error(error)
        except Exception as error:
            log.exception("job %s failed unexpectedly", job.id)
            job.status = "failed"
            job.message = f"gpt-lsp internal error ({type(error).__name__}); see the log."
            await self._restore(job)
            self.port.show_error(GptLspError(job.message))
        finally:
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
            for _ in itertools.count():
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
                            raise RequestRefused(
                                f"The answer passed maxAnswerChars ({spec.max_answer_chars}); "
                                "the job was stopped and the document restored."
                            )
                        text = spec.unmasker.feed(event.text) if spec.unmasker else event.text
                        self._write(job, spec.output.feed(text))
                        if isinstance(spec.output, CodeOutputFilter) and spec.output.done:
                            # The closing fence came: the rest is prose nobody will see. Read on
                            # briefly for the relay's usage, then close (stopping the billing).
                            job.finish_reason = job.finish_reason or "stop"
                            job.writer.stream_ended = True
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
                        self.port.progress_report(
                            job.progress_token, f"{job.completion_estimate} tokens"
                        )
                if tail_until is not None and time.monotonic() >= tail_until:
                    break
        finally:
            await stream.aclose()
        job.writer.stream_ended = True
        if spec.unmasker is not None:
            self._write(job, spec.output.feed(spec.unmasker.finish()))
        self._write(job, spec.output.finish())
        if job.usage is None:
            prompt = sum(local_token_count(m["content"]) for m in spec.messages)
            job.usage = Usage(prompt, job.completion_estimate)
            job.usage_estimated = True

    def _write(self, job: Job, text: str) -> None:
        if not text:
            return
        if job.channel is None:
            job.collected.append(text)
            return
        job.writer.write(text)
        job.channel.poke()

    async def _drain(self, job: Job) -> None:
        if job.channel is not None:
            await job.channel.wait_idle(job.writer)

    async def _restore(self, job: Job) -> None:
        """Puts the original text back (unless the user edited inside the region)."""
        writer = job.writer
        writer.pending.clear()
        if job.channel is None or job.channel.closed or writer.conflict:
            return
        if job.spec.notes_uri is not None:
            return
        # Let an edit in flight settle first, so the region is exact.
        writer.restore_wanted = True
        try:
            await asyncio.wait_for(job.channel.wait_idle(writer), 10.0)
        except asyncio.TimeoutError:
            log.warning("job %s: could not restore the original in time", job.id)
        if writer.is_conflicted():
            job.status = "conflict"

    def _finish(self, job: Job) -> None:
        job.ended = time.monotonic()
        if job.usage is not None and job.status in ("done", "conflict"):
            self.totals.add(job.spec.request.model, job.usage, job.spec.price)
        if job.progress_token is not None:
            self.port.progress_end(job.progress_token, self._end_message(job))
        if job.status != "done" or not job.spec.action.writes_code:
            self._forget_region(job)
        params: dict[str, Any] = {"jobId": job.id, "uri": job.spec.uri, "status": job.status}
        if job.message:
            params["message"] = job.message
        if job.usage is not None:
            params["usage"] = self._usage_dict(job)
        if job.spec.notes_uri is not None:
            params["notesUri"] = job.spec.notes_uri
        if job.collected:
            params["text"] = "".join(job.collected)
        self.port.job_finished(params)
        job.finished.set()
        self._trim()

    def _end_message(self, job: Job) -> str:
        seconds = (job.ended or time.monotonic()) - job.started
        parts = [job.status]
        if job.usage is not None:
            approx = "~" if job.usage_estimated else ""
            parts.append(f"{approx}{job.usage.total_tokens} tokens")
        parts.append(f"{seconds:.1f} s")
        cost = job.cost_text()
        if cost:
            parts.append(cost)
        return ", ".join(parts)

    def _usage_dict(self, job: Job) -> dict[str, Any]:
        usage = job.usage
        assert usage is not None
        out: dict[str, Any] = {
            "promptTokens": usage.prompt_tokens,
            "completionTokens": usage.completion_tokens,
            "totalTokens": usage.total_tokens,
            "estimated": job.usage_estimated,
            "model": job.spec.request.model,
            "relay": job.spec.client.name,
            "seconds": round((job.ended or time.monotonic()) - job.started, 3),
        }
        price = job.spec.price
        if price is not None:
            out["costUsd"] = round(price.cost_usd(usage.prompt_tokens, usage.completion_tokens), 6)
            out["quota"] = price.quota(usage.prompt_tokens, usage.completion_tokens)
        return out

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
                job.writer.pending.clear()
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
        if job.status != "done" or job.channel is None or job.id not in job.channel.writers:
            return False
        await self._restore(job)
        restored = job.writer.restored
        self._forget_region(job)
        self.jobs.pop(job_id, None)
        return restored

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
