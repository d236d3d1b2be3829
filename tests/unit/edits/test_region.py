"""A job's region corrected while streaming: a Rewrite replaces what it wrote, one job still."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.edits.region import JobRegion
from gpt_lsp.text.regions import Encoding, Pos, Span
from tests.fakes.channel import PROFILES, FakeEditor, position

Step = tuple[bool, str]  # (a rewrite?, text)


def test_a_rewrite_before_the_first_edit_is_the_first_edit() -> None:
    region = JobRegion("job", Span(Pos(0, 0), Pos(1, 0)), "x\n")
    region.write("prose ")
    region.rewrite("code")
    region.write("!")
    assert region.next_edit() == ("first", Span(Pos(0, 0), Pos(1, 0)), "code!")
    assert region.is_idle()


def test_a_lost_rewrite_is_sent_again_and_a_newer_one_wins() -> None:
    region = JobRegion("job", Span(Pos(0, 0), Pos(0, 0)), "", replaced=True)
    region.rewrite("a")
    assert region.next_edit() == ("rewrite", Span(Pos(0, 0), Pos(0, 0)), "a")
    region.write("b")
    region.lose("rewrite", "a")
    assert region.next_edit() == ("rewrite", Span(Pos(0, 0), Pos(0, 0)), "ab")
    region.rewrite("c")
    region.lose("append", "zzz")  # an older append lost: the newer rewrite covers it
    assert region.next_edit() == ("rewrite", Span(Pos(0, 0), Pos(0, 0)), "c")


async def rewrites_and_typing(
    profile: str, encoding: Encoding, steps: list[Step], typed: list[str], seed: int
) -> None:
    """Streams `steps` into a region while the user types `typed` above it; checks the
    region's text, the typing, and the restore."""
    rng = random.Random(seed)
    above, original, below = "top\n", "OLD\n", "end\n"
    editor = FakeEditor(above + original + below, profile, encoding)
    start = position(editor.text, len(above), encoding)
    end = position(editor.text, len(above) + len(original), encoding)
    region = JobRegion("job", Span(start, end), original)
    editor.channel.add(region)
    expected = ""
    typing = list(typed)
    for rewrite, text in steps:
        if rewrite:
            region.rewrite(text)
            expected = text
        else:
            region.write(text)
            expected += text
        editor.channel.poke()
        await asyncio.sleep(rng.random() * 0.004)
        if typing:
            editor.replace(0, 0, typing.pop())  # the user types above the region
    await asyncio.wait_for(editor.channel.wait_idle(region), 5)
    editor.flush()
    assert not region.conflict
    assert editor.text.endswith(expected + below)
    assert editor.doc.source == editor.text
    assert editor.doc.text_in(region.span, encoding) == expected or (
        not region.replaced and expected == ""
    )
    region.restore_wanted = True
    await asyncio.wait_for(editor.channel.wait_idle(region), 5)
    editor.flush()
    assert editor.text.endswith("top\n" + original + below)  # byte-exact


@pytest.mark.parametrize(("profile", "encoding"), PROFILES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.text(alphabet="ab\n中😀", max_size=5)), min_size=1, max_size=8
    ),
    typed=st.lists(st.text(alphabet="xy\n", min_size=1, max_size=3), max_size=4),
    seed=st.integers(0, 10**6),
)
def test_rewrites_land_as_the_filter_meant_and_typing_outside_is_kept(
    profile: str, encoding: Encoding, steps: list[Step], typed: list[str], seed: int
) -> None:
    scenario = rewrites_and_typing(profile, encoding, steps, typed, seed)
    asyncio.run(asyncio.wait_for(scenario, 20))


@pytest.mark.parametrize(
    "steps",
    [
        [(False, "\n\n"), (True, "a")],  # the rewrite covers the region's two lines
        [(False, "a\na"), (True, "")],  # ... or its first line's break
    ],
)
def test_a_rewrite_coc_put_above_the_region_after_typing_is_undone_and_the_job_goes_on(
    steps: list[Step],
) -> None:
    # coc.nvim applies the rewrite at its stale lines, one line up after the line break typed
    # above: it covers the region's first line and the line above it. Its undo puts the
    # region's start back; the job is no conflict (it used to be, as if the user typed there).
    scenario = rewrites_and_typing("coc", "utf-16", steps, ["\n"], 0)
    asyncio.run(asyncio.wait_for(scenario, 20))
