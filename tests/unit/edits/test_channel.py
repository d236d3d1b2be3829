"""The edit channel against the shared editor fake (tests/fakes/editor.py): many interleavings
of streaming and typing (above, below and right beside the region), in every profile: VS Code,
Neovim (a stale edit skipped yet answered applied), eglot and coc.nvim (the user's typing
reported before an edit applied on top of it), for code jobs and for notes (appends only)."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.edits.region import JobRegion
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Pos, Span
from tests.fakes import editor as fake
from tests.fakes.channel import PROFILES, FakeEditor, position

words = st.text(alphabet=st.sampled_from(list("ab \n中文😀é")), min_size=0, max_size=6)


Typing = tuple[bool, float, str, str]  # (above?, where in that part, "ins" or "del", text)


def reported_past_the_region(profile: str, old: str, new: str, start: int) -> bool:
    """True when the editor reports a change made above the region (at its start, or in text
    that repeats the region's) past the region's start: an editor reporting the minimal diff
    slides it rightwards, over a region whose text it repeats. Typing there leaves the same
    text as typing inside the region (`文` typed before `文文x`) or below it; no one can tell
    them apart."""
    if fake.PROFILES[profile].report != "lines":
        return False  # the user's changes are reported where they were made
    reported = fake.offset_of(old, fake.minimal_diff(old, new, "utf-32")[0], "utf-32")
    return reported > start


async def typing_beside_a_stream(
    profile: str,
    encoding: Encoding,
    prefix: str,
    original: str,
    suffix: str,
    chunks: list[str],
    typing: list[Typing],
    seed: int,
    notes: bool,
) -> None:
    """Streams `chunks` into a region while the user types above and below it; checks that
    the typing is kept and the answer lands whole, in the editor and in the server's copy."""
    if notes:  # an explain job: appends to the end of its notes document
        prefix, original, suffix = prefix + original + suffix, "", ""
    rng = random.Random(seed)
    editor = FakeEditor(prefix + original + suffix, profile, encoding)
    start = position(editor.text, len(prefix), encoding)
    end = position(editor.text, len(prefix) + len(original), encoding)
    tracked = JobRegion("job", Span(start, end), original, replaced=notes)
    editor.channel.add(tracked)
    above, below = prefix, suffix
    pending_typing = list(typing)
    for chunk in chunks:
        tracked.write(chunk)
        editor.channel.poke()
        await asyncio.sleep(rng.random() * 0.004)
        # While an edit misplaced at a stale position is on screen (until its undo lands),
        # where the user types in the text around it has no single expected outcome.
        if pending_typing and not editor.channel.repairs:
            in_above, where, kind, text = pending_typing.pop()
            part = above if in_above else below
            at = int(where * len(part))
            if not in_above and at == 0 and len(editor.text) == len(above) + len(below):
                # At an empty region's point, typing counts as above it (text/regions.py).
                in_above, part, at = True, above, len(above)
            removed = 1 if kind == "del" and at < len(part) else 0
            inserted = text if kind == "ins" else ""
            base = 0 if in_above else len(editor.text) - len(below)
            old = editor.text
            new = old[: base + at] + inserted + old[base + at + removed :]
            if in_above and reported_past_the_region(profile, old, new, len(above)):
                continue  # no single expected outcome (see test_typing_reported_past_...)
            editor.replace(base + at, base + at + removed, inserted)
            new_part = part[:at] + inserted + part[at + removed :]
            if in_above:
                above = new_part
            else:
                below = new_part
    await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
    editor.flush()
    assert not tracked.conflict
    assert editor.text == above + "".join(chunks) + below
    # The server's copy agrees with the editor's, and the region is exactly the answer.
    assert editor.doc.source == editor.text
    assert editor.doc.text_in(tracked.span, encoding) == "".join(chunks)


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=words,
    original=words,
    suffix=words,
    chunks=st.lists(
        st.text(alphabet=st.sampled_from(list("xy\n文😀")), min_size=1, max_size=4),
        min_size=1,
        max_size=8,
    ),
    typing=st.lists(
        st.tuples(st.booleans(), st.floats(0, 1), st.sampled_from(["ins", "del"]), words),
        max_size=8,
    ),
    seed=st.integers(0, 10**6),
    notes=st.booleans(),
)
def test_typing_outside_the_region_is_kept_and_the_answer_lands_whole(
    profile: str,
    encoding: Encoding,
    prefix: str,
    original: str,
    suffix: str,
    chunks: list[str],
    typing: list[Typing],
    seed: int,
    notes: bool,
) -> None:
    scenario = typing_beside_a_stream(
        profile, encoding, prefix, original, suffix, chunks, typing, seed, notes
    )
    asyncio.run(asyncio.wait_for(scenario, 20))


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
def test_typing_reported_past_the_region_is_kept_and_the_answer_lands_whole(
    profile: str, encoding: Encoding
) -> None:
    # A line break typed right above a region holding a line break: Neovim, eglot and coc
    # report it past the region (the minimal diff), which is the same text as typing it
    # below. Either way the typing is kept and the region is exactly the answer.
    async def scenario() -> None:
        editor = FakeEditor("", profile, encoding)
        tracked = JobRegion("job", Span(Pos(0, 0), Pos(0, 0)), "")
        editor.channel.add(tracked)
        tracked.write("\n")
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()
        editor.replace(0, 0, "\n")
        editor.flush()
        tracked.write("x")
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()
        assert not tracked.conflict
        assert editor.text in ("\n\nx", "\nx\n")  # the typing above or below the answer
        assert editor.doc.source == editor.text
        assert editor.doc.text_in(tracked.span, encoding) == "\nx"

    asyncio.run(asyncio.wait_for(scenario(), 10))


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
def test_typing_inside_the_region_is_a_conflict(profile: str, encoding: Encoding) -> None:
    async def scenario() -> None:
        editor = FakeEditor("a\nOLD\nb\n", profile, encoding)
        tracked = JobRegion("job", Span(Pos(1, 0), Pos(2, 0)), "OLD\n")
        conflicts: list[bool] = []
        tracked.on_conflict = lambda: conflicts.append(True)
        editor.channel.add(tracked)
        tracked.write("new line\n")
        editor.channel.poke()
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()
        editor.replace(4, 4, "USER")  # inside "new line", after "ne"
        editor.flush()
        tracked.write("more\n")
        editor.channel.poke()
        await asyncio.sleep(0.05)
        assert conflicts == [True]
        assert editor.text == "a\nneUSERw line\nb\n"  # nothing of ours after the conflict

    asyncio.run(asyncio.wait_for(scenario(), 10))


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
def test_restore_puts_back_the_original(profile: str, encoding: Encoding) -> None:
    async def scenario() -> None:
        original = "中文 😀\r\n"
        editor = FakeEditor(f"x\r\n{original}y\r\n", profile, encoding)
        start = Pos(1, 0)
        tracked = JobRegion("job", Span(start, Pos(2, 0)), original)
        editor.channel.add(tracked)
        for piece in ["new ", "text\r\n", "more 😀\r\n"]:
            tracked.write(piece)
            editor.channel.poke()
            await asyncio.sleep(0.003)
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        tracked.restore_wanted = True
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()
        assert tracked.restored
        assert editor.text == f"x\r\n{original}y\r\n"

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_batching_sends_few_edits_for_many_chunks() -> None:
    async def scenario() -> None:
        editor = FakeEditor("x\n", "vscode", "utf-16")
        editor.channel.interval = 0.03
        tracked = JobRegion("job", Span(Pos(0, 0), Pos(1, 0)), "x\n")
        editor.channel.add(tracked)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(300):  # one chunk per ms for ~0.3 s
            tracked.write("a")
            editor.channel.poke()
            await asyncio.sleep(0.001)
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        duration = loop.time() - started
        assert editor.text == "a" * 300
        assert 2 <= editor.channel.edits_sent <= duration / 0.03 + 3

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_slide_out_finds_the_form_of_a_change_beside_the_region() -> None:
    from gpt_lsp.text.changes import slide_out

    doc = TextDoc("file:///s.py", "\n\nab\n", 1, "python")
    region = Span(Pos(1, 0), Pos(2, 0))  # the second "\n"
    # Deleting the first "\n" reported as deleting the second one (a minimal diff).
    moved = slide_out(doc, Span(Pos(1, 0), Pos(2, 0)), "", region, "utf-16")
    assert moved == (Span(Pos(0, 0), Pos(1, 0)), "")
    # Typing "a" right before a region that starts with "a", reported one character late.
    region = Span(Pos(2, 0), Pos(2, 2))
    moved = slide_out(doc, Span(Pos(2, 1), Pos(2, 1)), "a", region, "utf-16")
    assert moved == (Span(Pos(2, 0), Pos(2, 0)), "a")
    # A change really inside has no outside form.
    assert slide_out(doc, Span(Pos(2, 1), Pos(2, 1)), "x", region, "utf-16") is None


