"""Chat documents (issue 20): a reply's first relay token -> the first edit in the chat that
carries answer text (over stdio, paced 50 tokens/s), and a 50-turn chat document read into
messages, masked, cut to its budget and made into a request body (in process)."""

from __future__ import annotations

import asyncio
import json
import time

from bench.scenarios import Context, Report, collect_stderr, request_index
from gpt_lsp.chat.budget import cut
from gpt_lsp.chat.document import Meta, ai_heading, messages, new_document, parse, user_heading
from gpt_lsp.prompting.secrets import SecretMask
from tests.relay_sim import Scenario

TURNS = 50
ANSWER = "The loop walks the list once; a generator keeps memory flat. " * 8


def chat_text(turns: int) -> str:
    """A chat document of `turns` questions and answers, each answer with a code block."""
    parts = [new_document(Meta(), "", "How do I sum a list?").rstrip("\n")]
    for n in range(turns):
        parts += ["", ai_heading("gpt-4o", ["300 tokens", "2.1 s"]), "", ANSWER]
        parts += ["", "```python", f"def total_{n}(items):", "    return sum(items)", "```"]
        parts += ["", user_heading(), "", f"And question {n + 1}, about total_{n}?"]
    return "\n".join(parts) + "\n"


def prepare_ms(text: str) -> float:
    """Reads a chat and builds what is sent (the relay's part not counted): milliseconds."""
    start = time.perf_counter()
    said = messages(parse(text.splitlines(keepends=True)).turns)
    mask = SecretMask()
    for message in said:
        message["content"] = mask.mask(message["content"])
    kept = cut(said, 24_000)
    json.dumps({"model": "gpt-4o", "messages": kept.messages, "stream": True})
    return (time.perf_counter() - start) * 1000


async def chat(ctx: Context) -> Report:
    report = Report("chat")
    text = chat_text(TURNS)
    for _ in range(3):
        prepare_ms(text)  # warm up
    report.add(
        f"{TURNS}-turn chat ({len(text):,} chars): parse + mask + cut + body",
        "ms",
        [prepare_ms(text) for _ in range(max(5, ctx.runs * 4))],
        "<= 5",
        5,
    )
    await _reply(ctx, report)
    return report


async def _reply(ctx: Context, report: Report) -> None:
    pace = 0.02  # 50 tokens/s
    ctx.sim.default = Scenario(text=ANSWER, chunk_size=4, pace=pace)
    ed = await ctx.editor()
    first_ms: list[float] = []
    try:
        for run in range(ctx.runs):
            uri = ed.open(f"chat-{run}.md", chat_text(3), "markdown")
            before, n_edits = len(ctx.sim.requests), len(ed.edit_times)
            await ed.command("gptLsp.chatReply", {"uri": uri})
            async with asyncio.timeout(60):
                while len(ctx.sim.requests) == before:  # noqa: ASYNC110 - the simulator's thread
                    await asyncio.sleep(0.005)
                index = request_index(ctx.sim, before)
                while len(ctx.sim.piece_times.get(index, [])) < 3:  # noqa: ASYNC110 - the same
                    await asyncio.sleep(0.005)
            first_token = ctx.sim.piece_times[index][0]
            async with asyncio.timeout(60):
                while not [e for e in ed.edit_times[n_edits:] if e[0] >= first_token]:  # noqa: ASYNC110 - the editor's state
                    await asyncio.sleep(0.005)
            first_edit = min(e[0] for e in ed.edit_times[n_edits:] if e[0] >= first_token)
            first_ms.append((first_edit - first_token) * 1000)
            await ed.command("gptLsp.chatCancel", {"uri": uri})
            ed.close(uri)
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    report.add("reply: first relay token -> first answer edit", "ms", first_ms, "<= 40", 40)
