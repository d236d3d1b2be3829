"""Jobs addressed by position: the server's rule for which job accept/reject/cancel mean, the
actions `gptLsp.status` lists for the shims, and the `summary` line of `gptLsp/jobFinished`.

Two functions in one document, a job on each (`one` first, so `two` is the most recent).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, position_of
from tests.relay_sim import RelaySim, Scenario

ONE = "def one():\n    return 1\n"
TWO = "def two():\n    return 2\n"
SOURCE = f"{ONE}\n\n{TWO}\n\nprint(one() + two())\n"
NEW_ONE = "def one():\n    return 10\n"
NEW_TWO = "def two():\n    return 20\n"
# Slow answers (about 6 s each), a line every 60 ms.
SLOW_ONE = Scenario(text="a = 1\n" * 100, chunk_size=2, pace=0.02)
SLOW_TWO = Scenario(text="b = 2\n" * 100, chunk_size=2, pace=0.02)
ELSEWHERE = "file:///tmp/gpt-lsp-e2e/not-open.py"


def pos(editor: Editor, text: str, needle: str, after: int = 0) -> dict[str, int]:
    """The LSP position `after` characters into the first occurrence of `needle`."""
    p = position_of(text, text.index(needle) + after, editor.encoding)
    return {"line": p.line, "character": p.character}


def span(editor: Editor, text: str, part: str) -> dict[str, Any]:
    return {"start": pos(editor, text, part), "end": pos(editor, text, part, len(part))}


async def start_both(editor: Editor, uri: str) -> tuple[str, str]:
    """A job on `one`, then one on `two`; returns their ids."""
    ids = []
    for part in (ONE, TWO):
        argument = {"action": "refactor", "uri": uri, "range": span(editor, SOURCE, part)}
        ids.append(str((await editor.command("gptLsp.run", argument))["jobId"]))
    return ids[0], ids[1]


async def both_pending(editor: Editor, relay_sim: RelaySim, name: str) -> tuple[str, str, str]:
    """Two finished (still reviewable) jobs; returns the uri and their ids."""
    relay_sim.enqueue(Scenario(text=NEW_ONE), Scenario(text=NEW_TWO))
    uri = editor.open(name, SOURCE)
    a, b = await start_both(editor, uri)
    for job in (a, b):
        assert (await editor.wait_finished(job))["status"] == "done"
    assert editor.text(uri) == SOURCE.replace(ONE, NEW_ONE).replace(TWO, NEW_TWO)
    return uri, a, b


async def both_running(editor: Editor, relay_sim: RelaySim, name: str) -> tuple[str, str, str]:
    """Two streaming jobs; returns the uri and their ids once both regions show text."""
    relay_sim.enqueue(SLOW_ONE, SLOW_TWO)
    uri = editor.open(name, SOURCE)
    a, b = await start_both(editor, uri)
    await editor.wait_until(lambda: "a = 1\n" in editor.text(uri) and "b = 2\n" in editor.text(uri))
    return uri, a, b


async def fresh_text(editor: Editor, uri: str) -> str:
    """The text right after the next streamed edit: positions taken from it reach the server
    long before its next edit moves the regions (one every ~60 ms)."""
    before = editor.text(uri)
    await editor.wait_until(lambda: editor.text(uri) != before)
    return editor.text(uri)


def finished_ids(editor: Editor) -> set[str]:
    return {str(f["jobId"]) for f in editor.finished}


@pytest.mark.parametrize("inside", ["one", "two"])
async def test_a_position_inside_a_region_picks_that_job(
    editor: Editor, relay_sim: RelaySim, inside: str
) -> None:
    uri, _, _ = await both_pending(editor, relay_sim, f"inside-{inside}.py")
    text = editor.text(uri)
    mine, other = ("return 10", "return 20") if inside == "one" else ("return 20", "return 10")
    here = pos(editor, text, mine, 3)
    assert (await editor.command("gptLsp.reject", {"uri": uri, "position": here}))["ok"] is True
    # Only that job's original came back (`one` is the older job, `two` the most recent).
    kept = (TWO, NEW_TWO) if inside == "one" else (ONE, NEW_ONE)
    expected = SOURCE.replace(*kept)
    await editor.wait_until(lambda: editor.text(uri) == expected)
    # The other job is still pending: a position inside it accepts it.
    there = pos(editor, expected, other)
    assert (await editor.command("gptLsp.accept", {"uri": uri, "position": there}))["ok"] is True
    # Nothing is left to review in the document.
    assert (await editor.command("gptLsp.reject", {"uri": uri, "position": there}))["ok"] is False
    assert editor.text(uri) == expected


async def test_a_position_outside_every_region_picks_the_most_recent_job(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, _, _ = await both_pending(editor, relay_sim, "outside.py")
    text = editor.text(uri)
    outside = pos(editor, text, "print(")
    assert (await editor.command("gptLsp.reject", {"uri": uri, "position": outside}))["ok"] is True
    after_two = SOURCE.replace(ONE, NEW_ONE)
    await editor.wait_until(lambda: editor.text(uri) == after_two)
    # `{uri}` alone is a position outside: the most recent job left is `one`.
    assert (await editor.command("gptLsp.reject", {"uri": uri}))["ok"] is True
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    assert (await editor.command("gptLsp.reject", {"uri": uri}))["ok"] is False
    assert (await editor.command("gptLsp.accept", {"uri": uri, "position": outside}))["ok"] is False


async def test_cancel_by_position_stops_one_job_never_all(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, a, b = await both_running(editor, relay_sim, "cancel.py")
    # Inside `one`'s region (the older job): only it stops.
    inside_a = {"line": 0, "character": 1}  # the start of `one`'s region never moves
    assert (await editor.command("gptLsp.cancel", {"uri": uri, "position": inside_a}))["ok"]
    assert (await editor.wait_finished(a))["status"] == "cancelled"
    assert b not in finished_ids(editor), editor.finished
    await editor.wait_until(lambda: editor.text(uri).startswith(ONE))
    # Outside any region: the most recent running job, `two`.
    outside = pos(editor, await fresh_text(editor, uri), "print(")
    assert (await editor.command("gptLsp.cancel", {"uri": uri, "position": outside}))["ok"]
    assert (await editor.wait_finished(b))["status"] == "cancelled"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    # No running job left: the position form answers ok: false (it never means "all").
    assert (await editor.command("gptLsp.cancel", {"uri": uri, "position": outside}))["ok"] is False


async def test_a_position_form_cancels_one_job_and_an_empty_argument_every_job(
    editor: Editor, relay_sim: RelaySim
) -> None:
    relay_sim.enqueue(SLOW_ONE)
    other = editor.open("other.py", SOURCE)
    c = str(
        (
            await editor.command(
                "gptLsp.run",
                {"action": "refactor", "uri": other, "range": span(editor, SOURCE, ONE)},
            )
        )["jobId"]
    )
    uri, a, b = await both_running(editor, relay_sim, "all.py")
    outside = pos(editor, await fresh_text(editor, uri), "print(")
    assert (await editor.command("gptLsp.cancel", {"uri": uri, "position": outside}))["ok"]
    assert (await editor.wait_finished(b))["status"] == "cancelled"
    assert not {a, c} & finished_ids(editor)  # the other jobs still run
    # `{}` cancels every job, in every document.
    assert (await editor.command("gptLsp.cancel", {}))["ok"] is True
    for job in (a, c):
        assert (await editor.wait_finished(job))["status"] == "cancelled"
    await editor.wait_until(lambda: editor.text(uri) == SOURCE and editor.text(other) == SOURCE)


async def test_an_unknown_document_answers_not_ok_and_touches_nothing(
    editor: Editor, relay_sim: RelaySim
) -> None:
    uri, a, b = await both_pending(editor, relay_sim, "known.py")
    text = editor.text(uri)
    here = {"line": 1, "character": 4}
    for command in ("gptLsp.accept", "gptLsp.reject", "gptLsp.cancel"):
        for argument in ({"uri": ELSEWHERE, "position": here}, {"uri": ELSEWHERE}):
            assert (await editor.command(command, argument))["ok"] is False, (command, argument)
    assert editor.text(uri) == text
    # Both jobs are still pending in their own document.
    status = await editor.command("gptLsp.status")
    assert {j["jobId"]: j["status"] for j in status["jobs"]} == {a: "done", b: "done"}
    assert (await editor.command("gptLsp.reject", {"uri": uri, "position": here}))["ok"] is True


async def test_status_lists_the_actions_with_titles(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    actions = [
        {
            "id": "tests",
            "title": "Write tests",
            "prompt": "Tests for {selection}",
            "output": "insert",
        },
        {"id": "document", "title": "Docstrings", "prompt": "Docstrings for {selection}"},
    ]
    editor = await make_editor(relay_options(relay_sim, actions=actions))
    listed = (await editor.command("gptLsp.status"))["actions"]
    by_id = {a["id"]: a for a in listed}
    assert list(by_id)[:4] == ["refactor", "fix", "document", "explain"]
    assert by_id["refactor"] == {
        "id": "refactor",
        "title": "AI: Refactor",
        "kind": "refactor.rewrite",
        "output": "replace",
    }
    assert by_id["fix"]["kind"] == "quickfix"
    assert by_id["explain"]["output"] == "notes"
    # A user action is listed; one with a built-in id replaces it.
    assert by_id["tests"]["title"] == "AI: Write tests" and by_id["tests"]["output"] == "insert"
    assert by_id["document"]["title"] == "AI: Docstrings"
    assert all(a["title"].startswith("AI: ") for a in listed)


SUMMARY = re.compile(
    r"AI: Refactor: (?P<status>done|cancelled), (?P<tokens>~?\d+) tokens, \d+\.\d s"
    r"(?:, \$(?P<usd>\d+\.\d{4}) \((?P<quota>[\d,]+) quota\))?"
)


async def test_job_finished_carries_a_one_line_summary(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    options = relay_options(relay_sim)
    options["relays"] = {"default": {"prices": {"gpt-4": {"input": 30, "output": 60}}}}
    editor = await make_editor(options)
    relay_sim.enqueue(Scenario(text=NEW_ONE, usage="always"), SLOW_TWO)
    uri = editor.open("summary.py", SOURCE)
    a, b = await start_both(editor, uri)
    done = await editor.wait_finished(a)
    found = SUMMARY.fullmatch(done["summary"])
    assert found, done["summary"]
    assert found["status"] == "done"
    assert found["tokens"] == str(done["usage"]["totalTokens"])  # the relay's own count
    assert found["usd"] == f"{done['usage']['costUsd']:.4f}"
    assert int(found["quota"].replace(",", "")) == done["usage"]["quota"]
    await editor.wait_until(lambda: "b = 2\n" in editor.text(uri))
    assert (await editor.command("gptLsp.cancel", {"uri": uri}))["ok"] is True
    cancelled = await editor.wait_finished(b)
    assert "\n" not in cancelled["summary"]
    assert cancelled["summary"].startswith("AI: Refactor: cancelled, "), cancelled["summary"]
