"""The answer filter's cost per character (issue 18 #15: the unit test counts its calls, the
time is measured here): pathological answers fed one character at a time, in process."""

from __future__ import annotations

import time

from bench.scenarios import Context, Report
from gpt_lsp.answer.output import CodeOutputFilter
from tests.unit.answer.corpus import PATHOLOGICAL

CHARS = 200_000  # characters per answer (--quick: a tenth)


def _feed(answer: str) -> float:
    """Returns the seconds it takes to feed `answer` one character at a time."""
    f = CodeOutputFilter("x\n", "\n")
    started = time.perf_counter()
    for ch in answer:
        f.feed(ch)
    f.finish()
    return time.perf_counter() - started


async def answer_filter(ctx: Context) -> Report:
    report = Report("answer_filter")
    size = CHARS // 10 if ctx.quick else CHARS
    for head, piece, tail in PATHOLOGICAL:
        answer = head + piece * (size // len(piece)) + tail
        micros = [_feed(answer) / len(answer) * 1e6 for _ in range(ctx.runs)]
        # The old unit test's bound: 3 s for 200,000 characters (quadratic work: minutes).
        report.add(
            f"{piece.strip() or repr(piece)} x{size // len(piece):,}",
            "µs/char",
            micros,
            "< 10",
            limit=10.0,
        )
    return report
