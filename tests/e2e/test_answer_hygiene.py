"""Answer hygiene end to end: the simulator replays real-looking answers into a real job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, position_of
from tests.relay_sim import RelaySim, Scenario
from tests.relay_sim.scenario import split_tokens
from tests.unit.answer.corpus import AREA, CORPUS, Case

HEAD = "import math\n\nclass Shape:\n    pass\n\n"
TAIL = "\ndef perimeter(t):\n    return 2 * sum(t)\n"


def tokens(text: str) -> list[str]:
    """Splits text like a tokenizer: the simulator sends one such token per chunk."""
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    return pieces


def region(source: str, original: str, encoding: str) -> dict[str, object]:
    start = source.index(original)
    r = types.Range(
        start=position_of(source, start, encoding),
        end=position_of(source, start + len(original), encoding),
    )
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def prose_of(case: Case) -> list[str]:
    """The answer's lines that must never show in the document (prose, fences)."""
    kept = set((case.expected or "").splitlines())
    return [s for s in case.answer.splitlines() if s not in kept and len(s.strip()) > 3]


async def replay(editor: Editor, relay_sim: RelaySim, case: Case, name: str) -> dict[str, object]:
    """Runs a refactor job answered with the case; checks the document at every edit."""
    source = HEAD + case.original + TAIL
    uri = editor.open(name, source)
    seen: list[str] = []
    editor.before_apply = lambda _: seen.append(editor.text(uri))
    relay_sim.enqueue(Scenario(chunks=tokens(case.answer), pace=0.001, usage="never"))
    result = await editor.command(
        "gptLsp.run",
        {"action": "refactor", "uri": uri, "range": region(source, case.original, editor.encoding)},
    )
    finished = await editor.wait_finished(result["jobId"])
    seen.append(editor.text(uri))
    editor.before_apply = None
    for text in seen:
        if "docstring" not in case.name:
            assert "```" not in text, (case.name, text)
        lines = text.splitlines()
        shown = [s for s in prose_of(case) if s in lines]
        assert not shown or (case.flash and text != seen[-1]), (case.name, text)
    if case.expected is None:
        assert finished["status"] == "failed", finished
        assert editor.text(uri) == source  # byte-exact
    else:
        assert finished["status"] == "done", (case.name, finished)
        assert editor.text(uri) == HEAD + case.expected + TAIL, case.name
    return finished


async def test_the_corpus_never_puts_prose_or_fences_in_the_file(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    for i, case in enumerate(c for c in CORPUS if not c.before and not c.after):
        await replay(editor, relay_sim, case, f"corpus{i}.py")


async def test_prose_only_fails_cleanly_with_the_answer_in_a_notes_document(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim), "neovim", "utf-8")
    case = next(c for c in CORPUS if c.name == "issue-prose-only")
    finished = await replay(editor, relay_sim, case, "prose.py")
    message = str(finished["message"])
    assert "Based on the code, we can't match" in message  # quotes the start of the answer
    notes = str(finished["notesUri"])
    kept = await asyncio.to_thread(Path(notes.removeprefix("file://")).read_text, "utf-8")
    assert kept.endswith(case.answer)
    assert any(d.uri == notes for d in editor.client.shown_documents)
    errors = [m for m in editor.client.messages if m.type == types.MessageType.Error]
    assert errors and "without code" in errors[-1].message


