"""The job commands of a session: accept, reject, cancel and refine, found by id or position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gpt_lsp.accounting.spending import Spending
    from gpt_lsp.edits.channel import DocumentChannel
    from gpt_lsp.jobs.job import Job
    from gpt_lsp.jobs.manager import JobManager
    from gpt_lsp.jobs.review import Lens
    from gpt_lsp.session.arguments import CancelArgs, ChatArgs, JobTarget
    from gpt_lsp.settings import Settings
    from gpt_lsp.text.regions import Pos


class JobCommands:
    """What a session does with its jobs once they run (mixed into Session)."""

    if TYPE_CHECKING:
        _jobs: JobManager | None
        spending: Spending

        @property
        def jobs(self) -> JobManager: ...
        @property
        def settings(self) -> Settings: ...
        def channel_for(self, uri: str) -> DocumentChannel | None: ...

    def find_job(
        self, target: JobTarget, *, want: Literal["any", "running", "done"] = "any"
    ) -> Job | None:
        """Returns the job a target names: by id, or by position in a document."""
        if self._jobs is None:
            return None
        if target.job_id is not None:
            return self._jobs.jobs.get(target.job_id)
        assert target.uri is not None
        pos = target.position.pos() if target.position is not None else None
        return self._jobs.find(target.uri, pos, want=want)

    def accept(self, target: JobTarget) -> dict[str, Any]:
        """gptLsp.accept: keeps a job's text (only a finished job can be kept)."""
        job = self.find_job(target, want="done")
        return {"ok": job is not None and self.jobs.accept(job.id)}

    async def reject(self, target: JobTarget) -> dict[str, Any]:
        """gptLsp.reject: puts back a job's original text."""
        job = self.find_job(target)
        return {"ok": job is not None and await self.jobs.reject(job.id)}

    def code_lenses(self, uri: str) -> list[Lens]:
        """Lists the lenses of a document's running and pending jobs."""
        if self._jobs is None:
            return []
        from gpt_lsp.jobs.review import lenses

        return lenses(self._jobs.jobs.values(), uri)

    def cancel(self, args: CancelArgs) -> dict[str, Any]:
        """gptLsp.cancel: stops one job (by id or position), or every job."""
        if args.every_job:
            return {"ok": self._jobs is not None and self._jobs.cancel(None)}
        job = self.find_job(args.target(), want="running")
        return {"ok": job is not None and self.jobs.cancel(job.id)}

    def request_cancelled(self, msg_id: Any) -> None:
        """$/cancelRequest of a gptLsp.run/chat request cancels its job."""
        if self._jobs is None:
            return
        for job in self._jobs.running():
            if job.turn.request_id is not None and job.turn.request_id == msg_id:
                self._jobs.cancel(job.id)

    def progress_cancelled(self, token: Any) -> None:
        """Cancelling a job's progress cancels the job."""
        if self._jobs is None:
            return
        for job in self._jobs.running():
            if job.turn.progress_token == token:
                self._jobs.cancel(job.id)

    async def _refine(self, args: ChatArgs, request_id: Any) -> dict[str, Any]:
        """A follow-up turn: a running turn stops, the next one carries the conversation."""
        from gpt_lsp.jobs.refine import check_follow_up, follow_up_spec, refinable

        registry = self._jobs.registry if self._jobs is not None else None
        job = refinable(registry, *_where(args.target()))
        self.jobs.verdicts.decide_now(job)  # typed-in text is the user's: it ends the job
        job = refinable(registry, *_where(args.target()))
        self.spending.check(self.settings.budget)
        if job.status == "running":
            await self.jobs.stop_turn(job)
            check_follow_up(job)  # a turn that ended meanwhile may have ended the job
        spec = follow_up_spec(job, job.last_answer(), args.instruction, self.settings)
        notes, lead = None, ""
        if job.spec.notes_uri is not None:
            notes = self.channel_for(job.spec.notes_uri)  # None once the user closed it
            eol = notes.doc.eol if notes is not None else "\n"
            lead = f"{eol}{eol}## {args.instruction.strip()}{eol}{eol}"
        self.jobs.next_turn(job, spec, notes, lead, request_id)
        return {"jobId": job.id}


def _where(target: JobTarget) -> tuple[str | None, str | None, Pos | None]:
    """A target as what the job layer takes: an id, or a document and a position."""
    pos = target.position.pos() if target.position is not None else None
    return target.job_id, target.uri, pos
