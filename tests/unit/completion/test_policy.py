"""When a completion request may go to the relay (the typing rhythm), and what the cache answers
in editors that close brackets: pure, on a fake clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpt_lsp.completion.cache import SuggestionCache
from gpt_lsp.completion.policy import Rhythm

REPO = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def typed(rhythm: Rhythm, clock: Clock, gaps: list[float], uri: str = "u") -> None:
    """Changes of a document `gaps` seconds apart (the first at the clock's time)."""
    rhythm.changed(uri)
    for gap in gaps:
        clock.now += gap
        rhythm.changed(uri)


def test_a_request_after_a_pause_waits_nothing_and_one_while_typing_waits_the_rest() -> None:
    clock = Clock()
    rhythm = Rhythm(clock)
    assert rhythm.wait("u", 0.15) == 0  # nothing changed yet: a request is answered at once
    typed(rhythm, clock, [0.12] * 8)
    assert rhythm.quiet(0.15) == pytest.approx(0.3)  # 2.5 times the usual gap
    clock.now += 0.05
    assert rhythm.wait("u", 0.15) == pytest.approx(0.25)  # still typing: whatever the trigger
    clock.now += 0.26
    assert rhythm.wait("u", 0.15) == 0  # stopped
    assert rhythm.wait("other", 0.15) == 0  # another document's typing does not hold it


def test_the_quiet_time_follows_the_users_rhythm_within_the_floor_and_the_cap() -> None:
    clock = Clock()
    rhythm = Rhythm(clock)
    assert rhythm.quiet(0.15) == pytest.approx(2.5 * Rhythm.PRIOR)  # before a few gaps
    typed(rhythm, clock, [0.04] * 16)  # a fast typist: the floor (debounceMs) holds
    assert rhythm.quiet(0.15) == pytest.approx(0.15)
    typed(rhythm, clock, [0.4] * 16)  # a slow one: capped
    assert rhythm.quiet(0.15) == pytest.approx(Rhythm.CAP)
    assert rhythm.quiet(0.8) == pytest.approx(0.8)  # a floor above the cap is kept
    assert rhythm.quiet(0) == 0  # debounceMs 0: never wait
    assert rhythm.wait("u", 0) == 0


def test_pauses_split_edits_and_job_edits_are_not_part_of_the_rhythm() -> None:
    clock = Clock()
    rhythm = Rhythm(clock)
    typed(rhythm, clock, [0.1] * 6)
    typed(rhythm, clock, [5.0, 0.005, 0.001, 3.0])  # pauses, one edit in three parts
    for _ in range(10):  # a job streaming its edits into the document
        clock.now += 0.03
        rhythm.changed("u", typing=False)
    assert rhythm.quiet(0.15) == pytest.approx(0.25)
    assert rhythm.wait("u", 0.15) == pytest.approx(0.25)  # but they are changes all the same


def test_a_cursor_moving_without_changes_holds_requests_too() -> None:
    clock = Clock()
    rhythm = Rhythm(clock)
    rhythm.touched("u")  # a request came while the older still ran: the cursor moves
    assert rhythm.wait("u", 0.15) == pytest.approx(0.3125)
    clock.now += 1
    rhythm.changed("u")
    clock.now += 0.1
    rhythm.touched("u")
    rhythm.changed("u")  # the gap is measured from the last change, not the touch
    assert rhythm.quiet(0.15) == pytest.approx(2.5 * Rhythm.PRIOR)


def test_the_rhythm_remembers_a_bounded_number_of_documents() -> None:
    clock = Clock()
    rhythm = Rhythm(clock)
    for number in range(Rhythm.DOCUMENTS + 10):
        rhythm.changed(f"doc{number}")
    assert rhythm.wait("doc0", 0.15) == 0  # forgotten: the oldest go first
    assert rhythm.wait(f"doc{Rhythm.DOCUMENTS + 9}", 0.15) > 0
    rhythm.forget(f"doc{Rhythm.DOCUMENTS + 9}")
    assert rhythm.wait(f"doc{Rhythm.DOCUMENTS + 9}", 0.15) == 0


def test_typing_through_with_brackets_the_editor_closed_answers_the_rest_before_them() -> None:
    cache = SuggestionCache(clock=Clock())
    cache.put("u", "x = ", "\n", "max(abs(a), b)")
    assert cache.get("u", "x = max(", ")\n") == "abs(a), b"  # "(" typed, ")" added
    assert cache.get("u", "x = max(abs(", "))\n") == "a"
    assert cache.get("u", "x = max(abs(a)", ")\n") == ", b"  # typed over the inner ")"
    assert cache.get("u", "x = max(abs(a), b", ")\n") == ""  # only the closer was left
    assert cache.get("u", "x = max(", "]\n") is None  # not the bracket it opened
    assert cache.get("u", "x = max(", ") + 1\n") is None  # the text after changed otherwise
    assert cache.get("u", "x = ", ")\n") is None  # no bracket typed: not its place


LAZY = """
import asyncio, sys
from lsprotocol import types
from gpt_lsp.lsp.server import create_server

async def main():
    server = create_server()
    options = {"baseUrl": "http://127.0.0.1:9/v1"}
    init = types.InitializeParams(types.ClientCapabilities(), initialization_options=options)
    steps = server.protocol.lsp_initialize(init)  # pygls yields the server's own handler
    handler, args, _ = next(steps)
    handler(*args)
    for _ in steps:
        pass
    item = types.TextDocumentItem(uri="file:///a.py", language_id="python", version=1, text="x\\n")
    server.did_open(types.DidOpenTextDocumentParams(text_document=item))
    where = types.VersionedTextDocumentIdentifier(uri=item.uri, version=2)
    change = types.TextDocumentContentChangeWholeDocument(text="x = \\n")
    server.did_change(types.DidChangeTextDocumentParams(where, [change]))
    at = types.Position(line=0, character=4)
    features = server.protocol.fm.features
    context = types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic)
    await features[types.TEXT_DOCUMENT_INLINE_COMPLETION](
        types.InlineCompletionParams(context, where, at)
    )
    await features[types.TEXT_DOCUMENT_COMPLETION](types.CompletionParams(where, at))
    counts = server.session.status()["completion"]
    loaded = sorted(m for m in sys.modules if m.startswith("gpt_lsp.completion"))
    print(counts["enabled"], counts["requests"], loaded)

asyncio.run(main())
"""


def test_completion_loads_nothing_while_it_is_off() -> None:
    """Helix asks textDocument/completion at every pause, editors show gptLsp.status: with
    completion off none of it builds the service or loads its modules."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "GPT_LSP_CONFIG": os.devnull}
    done = subprocess.run(
        [sys.executable, "-c", LAZY], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [
        "False",
        "0",
        "['gpt_lsp.completion',",
        "'gpt_lsp.completion.counts']",
    ]


def test_a_stop_inside_a_word_waits_longer_than_one_after_it() -> None:
    # The typing bench's early hesitation: 0.33 s after "de" (before "f"), with only a gap
    # or two known; 2.5 times the prior gap (0.31 s) sent a request the next key made stale.
    clock = Clock()
    rhythm = Rhythm(clock)
    typed(rhythm, clock, [0.106])
    clock.now += 0.326
    assert rhythm.wait("u", 0.15, in_word=True) > 0  # "de|": still waiting when "f" comes
    assert rhythm.wait("u", 0.15) == 0  # "def |": the same stop after a word asks
    typed(rhythm, clock, [0.12] * 8)
    assert rhythm.quiet(0.15, in_word=True) == pytest.approx(0.45)  # 1.5 times 0.3
    assert rhythm.quiet(0.15, in_word=True) <= Rhythm.CAP  # capped all the same


def test_the_cursor_is_in_a_word_after_a_letter_digit_or_underscore() -> None:
    from gpt_lsp.completion.context import CompletionContext

    def at(before: str) -> bool:
        return CompletionContext("u", "python", 0, len(before), before, "", "\n").in_word

    assert at("de") and at("x_") and at("value2") and at("名")
    assert not at("def ") and not at("len(") and not at("    ") and not at("")
