"""A job's turn read from the relay: answer text through the output filter into the region."""

from __future__ import annotations

from collections.abc import Callable

from gpt_lsp.answer.output import CodeOutputFilter, Output
from gpt_lsp.asking.reading import Reading, Sink
from gpt_lsp.jobs.job import Job

USAGE_TAIL_SECONDS = 0.5  # read on after a closing fence, for the usage chunk


class _Turn(Sink):
    """A job's side of its answer: the text filtered into its region, its figures kept."""

    def __init__(
        self,
        job: Job,
        reading: Reading,
        write: Callable[[Job, Output], None],
        streamed: Callable[[Job], None],
    ) -> None:
        self.job = job
        self.turn = job.turn  # the turn this reading answers (a follow-up appends its own)
        self.reading = reading
        self.write = write
        self.streamed = streamed

    def take(self, text: str) -> bool:
        """Writes the filtered text; True once the closing fence came (the rest is prose
        nobody will see: only the relay's usage is still read, then the stream closes)."""
        job, spec = self.job, self.job.spec
        self.write(job, spec.output.feed(spec.unmasker.feed(text) if spec.unmasker else text))
        if isinstance(spec.output, CodeOutputFilter) and spec.output.done:
            job.region.stream_ended = True
            return True
        return False

    def read(self) -> None:
        """After each network read: the job's figures, then progress and review state."""
        self.keep()
        self.streamed(self.job)

    def keep(self) -> None:
        """Copies the reading's figures to the job's turn (its usage record and progress read
        them)."""
        turn, reading = self.turn, self.reading
        turn.usage = reading.usage
        turn.finish_reason = reading.finish_reason or ("stop" if reading.enough else None)
        turn.answer_chars = reading.chars
        turn.completion_estimate = reading.estimate


async def stream_answer(
    job: Job, write: Callable[[Job, Output], None], streamed: Callable[[Job], None]
) -> None:
    """Reads the job's answer to its end (or its closing fence): `write` gets the filtered
    text, `streamed` is called after each network read."""
    spec = job.spec
    if spec.given is not None:  # nothing to ask: the answer goes through the same filter
        job.region.stream_ended = True
        write(job, spec.output.feed(spec.given))
        write(job, spec.output.finish())
        return
    reading = Reading(spec.client, spec.request, label=job.id, max_chars=spec.max_answer_chars)
    sink = _Turn(job, reading, write, streamed)
    try:
        await reading.read(sink, tail=USAGE_TAIL_SECONDS)
    finally:
        sink.keep()  # whatever ended the reading: what was read is billed
        await reading.aclose()
    job.region.stream_ended = True
    if spec.unmasker is not None:
        write(job, spec.output.feed(spec.unmasker.finish()))
    write(job, spec.output.finish())
    sink.turn.stream_complete = True
