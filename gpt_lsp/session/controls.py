"""The job commands of a session: accept, reject, cancel and refine, found by id or position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.session.configuration import Configuration
from gpt_lsp.session.documents import OpenDocuments
from gpt_lsp.session.setup import Parts

if TYPE_CHECKING:
    from gpt_lsp.jobs.job import Job
    from gpt_lsp.jobs.review import Lens
    from gpt_lsp.session.arguments import CancelArgs, ChatArgs, JobTarget
    from gpt_lsp.text.regions import Pos


class JobControls:
    """What a session does with its jobs once they run."""

    def __init__(
        self,
        parts: Parts,
        config: Configuration,
        spending: Spending,
        documents: OpenDocuments,
    ) -> None:
        self.parts = parts
        self.config = config
        self.spending = spending
        self.documents = documents

    def find_job(
        self, target: JobTarget, *, want: Literal["any", "running", "done"] = "any"
    ) -> Job | None:
        """Returns the job a target names: by id, or by position in a document."""
        jobs = self.parts.built().jobs
        if jobs is None:
            return None
        if target.job_id is not None:
            return jobs.jobs.get(target.job_id)
        assert target.uri is not None
        pos = target.position.pos() if target.position is not None else None
        return jobs.find(target.uri, pos, want=want)

    def accept(self, target: JobTarget) -> dict[str, Any]:
        """gptLsp.accept: keeps a job's text (only a finished job can be kept)."""
        job = self.find_job(target, want="done")
        return {"ok": job is not None and self.parts.jobs.accept(job.id)}

    async def reject(self, target: JobTarget) -> dict[str, Any]:
        """gptLsp.reject: puts back a job's original text."""
        job = self.find_job(target)
        return {"ok": job is not None and await self.parts.jobs.reject(job.id)}

    def code_lenses(self, uri: str) -> list[Lens]:
        """Lists the lenses of a document's running and pending jobs."""
        jobs = self.parts.built().jobs
        if jobs is None:
            return []
        from gpt_lsp.jobs.review import lenses

        return lenses(jobs.jobs.values(), uri)

    def cancel(self, args: CancelArgs) -> dict[str, Any]:
        """gptLsp.cancel: stops one job (by id or position), or every job."""
        if args.every_job:
            jobs = self.parts.built().jobs
            return {"ok": jobs is not None and jobs.cancel(None)}
        job = self.find_job(args.target(), want="running")
        return {"ok": job is not None and self.parts.jobs.cancel(job.id)}

    def request_cancelled(self, msg_id: Any) -> None:
        """$/cancelRequest of a gptLsp.run/chat request cancels its job."""
        jobs = self.parts.built().jobs
        if jobs is None:
            return
        for job in jobs.running():
            if job.turn.request_id is not None and job.turn.request_id == msg_id:
                jobs.cancel(job.id)

    def progress_cancelled(self, token: Any) -> None:
        """Cancelling a job's progress cancels the job."""
        jobs = self.parts.built().jobs
        if jobs is None:
            return
        for job in jobs.running():
            if job.turn.progress_token == token:
                jobs.cancel(job.id)

    async def refine(self, args: ChatArgs, request_id: Any) -> dict[str, Any]:
        """A follow-up turn: a running turn stops, the next one carries the conversation."""
        from gpt_lsp.jobs.refine import check_follow_up, follow_up_spec, refinable

        built = self.parts.built().jobs
        registry = built.registry if built is not None else None
        job = refinable(registry, *_where(args.target()))
        jobs = self.parts.jobs
        jobs.verdicts.decide_now(job)  # typed-in text is the user's: it ends the job
        job = refinable(registry, *_where(args.target()))
        settings = self.config.settings
        self.spending.check(settings.budget)
        if job.status == "running":
            await jobs.stop_turn(job)
            check_follow_up(job)  # a turn that ended meanwhile may have ended the job
        spec = follow_up_spec(job, job.last_answer(), args.instruction, settings)
        notes, lead = None, ""
        if job.spec.notes_uri is not None:
            notes = self.documents.channel_for(job.spec.notes_uri)  # None once closed
            eol = notes.doc.eol if notes is not None else "\n"
            lead = f"{eol}{eol}## {args.instruction.strip()}{eol}{eol}"
        jobs.next_turn(job, spec, notes, lead, request_id)
        return {"jobId": job.id}


def _where(target: JobTarget) -> tuple[str | None, str | None, Pos | None]:
    """A target as what the job layer takes: an id, or a document and a position."""
    pos = target.position.pos() if target.position is not None else None
    return target.job_id, target.uri, pos
