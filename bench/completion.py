"""Inline completion figures (issue 11): server-added latency, relay requests while typing,
cache hits when the user types through suggestions, cancellation closing the relay stream."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from lsprotocol import types

from bench.client import Editor
from bench.scenarios import Context, Report, collect_stderr, request_index
from tests.relay_sim import Scenario

TYPING_RATE = 8.0  # characters per second
LINE_PAUSE = 1.0  # seconds the user stops at the start of a line (reads the suggestion)
TYPED = [
    "def area(width, height):",
    "    return width * height",
    "",
    "def perimeter(width, height):",
    "    return 2 * (width + height)",
    "",
    "def volume(width, height, depth):",
    "    return area(width, height) * depth",
]
_ids = itertools.count(1)


def _params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
    )


async def inline(
    ed: Editor, uri: str, line: int, character: int, msg_id: str | None = None
) -> tuple[float, list[Any]]:
    """Sends textDocument/inlineCompletion; (time the answer arrived, items)."""
    async with asyncio.timeout(30):
        result = await ed.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            _params(uri, line, character),
            msg_id=msg_id or f"inline-{next(_ids)}",
        )
    items = result if isinstance(result, list) else list(getattr(result, "items", []) or [])
    return time.monotonic(), items


async def completion(ctx: Context) -> Report:
    report = Report("completion")
    await _latency(ctx, report)
    await _typing(ctx, report, useful=True)
    await _typing(ctx, report, useful=False)
    await _cancellation(ctx, report)
    return report


async def _latency(ctx: Context, report: Report) -> None:
    """Relay chunk that completes the suggestion -> the answer at the editor (no debounce)."""
    ed = await ctx.editor(completion={"enabled": True, "debounceMs": 0})
    try:
        added, total, closed = [], [], []
        for run in range(max(10, ctx.runs * 4)):
            uri = ed.open(f"latency{run}.py", "import math\n\nx = \n")
            ctx.sim.enqueue(
                Scenario(chunks=["math.sqrt(", "2)\n", "y = 3\n", "z = 4\n"], pace=0.03)
            )
            before = len(ctx.sim.requests)
            sent = time.monotonic()
            answered, items = await inline(ed, uri, 2, 4)
            index = request_index(ctx.sim, before)
            if [i.insert_text for i in items] != ["math.sqrt(2)"]:
                raise RuntimeError(f"unexpected suggestion {items}")
            completing = ctx.sim.piece_times[index][1]  # "2)\n" ends the line
            added.append((answered - completing) * 1000)
            total.append((answered - sent) * 1000)
            closed.append(ctx.sim.requests[index].client_disconnected)
            ed.close(uri)
        report.add("chunk completing it -> answer at editor", "ms", added, "<= 15", 15)
        report.add("request -> answer (relay paced 30 ms/chunk)", "ms", total)
        report.details["latency_stream_closed_early"] = closed
    finally:
        collect_stderr(report, ed)
        await ed.stop()


async def _typing(ctx: Context, report: Report, *, useful: bool) -> None:
    """A scripted typing session at 8 chars/s with the default debounce. `useful`: the relay
    answers what the user goes on to type (typing through it hits the cache); else always
    something the user does not type (only the debounce saves requests)."""
    per_100, hit_rate = [], []
    label = "useful suggestions" if useful else "useless suggestions"
    for run in range(1 if ctx.quick else 2):
        ed = await ctx.editor(completion={"enabled": True})
        try:
            uri = ed.open(f"typing{run}-{useful}.py", "\n")
            before = len(ctx.sim.requests)
            chars = await _type_session(ctx, ed, uri, useful)
            await asyncio.sleep(0.5)
            counts = (await ed.command("gptLsp.status"))["completion"]
            relay = len(ctx.sim.requests) - before
            per_100.append(relay * 100 / chars)
            hit_rate.append(counts["cacheHits"] / max(1, counts["cacheHits"] + relay) * 100)
            report.details[f"typing_{label}_run{run}"] = {
                "chars": chars,
                "relayRequests": relay,
                **counts,
            }
        finally:
            collect_stderr(report, ed)
            await ed.stop()
    report.add(f"relay requests per 100 typed chars, {label}", "n", per_100, "<= 6", 6, 2)
    report.add(f"cache hit rate, {label}", "%", hit_rate, digits=1)


async def _type_session(ctx: Context, ed: Editor, uri: str, useful: bool) -> int:
    """Types TYPED like a user; after each keystroke the editor asks, cancelling its older ask."""
    pending: tuple[str, asyncio.Task[Any]] | None = None
    chars = 0
    for number, text in enumerate(TYPED):
        for column in range(len(text) + 1):
            rest = text[column:]
            answer = (rest or "\n") if useful else "unrelated_call()"
            ctx.sim.default = Scenario(text=answer, chunk_size=4, pace=0.01)
            if column:
                at = types.Position(line=number, character=column - 1)
                ed.change(uri, types.Range(start=at, end=at), text[column - 1])
                chars += 1
            await asyncio.sleep(0)  # the editor reports the change first
            if pending is not None and not pending[1].done():
                ed.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=pending[0]))
            msg_id = f"inline-{next(_ids)}"
            task = asyncio.ensure_future(inline(ed, uri, number, column, msg_id))
            task.add_done_callback(lambda t: t.exception())  # cancelled asks raise
            pending = (msg_id, task)
            await asyncio.sleep(LINE_PAUSE if column == 0 else 1 / TYPING_RATE)
        end = types.Position(line=number, character=len(text))
        ed.change(uri, types.Range(start=end, end=end), "\n")
        chars += 1
    return chars


async def _cancellation(ctx: Context, report: Report) -> None:
    """A newer request, or $/cancelRequest, closes the older relay stream."""
    ed = await ctx.editor(completion={"enabled": True, "debounceMs": 0})
    hang = Scenario(text="a + b\n", chunk_size=1, hang_after=1)
    try:
        results: dict[str, list[float]] = {"supersede": [], "cancelRequest": []}
        for run in range(max(5, ctx.runs * 2)):
            for how in results:
                uri = ed.open(f"cancel-{how}-{run}.py", "x = \n")
                ctx.sim.enqueue(hang, *([Scenario(text="1")] if how == "supersede" else []))
                before = len(ctx.sim.requests)
                msg_id = f"older-{next(_ids)}"
                older = asyncio.ensure_future(inline(ed, uri, 0, 4, msg_id))
                older.add_done_callback(lambda t: t.exception())
                async with asyncio.timeout(10):
                    while not any(  # noqa: ASYNC110 - the simulator's own thread stamps it
                        r.index in ctx.sim.first_piece_at for r in ctx.sim.requests[before:]
                    ):
                        await asyncio.sleep(0.005)
                index = request_index(ctx.sim, before)
                sent = time.monotonic()
                if how == "supersede":
                    newer = asyncio.ensure_future(inline(ed, uri, 0, 3))
                else:
                    ed.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
                    newer = None
                ended = await asyncio.to_thread(ctx.sim.wait_for_disconnect, index, 5.0)
                if ended is None or not ctx.sim.requests[index].client_disconnected:
                    raise RuntimeError(f"{how}: the relay stream stayed open")
                results[how].append((ended - sent) * 1000)
                if newer is not None:
                    await newer
                ed.close(uri)
        report.add(
            "newer request -> older stream closed", "ms", results["supersede"], "<= 100", 100
        )
        report.add(
            "$/cancelRequest -> stream closed", "ms", results["cancelRequest"], "<= 100", 100
        )
    finally:
        collect_stderr(report, ed)
        await ed.stop()