async def test_repeated_context_is_not_doubled(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    original = "def area(t):\n    return t[0] * t[1]\n"
    source = "class Shape:\n    # Areas.\n" + original + "\ndef perimeter(t):\n    return 1\n"
    answer = "class Shape:\n    # Areas.\ndef area(t):\n    w, h = t\n    return w * h\n\n"
    answer += "def perimeter(t):\n"
    uri = editor.open("repeats.py", source)
    relay_sim.enqueue(Scenario(chunks=tokens(answer), usage="never"))
    result = await editor.command(
        "gptLsp.run",
        {"action": "refactor", "uri": uri, "range": region(source, original, "utf-16")},
    )
    finished = await editor.wait_finished(result["jobId"])
    assert finished["status"] == "done", finished
    expected = "def area(t):\n    w, h = t\n    return w * h\n"
    assert editor.text(uri) == source.replace(original, expected)


async def test_estimated_usage_is_within_15_percent_of_the_relay_count(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    answers = [
        "```python\n"
        + "\n".join(f"def f{i}(values):\n    return sum(values) * {i}" for i in range(30)),
        "To make the code more idiomatic, we unpack the tuple first. Here's how:\n```python\n"
        + "def area(t):\n    width, height = t\n    return width * height\n" * 20
        + "```",
        "以下是修改后的代码：\n```python\n"
        + "def 面积(t):\n    # 宽和高\n    宽, 高 = t\n    return 宽 * 高\n" * 10
        + "```",
    ]
    # After the closing fence the job stops reading: only what it read is counted.
    original = "def area(t):\n    return t[0] * t[1]\n"
    for i, answer in enumerate(answers):
        chunks = tokens(answer)
        uri = editor.open(f"usage{i}.py", original)
        relay_sim.enqueue(Scenario(chunks=chunks, usage="never"))
        result = await editor.command(
            "gptLsp.run",
            {"action": "refactor", "uri": uri, "range": region(original, original, "utf-16")},
        )
        finished = await editor.wait_finished(result["jobId"])
        usage = finished["usage"]
        assert usage["estimated"] is True
        assert abs(usage["completionTokens"] - len(chunks)) <= 0.15 * len(chunks), (
            i,
            usage["completionTokens"],
            len(chunks),
        )


async def test_a_late_fence_rewrites_the_region_through_the_edit_channel(
    editor: Editor, relay_sim: RelaySim
) -> None:
    # Both editor profiles: the correction is one more versioned edit of the job's region.
    original = "def area(t):\n    return t[0] * t[1]\n"
    source = HEAD + original + TAIL
    uri = editor.open("late.py", source)
    first = "def area(t):  # first try\n"
    answer = first + "```python\n" + AREA + "```\n"
    seen: list[str] = []
    editor.before_apply = lambda _: seen.append(editor.text(uri))
    relay_sim.enqueue(Scenario(chunks=[first, *tokens(answer[len(first) :])], pace=0.05))
    result = await editor.command(
        "gptLsp.run",
        {"action": "refactor", "uri": uri, "range": region(source, original, editor.encoding)},
    )
    finished = await editor.wait_finished(result["jobId"])
    editor.before_apply = None
    assert finished["status"] == "done", finished
    assert editor.text(uri) == HEAD + AREA + TAIL
    assert any(first in text for text in seen)  # the first try showed, briefly
    assert all("```" not in text for text in [*seen, editor.text(uri)])
    ok = await editor.command("gptLsp.reject", {"jobId": result["jobId"]})
    assert ok["ok"] is True
    await editor.wait_until(lambda: editor.text(uri) == source)  # byte-exact after a rewrite


def recorder(editor: Editor, uri: str, seen: list[str]) -> Callable[[object], None]:
    """Records the document's text before each edit the server sends."""
    return lambda _: seen.append(editor.text(uri))


async def test_the_issue_18_prose_answer_fails_the_job_in_any_network_reads(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    # Three paragraphs, no code, the middle one a long line of sentences quoting phrases: in
    # one read, a read per paragraph, reads cut inside the quote, and a read per token, the
    # job fails, the file never shows a word of it, and the notes keep it verbatim.
    case = next(c for c in CORPUS if c.name == "issue18-three-paragraphs")
    answer = case.answer
    quote = answer.index('"In Python 3')
    second = answer.index("\n\n") + 2
    third = answer.index("\n\n", second) + 2
    splits = {
        "whole": [answer],
        "paragraphs": [answer[:second], answer[second:third], answer[third:]],
        "inside-the-quote": [answer[:quote], answer[quote : quote + 7], answer[quote + 7 :]],
        "tokens": tokens(answer),
    }
    editor = await make_editor(relay_options(relay_sim), "neovim", "utf-8")
    for name, chunks in splits.items():
        source = HEAD + case.original + TAIL
        uri = editor.open(f"issue18-{name}.py", source)
        seen: list[str] = []
        editor.before_apply = recorder(editor, uri, seen)
        relay_sim.enqueue(Scenario(chunks=chunks, pace=0.02, usage="never"))
        rng = region(source, case.original, editor.encoding)
        result = await editor.command(
            "gptLsp.run", {"action": "refactor", "uri": uri, "range": rng}
        )
        finished = await editor.wait_finished(result["jobId"])
        editor.before_apply = None
        assert finished["status"] == "failed", (name, finished)
        assert editor.text(uri) == source, name  # byte-exact
        for text in [*seen, editor.text(uri)]:
            assert "You just need" not in text and "idiomatic" not in text, (name, text)
        notes = str(finished["notesUri"])
        kept = await asyncio.to_thread(Path(notes.removeprefix("file://")).read_text, "utf-8")
        assert kept.endswith(answer), name
