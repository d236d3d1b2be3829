"""A job's turn read from the relay: answer text through the output filter into the region."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable

from gpt_lsp.accounting.usage import chunk_tokens
from gpt_lsp.answer.output import CodeOutputFilter, Output
from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.jobs.job import Job
from gpt_lsp.logs import content_logger
from gpt_lsp.relay.events import Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from gpt_lsp.relay.request import Attempt

USAGE_TAIL_SECONDS = 0.5  # read on after a closing fence, for the usage chunk


async def stream_answer(
    job: Job, write: Callable[[Job, Output], None], streamed: Callable[[Job], None]
) -> None:
    """Reads the job's answer to its end (or its closing fence): `write` gets the filtered
    text, `streamed` is called after each network read."""
    turn = job.turn
    spec = turn.spec
    attempt = Attempt()
    # Checked once per job, not per chunk: logContent changes take effect at the next job.
    log_answer = content_logger().isEnabledFor(logging.DEBUG)
    stream = spec.client.stream_batches(spec.request, attempt, answer_chars=spec.max_answer_chars)
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
            # The batch's text goes through the filter in one piece: it gives the same
            # result for any split of the answer, and one call per network read costs less
            # than one per chunk.
            texts: list[str] = []
            for event in batch:
                if isinstance(event, Usage):
                    turn.usage = event
                elif isinstance(event, Finish):
                    turn.finish_reason = event.reason
                elif tail_until is not None:
                    continue  # after the closing fence: only usage is still wanted
                elif isinstance(event, TextDelta):
                    turn.answer_chars += len(event.text)
                    turn.completion_estimate += chunk_tokens(event.text)
                    if log_answer:
                        content_logger().debug("%s answer: %r", job.id, event.text)
                    if turn.answer_chars > spec.max_answer_chars:
                        text = _(
                            "The answer passed maxAnswerChars ({limit}); the job was "
                            "stopped and the document restored."
                        )
                        raise RequestRefused(text.format(limit=spec.max_answer_chars))
                    texts.append(event.text)
                elif isinstance(event, ToolCallDelta):
                    # Some models answer code through a tool call: treat arguments as text.
                    turn.completion_estimate += chunk_tokens(event.arguments)
                elif isinstance(event, ReasoningDelta):
                    turn.completion_estimate += chunk_tokens(event.text)
            if texts:
                joined = "".join(texts)
                write(
                    job, spec.output.feed(spec.unmasker.feed(joined) if spec.unmasker else joined)
                )
                if isinstance(spec.output, CodeOutputFilter) and spec.output.done:
                    # The closing fence came: the rest is prose nobody will see. Read on
                    # briefly for the relay's usage, then close (stopping the billing).
                    turn.finish_reason = turn.finish_reason or "stop"
                    job.region.stream_ended = True
                    tail_until = time.monotonic() + USAGE_TAIL_SECONDS
            streamed(job)
            if tail_until is not None and time.monotonic() >= tail_until:
                break
    finally:
        await stream.aclose()
    job.region.stream_ended = True
    if spec.unmasker is not None:
        write(job, spec.output.feed(spec.unmasker.finish()))
    write(job, spec.output.finish())
    turn.stream_complete = True
