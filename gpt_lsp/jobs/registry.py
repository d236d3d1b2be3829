"""The session's jobs: listed by id, found by position, the finished ones forgotten in time."""

from __future__ import annotations

import itertools
from typing import Literal

from gpt_lsp.jobs.job import Job
from gpt_lsp.jobs.review import holds
from gpt_lsp.text.regions import Pos

MAX_REVIEW_JOBS = 50  # finished jobs kept for accept/reject, oldest forgotten first
MAX_ENDED = 500  # outcomes of reviewed jobs kept for messages

Want = Literal["any", "running", "done"]


class JobList:
    """Jobs by id (oldest first) and the outcomes of the jobs the user decided on."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.ended: dict[str, str] = {}  # how reviewed jobs ended, by id, the newest kept
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        """Returns the next job id."""
        return f"job-{next(self._ids)}"

    def add(self, job: Job) -> None:
        """Lists a new job."""
        self.jobs[job.id] = job

    def forget(self, job: Job) -> None:
        """A reviewed job ended by the user's decision: only its outcome is kept (for a clear
        refine error); a job that failed stays listed, until trimmed."""
        self.jobs.pop(job.id, None)
        self.ended[job.id] = job.state.outcome or "ended"
        for old in list(self.ended)[: max(0, len(self.ended) - MAX_ENDED)]:
            del self.ended[old]

    def overflow(self) -> list[Job]:
        """Returns the oldest finished jobs past MAX_REVIEW_JOBS."""
        finished = [j for j in self.jobs.values() if j.status != "running"]
        return finished[: max(0, len(finished) - MAX_REVIEW_JOBS)]

    def drop(self, job: Job) -> None:
        """Forgets a job without a word."""
        self.jobs.pop(job.id, None)

    def find(self, uri: str, pos: Pos | None = None, *, want: Want = "any") -> Job | None:
        """Returns the job whose region holds the position, else the document's most recent
        job; `want` narrows the jobs looked at (running ones, or done ones still reviewable)."""
        candidates = [
            job
            for job in self.jobs.values()
            if job.spec.uri == uri
            if (job.status == "running" and want != "done")
            or (job.review == "pending" and want != "running")
        ]
        if pos is not None:
            for job in reversed(candidates):
                in_document = job.channel is not None and job.channel.doc.uri == uri
                if in_document and holds(job.region.span, pos):
                    return job
        return candidates[-1] if candidates else None

    def running(self) -> list[Job]:
        """Returns the running jobs."""
        return [j for j in self.jobs.values() if j.status == "running"]