def test_a_version_0_edit_applied_after_typing_is_undone_and_the_job_goes_on() -> None:
    async def scenario() -> None:
        editor = FakeEditor("a\nOLD\nb\n", "neovim", "utf-8", version=0)
        tracked = JobRegion("job", Span(Pos(1, 0), Pos(2, 0)), "OLD\n")
        stopped: list[bool] = []
        tracked.on_conflict = lambda: stopped.append(True)
        editor.channel.add(tracked)

        def user_types_above() -> None:
            editor.before_apply = None
            editor.replace(0, 0, "typed\n")  # not yet reported (debounced)

        editor.before_apply = user_types_above
        tracked.write("NEW\n")
        editor.channel.poke()
        # Neovim applies our edit unchecked at the old line 1 ("a"), then reports the user's
        # change and ours in one batch; the server undoes it and writes at the right place.
        for _ in range(100):
            await asyncio.sleep(0.01)
            editor.flush()
            if tracked.is_idle() and not editor.channel.repairs and not editor.pending:
                break
        assert stopped == []
        assert editor.text == "typed\na\nNEW\nb\n"
        assert editor.doc.text_in(tracked.span, "utf-8") == "NEW\n"

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_an_append_reported_with_an_end_past_the_last_line_is_ours() -> None:
    # Some clients put the document's end one line past its last line (a notes document).
    from gpt_lsp.text.changes import matching_prefix

    doc = TextDoc("file:///n.md", "# Notes\n\nfirst", 1, "markdown")
    ours = Span(Pos(2, 5), Pos(2, 5))
    reported = [(Span(Pos(2, 0), Pos(3, 0)), "first line\n")]
    assert matching_prefix(doc, reported, ours, " line\n", "utf-16") == 1


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
def test_a_job_writing_over_a_pending_job_is_no_undo_of_it(
    profile: str, encoding: Encoding
) -> None:
    # A job started over a pending job's line: its first edit left the pending region showing
    # a text that job wrote earlier. It was taken as the user's undo landing between the
    # pending job's states, and the pending job's original was written back over the new
    # job's text (tests/e2e/test_resources.py, under load: the grace before the verdict ran
    # out before the new job's next edit).
    async def scenario() -> None:
        editor = FakeEditor("x = 1\n", profile, encoding)
        line = Span(Pos(0, 0), Pos(1, 0))
        pending = JobRegion("a", line, "x = 1\n")
        editor.channel.add(pending)
        for piece in ["x = ", "1\n"]:
            pending.write(piece)
            await asyncio.wait_for(editor.channel.wait_idle(pending), 5)
            editor.flush()
        pending.reviewing = True
        verdicts: list[str] = []
        pending.on_review_change = verdicts.append
        new = JobRegion("b", line, "x = 1\n")
        editor.channel.add(new)
        new.write("x = ")
        await asyncio.wait_for(editor.channel.wait_idle(new), 5)
        editor.flush()
        assert verdicts == []  # the new job's edit is no change of the user's
        new.write("1\n")
        await asyncio.wait_for(editor.channel.wait_idle(new), 5)
        editor.flush()
        assert verdicts == []
        assert not new.conflict
        # The pending job can no longer be taken back on its own: its text is the new job's
        # original, and putting its own original back would write over the new job's text.
        pending.restore_wanted = True
        await asyncio.wait_for(editor.channel.wait_idle(pending), 5)
        editor.flush()
        assert editor.text == "x = 1\n" and not pending.restored
        assert editor.doc.source == editor.text
        assert editor.doc.text_in(new.span, encoding) == "x = 1\n"

    asyncio.run(asyncio.wait_for(scenario(), 10))


