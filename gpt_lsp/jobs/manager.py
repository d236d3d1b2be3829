"""The job manager: what the session asks of its jobs (start, follow up, cancel, accept, reject,
close a document's, shut down) and which job a request means. A job's state changes in
jobs/lifecycle.py, a turn runs in jobs/runner.py; this module only routes to them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gpt_lsp.accounting.usage import UsageTotals
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.edits.region import JobRegion, Verdict
from gpt_lsp.jobs.job import Job, JobSpec
from gpt_lsp.jobs.lifecycle import Lifecycle
from gpt_lsp.jobs.registry import JobList, Want
from gpt_lsp.jobs.runner import TurnRunner
from gpt_lsp.jobs.state import Phase
from gpt_lsp.jobs.verdicts import Verdicts
from gpt_lsp.text.regions import Pos, Span

SHUTDOWN_WAIT = 2.0  # seconds shutdown waits for the jobs' endings


class JobManager:
    """Starts jobs and routes the user's requests about them."""

    def __init__(
        self,
        registry: JobList,
        life: Lifecycle,
        runner: TurnRunner,
        verdicts: Verdicts,
        channel_for: Callable[[str], DocumentChannel | None],
    ) -> None:
        self.registry = registry
        self.life = life
        self.runner = runner
        self.verdicts = verdicts
        self.channel_for = channel_for

    @property
    def jobs(self) -> dict[str, Job]:
        """The listed jobs by id, oldest first."""
        return self.registry.jobs

    @property
    def ended(self) -> dict[str, str]:
        """How the jobs the user decided on ended, by id."""
        return self.registry.ended

    @property
    def totals(self) -> UsageTotals:
        """The session's usage of jobs."""
        return self.runner.totals

    def start(
        self,
        spec: JobSpec,
        region: Span | None,
        original: str,
        opener: Awaitable[DocumentChannel | None] | None = None,
        request_id: Any = None,
    ) -> Job:
        """Starts a job in the background and returns it at once.

        The progress request goes out now, before the command is answered, and the relay
        request starts without waiting for any client answer. `opener` (explain) opens the
        notes document beside the stream; until it is open the text is collected (and sent
        in jobFinished if it never opens).
        """
        job_id = self.registry.new_id()
        notes = spec.notes_uri is not None
        channel = self.channel_for(spec.uri) if spec.action.writes_code else None
        empty = Span(Pos(0, 0), Pos(0, 0))

        # The region's events go to the job it belongs to (made just below, before any event).
        def conflict() -> None:
            self.life.stop(job, "conflict")

        def review_change(verdict: Verdict) -> None:
            self.verdicts.user_changed(job, verdict)

        tracked = JobRegion(
            job_id,
            region or empty,
            original,
            replaced=notes,
            on_conflict=conflict,
            on_review_change=review_change,
        )
        job = self.life.begin(job_id, spec, tracked, channel, request_id)
        if channel is not None:
            channel.add(tracked)
        self.registry.add(job)
        if opener is not None:
            self.runner.attach_notes(job, opener)
        self.runner.launch(job)
        return job

    async def stop_turn(self, job: Job) -> None:
        """Stops a running turn for a follow-up, keeping what it wrote."""
        turn = job.turn
        self.life.stop(job, "refine")
        await turn.finished.wait()

    def next_turn(
        self,
        job: Job,
        spec: JobSpec,
        notes: DocumentChannel | None = None,
        lead: str = "",
        request_id: Any = None,
    ) -> None:
        """Starts a follow-up turn of a stopped or pending job on the same region (same id);
        a notes job appends under its previous answer (in `notes`, when still open)."""
        self.life.next_turn(job, spec, request_id)
        if not job.state.reviewed:
            if notes is not None:
                self.runner.append_to(job, notes)
                job.region.write(lead)  # the follow-up's heading, under the previous answer
            elif lead:
                job.turn.collected.append(lead)
        self.runner.launch(job)

    def cancel(self, job_id: str | None = None) -> bool:
        """Cancels one running job, or all of them; True when something was cancelled."""
        targets = [self.jobs[job_id]] if job_id in self.jobs else []
        if job_id is None:
            targets = list(self.jobs.values())
        hit = False
        for job in targets:
            hit = self.life.stop(job, "cancel") or hit
        return hit

    def close_document(self, uri: str) -> None:
        """The editor closed a document: stop its jobs without touching it, forget them."""
        for job in [j for j in self.jobs.values() if j.uri == uri]:
            if not self.life.stop(job, "closed"):
                self.life.end(job, Phase.CLOSED)

    def accept(self, job_id: str) -> bool:
        """Keeps a pending job's text; a running job is kept when it is done (never pending)."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        self.verdicts.decide_now(job)
        return self.life.accept(job)

    async def reject(self, job_id: str) -> bool:
        """Puts back the text from before the job's first turn, byte-exact."""
        job = self.jobs.get(job_id)
        if job is None:
            return False
        self.verdicts.decide_now(job)
        return await self.life.reject(job)

    def find(self, uri: str, pos: Pos | None = None, *, want: Want = "any") -> Job | None:
        """Returns the job a position means (see JobList.find)."""
        return self.registry.find(uri, pos, want=want)

    def running(self) -> list[Job]:
        """Returns the running jobs."""
        return self.registry.running()

    async def shutdown(self) -> None:
        """Cancels every job and waits (briefly) for them to end."""
        for job in self.running():
            self.life.stop(job, "shutdown")
        tasks = [j.turn.task for j in self.jobs.values()]
        waiting = [task for task in tasks if task is not None and not task.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=SHUTDOWN_WAIT)
