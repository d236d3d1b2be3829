"""A job's region corrected while streaming: a Rewrite replaces what it wrote, one job still."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.edits.region import JobRegion
from gpt_lsp.text.regions import Encoding, Pos, Span
from tests.unit.test_channel import PROFILES, FakeEditor, position

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
    async def scenario() -> None:
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

    asyncio.run(asyncio.wait_for(scenario(), 20))