@pytest.mark.parametrize("original", ["", "x"])
@pytest.mark.parametrize("profile", ["vscode", "eglot", "coc"])
def test_the_users_insertion_like_the_edit_in_flight_is_kept_and_the_edit_written(
    profile: str, original: str
) -> None:
    # The user types, at the region's end, the very text of the edit in flight, just before
    # the editor gets the edit: the change looks like ours and was taken for it; VS Code and
    # eglot then refused the edit (its version was stale), and the answer lost that text.
    # (Neovim skips such an edit yet answers applied: nothing tells the two apart there.)
    async def scenario() -> None:
        editor = FakeEditor(f"top\n{original}", profile, "utf-16")
        tracked = JobRegion("job", Span(Pos(1, 0), Pos(1, len(original))), original)
        editor.channel.add(tracked)
        if original:
            tracked.write("x")
            await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)

        def user_types_the_same() -> None:
            editor.before_apply = None
            editor.replace(len(editor.text), len(editor.text), "y")

        editor.before_apply = user_types_the_same
        tracked.write("y")
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        # After a region's end, the typing is below it; at an empty region, above it.
        assert editor.text == ("top\nxyy" if original else "top\nyy")
        assert editor.doc.source == editor.text
        assert editor.doc.text_in(tracked.span, "utf-16") == ("xy" if original else "y")
        assert not tracked.conflict

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_after_neovim_skipped_the_edit_the_users_same_insertion_is_theirs() -> None:
    # The user typed below, then, at the region's end, the very text of the edit in flight:
    # Neovim skipped the edit (its version was stale) yet answered applied, then reported
    # both changes. The second was taken for the edit, and the answer lost that text.
    async def scenario() -> None:
        editor = FakeEditor("top\nx\nend\n", "neovim", "utf-8")
        tracked = JobRegion("job", Span(Pos(1, 0), Pos(2, 0)), "x\n")
        editor.channel.add(tracked)
        tracked.write("a\n")
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        editor.flush()

        def user_types() -> None:
            editor.before_apply = None
            editor.replace(len(editor.text), len(editor.text), "END")
            editor.replace(len("top\na\n"), len("top\na\n"), "b\n")  # at the region's end

        editor.before_apply = user_types
        tracked.write("b\n")
        editor.channel.poke()
        for _ in range(200):  # Neovim reports after its debounce
            await asyncio.sleep(0.01)
            editor.flush()
            if tracked.is_idle() and not editor.pending:
                break
        assert editor.text == "top\na\nb\nb\nend\nEND"
        assert editor.doc.source == editor.text
        assert editor.doc.text_in(tracked.span, "utf-8") == "a\nb\n"

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_typing_at_an_empty_regions_point_counts_as_above_it() -> None:
    # Found by hypothesis (coc.nvim): "a" typed where the empty region is, while its first
    # edit was in flight. The test took it for typing below the region; the rule puts it
    # above (text/regions.py: an insertion at the region's start pushes it), so the answer
    # lands after it, in every profile.
    typing: list[Typing] = [(False, 0.0, "ins", "a")]
    scenario = typing_beside_a_stream("coc", "utf-16", "", "", "", ["x"], typing, 139, False)
    asyncio.run(asyncio.wait_for(scenario, 20))
