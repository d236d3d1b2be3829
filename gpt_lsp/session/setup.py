"""Builds a session's parts with what each works with: the one place that wires them (as
esbonio's server/setup.py builds its server and features). Parts are built on first use, so
that nothing heavy loads before `initialize` is answered."""

from __future__ import annotations

from collections.abc import Callable

from gpt_lsp.accounting.spending import Spending
from gpt_lsp.edits.channel import DocumentChannel
from gpt_lsp.jobs.manager import JobManager
from gpt_lsp.jobs.runner import KeepAnswer
from gpt_lsp.port import ClientFeatures, ClientPort


def job_manager(
    port: ClientPort,
    client: ClientFeatures,
    channel_for: Callable[[str], DocumentChannel | None],
    spending: Spending,
    keep_answer: KeepAnswer,
) -> JobManager:
    """The job machinery: registry, review board, lifecycle, verdicts, turn runner, manager."""
    from gpt_lsp.accounting.usage import UsageTotals
    from gpt_lsp.jobs.lifecycle import Lifecycle
    from gpt_lsp.jobs.registry import JobList
    from gpt_lsp.jobs.review import ReviewBoard
    from gpt_lsp.jobs.runner import TurnRunner
    from gpt_lsp.jobs.verdicts import Verdicts

    registry = JobList()
    board = ReviewBoard(port, lens_refresh=client.code_lens_refresh)
    life = Lifecycle(port, board, registry)
    runner = TurnRunner(
        port,
        life,
        board,
        totals=UsageTotals(),
        spending=spending,
        keep_answer=keep_answer,
        progress=client.progress,
    )
    return JobManager(registry, life, runner, Verdicts(port, life), channel_for)
