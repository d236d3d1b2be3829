"""The edit channel against in-process fake editors: many interleavings of streaming and typing.

The fakes follow the two behaviours that matter (see tests/e2e/editor.py for the stdio twin):
VS Code refuses a stale versioned edit and reports each change at once; Neovim skips a stale
edit while answering applied: true, and reports changes debounced as a minimal diff.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.jobs.channel import DocumentChannel
from gpt_lsp.jobs.region import JobRegion
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Pos, Span, text_units


def position(text: str, offset: int, encoding: Encoding) -> Pos:
    head = text[:offset]
    line = head.count("\n")
    last = head[head.rfind("\n") + 1 :]
    return Pos(line, text_units(last, encoding))


def offset_of(text: str, pos: Pos, encoding: Encoding) -> int:
    lines = text.split("\n")
    base = sum(len(x) + 1 for x in lines[: pos.line])
    units = 0
    for index, char in enumerate(lines[pos.line]):
        if units >= pos.character:
            return base + index
        units += text_units(char, encoding)
    return base + len(lines[pos.line])


@dataclass
class FakeEditor:
    """An editor holding the text; the server side is `doc` + `channel`."""

    text: str
    profile: str
    encoding: Encoding
    version: int = 1
    pending: list[tuple[Span, str]] = field(default_factory=list)
    flush_handle: asyncio.TimerHandle | None = None
    before_apply: Any = None
    split_edits: bool = True
    applying: bool = False
    doc: TextDoc = field(init=False)
    channel: DocumentChannel = field(init=False)

    def __post_init__(self) -> None:
        self.doc = TextDoc("file:///t.py", self.text, self.version, "python")
        self.channel = DocumentChannel(self.doc, self.apply_edit, self.encoding, interval=0.002)

    async def apply_edit(self, uri: str, version: int, span: Span, text: str) -> bool:
        await asyncio.sleep(0)  # the round trip to the editor
        if self.before_apply is not None:
            self.before_apply()
        # Neovim checks versions only when they are above 0 (a buffer never changed).
        unchecked = self.profile == "neovim" and version == 0
        if version != self.version and not unchecked:
            return self.profile == "neovim"  # Neovim says applied, and did nothing
        start = offset_of(self.text, span.start, self.encoding)
        end = offset_of(self.text, span.end, self.encoding)
        self.applying = True
        try:
            self.replace(start, end, text)
        finally:
            self.applying = False
        return True

    def replace(self, start: int, end: int, text: str) -> None:
        old = self.text
        self.text = old[:start] + text + old[end:]
        self.version += 1
        if self.profile == "neovim":
            prefix = 0
            limit = min(len(old), len(self.text))
            while prefix < limit and old[prefix] == self.text[prefix]:
                prefix += 1
            suffix = 0
            while suffix < limit - prefix and old[-1 - suffix] == self.text[-1 - suffix]:
                suffix += 1
            span = Span(
                position(old, prefix, self.encoding),
                position(old, len(old) - suffix, self.encoding),
            )
            self.pending.append((span, self.text[prefix : len(self.text) - suffix]))
            if self.flush_handle is None:
                loop = asyncio.get_running_loop()
                self.flush_handle = loop.call_later(0.003, self.flush)
        elif self.split_edits and self.applying:
            # VS Code reports an applied edit as a character diff, in several changes, the
            # last first, after it answered applyEdit.
            changes = split_diff(old, self.text, self.encoding)
            asyncio.get_running_loop().call_soon(self.deliver, changes, self.version)
        else:
            span = Span(position(old, start, self.encoding), position(old, end, self.encoding))
            # In order with the edits' reports, which go out after their answers.
            asyncio.get_running_loop().call_soon(self.deliver, [(span, text)], self.version)

    def flush(self) -> None:
        self.flush_handle = None
        changes, self.pending = self.pending, []
        if changes:
            self.deliver(changes)

    def deliver(self, changes: list[tuple[Span, str]], version: int | None = None) -> None:
        """The server's didChange handler."""
        self.channel.apply_changes(list(changes), self.version if version is None else version)


def split_diff(old: str, new: str, encoding: Encoding) -> list[tuple[Span, str]]:
    """A character diff as separate changes, last first (each valid after the ones before)."""
    import difflib

    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    changes = []
    for tag, i1, i2, j1, j2 in reversed(ops):
        if tag == "equal":
            continue
        span = Span(position(old, i1, encoding), position(old, i2, encoding))
        changes.append((span, new[j1:j2]))
    return changes


PROFILES = [("vscode", "utf-16"), ("neovim", "utf-8")]
words = st.text(alphabet=st.sampled_from(list("ab \n中文😀é")), min_size=0, max_size=6)


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
)
def test_typing_outside_the_region_is_kept_and_the_answer_lands_whole(
    profile: str,
    encoding: Encoding,
    prefix: str,
    original: str,
    suffix: str,
    chunks: list[str],
    typing: list[tuple[bool, float, str, str]],
    seed: int,
) -> None:
    async def scenario() -> None:
        rng = random.Random(seed)
        editor = FakeEditor(prefix + original + suffix, profile, encoding)
        start = position(editor.text, len(prefix), encoding)
        end = position(editor.text, len(prefix) + len(original), encoding)
        tracked = JobRegion("job", Span(start, end), original)
        editor.channel.add(tracked)
        above, below = prefix, suffix
        pending_typing = list(typing)
        for chunk in chunks:
            tracked.write(chunk)
            editor.channel.poke()
            await asyncio.sleep(rng.random() * 0.004)
            if pending_typing:
                in_above, where, kind, text = pending_typing.pop()
                part = above if in_above else below
                at = int(where * len(part))
                removed = 1 if kind == "del" and at < len(part) else 0
                inserted = text if kind == "ins" else ""
                base = 0 if in_above else len(editor.text) - len(below)
                editor.replace(base + at, base + at + removed, inserted)
                new_part = part[:at] + inserted + part[at + removed :]
                if in_above:
                    above = new_part
                else:
                    below = new_part
        await asyncio.wait_for(editor.channel.wait_idle(tracked), 5)
        if profile == "neovim":
            editor.flush()
        assert not tracked.conflict
        assert editor.text == above + "".join(chunks) + below
        # The server's copy agrees with the editor's, and the region is exactly the answer.
        assert editor.doc.source == editor.text
        assert editor.doc.text_in(tracked.span, encoding) == "".join(chunks)

    asyncio.run(asyncio.wait_for(scenario(), 20))


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
        editor.flush() if profile == "neovim" else None
        editor.replace(4, 4, "USER")  # inside "new line", after "ne"
        if profile == "neovim":
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
        if profile == "neovim":
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
            if tracked.is_idle() and not editor.channel._repairs and not editor.pending:
                break
        assert stopped == []
        assert editor.text == "typed\na\nNEW\nb\n"
        assert editor.doc.text_in(tracked.span, "utf-8") == "NEW\n"

    asyncio.run(asyncio.wait_for(scenario(), 10))
