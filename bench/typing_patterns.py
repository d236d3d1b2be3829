"""Completion while typing (issue 22): a typing script with pauses, played in editors' request
patterns against a relay with a realistic pace; what the relay sees and bills, what the user
sees at each pause, and the server's memory beside a bare pygls server's. Each pattern asks
by the chat prompt; Helix's and Neovim's per-key also by fill-in-the-middle (`/completions`
with `suffix`, a relay that keeps it).

The baseline is measured in the same run: the server as it was before issue 22 (BASELINE,
extracted with `git archive` into a temporary folder first on the server's PYTHONPATH),
played in each pattern right before the current server, so both see the same machine."""

from __future__ import annotations

import asyncio
import io
import itertools
import math
import os
import random
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from bench.client import Editor, start_editor
from bench.common import BENCH, PYTHON, REPO, rss_mib, server_env
from bench.scenarios import Context, Report, _frame, _read_message, collect_stderr
from tests.relay_sim import Scenario
from tests.relay_sim.scenario import split_tokens
from tests.relay_sim.server import _prompt_chars

FIRST_TOKEN = 0.3  # seconds from the request to the relay's first token
PER_TOKEN = 0.02  # seconds between tokens (50 tokens/s)
RATE = 8.0  # typed characters per second, pauses aside
SEED = 22  # the same keystroke gaps in every run
WRONG_LINE = "\n    pass\n"  # what the simulated model guesses after the current line


def _function(n: int) -> str:
    return (
        f"def scale_{n}(items):\n"
        f'    """Each item times {n}, summed."""\n'
        "    total = 0\n"
        "    for item in items:\n"
        f"        total += item * {n}\n"
        "    return total\n"
        "\n"
    )


HEAD = "import math\n\n\n" + "".join(_function(n) for n in range(1, 5))  # 31 lines
TAIL = "\n\n" + "".join(_function(n) for n in range(5, 9)).rstrip("\n") + "\n"  # 30 lines
TYPED = (
    "def median(values):\n"
    "    ordered = sorted(values)\n"
    "    middle = len(ordered) // 2\n"
    "    return ordered[middle]"
)
ENTER = "\n    "  # one keystroke: Enter and the editor's indentation
# Pauses (> 500 ms) after this much of TYPED: before the name, at a new line, after "= ",
# at the next new line, inside a call.
PAUSES = {4: 0.9, 24: 1.0, 34: 0.8, 53: 1.2, 66: 0.8}


@dataclass(frozen=True)
class Key:
    """One keystroke: its text and the seconds before it."""

    text: str
    gap: float
    pause: bool  # the gap before it is one of PAUSES


def keystrokes() -> list[Key]:
    """TYPED as keystrokes: within a word ~100 ms apart, after a space or a sign ~170 ms
    (log-normal, seeded), scaled to RATE, with PAUSES."""
    rng = random.Random(SEED)
    pieces: list[str] = []
    index = 0
    while index < len(TYPED):
        step = len(ENTER) if TYPED.startswith(ENTER, index) else 1
        pieces.append(TYPED[index : index + step])
        index += step
    gaps, previous = [], ""
    for piece in pieces:
        word = previous[-1:].isalnum() or previous[-1:] == "_"
        median, sigma = (0.100, 0.3) if word else (0.170, 0.4)
        gaps.append(median * math.exp(rng.gauss(0, sigma)))
        previous = piece
    scale = (len(TYPED) / RATE) / sum(gaps)
    keys, typed = [], 0
    for piece, gap in zip(pieces, gaps, strict=True):
        pause = PAUSES.get(typed)
        keys.append(Key(piece, pause if pause else gap * scale, pause is not None))
        typed += len(piece)
    return keys


def model(body: dict[str, Any]) -> Scenario:
    """The simulated model: right about the rest of the cursor's line, wrong after it (the
    same by chat and by fill-in-the-middle)."""
    if isinstance(body.get("prompt"), str):
        before, hole = body["prompt"], "suffix" in body
    else:
        text = ""
        for message in body.get("messages") or []:
            text = str(message.get("content") or "")
        before, marker, _ = text.partition("<FILL>")
        before, hole = before.rpartition("<file>\n")[2], bool(marker)
    typed = len(before) - len(HEAD)
    if hole and before.startswith(HEAD) and 0 <= typed <= len(TYPED):
        answer = TYPED[typed:].split("\n", 1)[0] + WRONG_LINE
    else:
        answer = "pass\n"
    return Scenario(chunks=split_tokens(answer), pace=PER_TOKEN, first_byte_delay=FIRST_TOKEN)


@dataclass(frozen=True)
class Pattern:
    """How an editor asks for completions while the user types."""

    name: str
    inline: bool  # textDocument/inlineCompletion (else textDocument/completion)
    idle: float  # seconds without a keystroke before it asks (0: at each keystroke)
    cancel_previous: bool  # $/cancelRequest for its pending request at each keystroke
    one_at_a_time: bool  # no new request while one is pending
    fim: bool = False  # fill-in-the-middle (a relay that keeps `suffix`), else the chat prompt

    @property
    def base(self) -> str:
        """The request pattern's name (without how the relay is asked)."""
        return self.name.removesuffix(", fim")


PATTERNS = (
    # Helix: automatic requests as Invoked after completion-timeout (250 ms), none while
    # one is pending (helix-term/src/handlers/completion/request.rs).
    Pattern("helix", inline=False, idle=0.25, cancel_previous=False, one_at_a_time=True),
    # Neovim 0.12 as issue 22 models it: a request per keystroke, the previous cancelled.
    Pattern("nvim per key", inline=True, idle=0.0, cancel_previous=True, one_at_a_time=False),
    # Neovim 0.12's runtime here (vim/lsp/inline_completion.lua): 200 ms after the last
    # keystroke, an older request not cancelled.
    Pattern("nvim 0.12 runtime", inline=True, idle=0.2, cancel_previous=False, one_at_a_time=False),
    # The first two again, asking by fill-in-the-middle.
    Pattern(
        "helix, fim", inline=False, idle=0.25, cancel_previous=False, one_at_a_time=True, fim=True
    ),
    Pattern(
        "nvim per key, fim",
        inline=True,
        idle=0.0,
        cancel_previous=True,
        one_at_a_time=False,
        fim=True,
    ),
)
# main right before issue 22's part A: the baseline of its goal "billed tokens at most half".
BASELINE = "15392ca"
_ids = itertools.count(1)


@dataclass
class Asked:
    """One request of the editor."""

    sent: float
    keys: int  # keystrokes typed when it was sent
    answered: float | None = None
    text: str = ""


@dataclass
class Player:
    """Plays the keystrokes in one pattern and watches the answers."""

    ed: Editor
    uri: str
    pattern: Pattern
    keys: int = 0
    last_key: float = 0.0
    asked: list[Asked] = field(default_factory=list)
    pending: tuple[str, asyncio.Task[None]] | None = None
    timer: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def type(self, key: Key, line: int, character: int) -> None:
        at = types.Position(line=line, character=character)
        self.ed.change(self.uri, types.Range(start=at, end=at), key.text)
        self.keys += 1
        self.last_key = time.monotonic()
        await asyncio.sleep(0)  # the editor reports the change before it asks
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pattern.idle:
            self.timer = asyncio.get_running_loop().call_later(self.pattern.idle, self.ask)
        else:
            self.ask()

    def ask(self) -> None:
        self.timer = None
        pending = self.pending
        if pending is not None and not pending[1].done():
            if self.pattern.one_at_a_time:
                return
            if self.pattern.cancel_previous:
                self.ed.client.protocol.notify(
                    types.CANCEL_REQUEST, types.CancelParams(id=pending[0])
                )
        msg_id = f"typing-{next(_ids)}"
        task = asyncio.ensure_future(self._request(msg_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.pending = (msg_id, task)

    async def _request(self, msg_id: str) -> None:
        doc = self.ed.docs[self.uri]
        line, character = _cursor(doc.text)
        position = types.Position(line=line, character=character)
        document = types.TextDocumentIdentifier(uri=self.uri)
        asked = Asked(time.monotonic(), self.keys)
        self.asked.append(asked)
        params: Any
        if self.pattern.inline:
            method = types.TEXT_DOCUMENT_INLINE_COMPLETION
            params = types.InlineCompletionParams(
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
                text_document=document,
                position=position,
            )
        else:
            method = types.TEXT_DOCUMENT_COMPLETION
            params = types.CompletionParams(
                text_document=document,
                position=position,
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        try:
            async with asyncio.timeout(30):
                result = await self.ed.client.protocol.send_request_async(
                    method, params, msg_id=msg_id
                )
        except Exception:  # noqa: BLE001 - a cancelled request answers an error
            return
        asked.answered = time.monotonic()
        items = list(getattr(result, "items", None) or [])
        if items:
            first = items[0]
            edit = getattr(first, "text_edit", None)
            asked.text = str(getattr(first, "insert_text", None) or getattr(edit, "new_text", ""))

    def shown(self) -> Asked | None:
        """The suggestion on screen now: answered after the last keystroke, for it."""
        for asked in reversed(self.asked):
            if asked.keys == self.keys and asked.answered is not None and asked.text:
                return asked
        return None


def _cursor(text: str) -> tuple[int, int]:
    """The user's cursor: the end of what was typed (UTF-16 = characters here, ASCII)."""
    before = text[: len(text) - len(TAIL)]
    return before.count("\n"), len(before) - (before.rfind("\n") + 1)


async def play(
    ctx: Context, pattern: Pattern, report: Report, baseline: Path | None = None
) -> dict[str, Any]:
    """One run: a fresh server (the baseline's from its folder), the script typed once; the
    figures of the run."""
    ctx.sim.fim = "serve" if pattern.fim else None
    completion: dict[str, Any] = {"enabled": True}
    env_extra = dict(ctx.env_extra)
    if baseline is None:
        completion["fim"] = "auto" if pattern.fim else "off"
    else:  # it knows no `fim` (its settings reject unknown keys): the chat prompt
        env_extra["PYTHONPATH"] = f"{baseline}{os.pathsep}{REPO}"
    ed = await start_editor(
        ctx.tmp,
        ctx.sim.options(completion=completion),
        env_extra=env_extra,
        inline=pattern.inline,
    )
    try:
        uri = ed.open("stats.py", HEAD + TAIL)
        player = Player(ed, uri, pattern)
        first = len(ctx.sim.requests)
        pauses: list[dict[str, Any]] = []
        began = time.monotonic()
        clock = began + 0.5
        keys = keystrokes()
        for number, key in enumerate(keys):
            clock += key.gap
            if key.pause:
                await _sleep_until(clock)
                pauses.append(_at_pause(ctx, player, first))
            await _sleep_until(clock)
            line, character = _cursor(ed.docs[uri].text)
            await player.type(key, line, character)
            if number == len(keys) - 1:
                clock += 1.0  # the last answers come in
        await _sleep_until(clock)
        if player.tasks:
            await asyncio.wait(set(player.tasks), timeout=10)
        await asyncio.sleep(0.3)  # usage is recorded beside the answer
        counts = (await ed.command("gptLsp.status"))["completion"]
        relay = [r for r in ctx.sim.requests[first:] if r.path.endswith("/completions")]
        billed = sum(
            _prompt_chars(r.json) // 4 + len(ctx.sim.piece_times.get(r.index, [])) for r in relay
        )
        return {
            "chars": len(TYPED),
            "relay": len(relay),
            "fim": sum(not r.path.endswith("/chat/completions") for r in relay),
            "billed": billed,
            "stale": counts["cancelled"] + counts["dropped"],
            "pauses": pauses,
            "rss": rss_mib(ed.pid),
            "counts": counts,
            "asked": len(player.asked),
            "requests": [  # each relay request: when, its prompt's tokens, tokens written
                (
                    round((r.received_at or began) - began, 3),
                    _prompt_chars(r.json) // 4,
                    len(ctx.sim.piece_times.get(r.index, [])),
                )
                for r in relay
            ],
        }
    finally:
        collect_stderr(report, ed)
        await ed.stop()


def _at_pause(ctx: Context, player: Player, first: int) -> dict[str, Any]:
    """What the user sees at the end of a pause, and how long it took."""
    shown = player.shown()
    if shown is None or shown.answered is None:
        return {"shown": False}
    relay_time = None
    for rec in ctx.sim.requests[first:]:
        if rec.received_at is None or not shown.sent <= rec.received_at <= shown.answered:
            continue
        writes = [t for t in ctx.sim.write_times.get(rec.index, []) if t <= shown.answered]
        if writes:
            relay_time = writes[-1] - rec.received_at
    return {
        "shown": True,
        "relay": relay_time is not None,  # else the cache answered
        "latency": shown.answered - player.last_key,
        "added": shown.answered - shown.sent - (relay_time or 0.0),
        "text": shown.text,
    }


async def _sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def bare_rss(ctx: Context) -> float:
    """RSS of a bare pygls server after initialize, started like the server."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        str(BENCH / "bare_server.py"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(ctx.tmp),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        init = {"processId": None, "rootUri": None, "capabilities": {}}
        proc.stdin.write(
            _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        )
        await proc.stdin.drain()
        async with asyncio.timeout(30):
            for _ in range(50):
                if (await _read_message(proc.stdout)).get("id") == 1:
                    break
        return rss_mib(proc.pid)
    finally:
        proc.kill()
        await proc.wait()


def extract_baseline(into: Path) -> Path:
    """Writes BASELINE's gpt_lsp into a folder (from git); returns the folder."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", BASELINE, "gpt_lsp"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    folder = into / f"baseline-{BASELINE}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


async def typing(ctx: Context) -> Report:
    report = Report("typing")
    ctx.sim.responder = model
    baseline = extract_baseline(ctx.tmp)
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        bare = await bare_rss(ctx)
        for _ in range(1 if ctx.quick else 3):  # interleaved: each run beside its baseline
            for pattern in PATTERNS:
                if not pattern.fim:
                    runs = results.setdefault(f"{pattern.name}, {BASELINE}", [])
                    runs.append(await play(ctx, pattern, report, baseline))
                results.setdefault(pattern.name, []).append(await play(ctx, pattern, report))
    finally:
        ctx.sim.responder = None
        ctx.sim.fim = None
    for pattern in PATTERNS:
        if not pattern.fim:
            _rows(report, f"{pattern.name}, {BASELINE}", results[f"{pattern.name}, {BASELINE}"])
        runs = results[pattern.name]
        _rows(report, pattern.name, runs, pattern.fim)
        before = results[f"{pattern.base}, {BASELINE}"]
        ratios = [r["billed"] / b["billed"] for r, b in zip(runs, before, strict=True)]
        report.add(f"{pattern.name}: billed tokens / {BASELINE}'s", "x", ratios, "<= 0.5", 0.5)
    report.details.update(results)
    report.add("bare pygls server RSS after initialize", "MiB", [bare])
    return report


def _rows(report: Report, name: str, runs: list[dict[str, Any]], fim: bool = False) -> None:
    def per_100(key: str) -> list[float]:
        return [r[key] * 100 / r["chars"] for r in runs]

    report.add(f"{name}: relay requests / 100 chars", "n", per_100("relay"), "<= 4", 4, 2)
    report.add(f"{name}: billed tokens / 100 chars", "tok", per_100("billed"), digits=0)
    report.add(f"{name}: stale answers / 100 chars", "n", per_100("stale"), digits=2)
    if fim:
        report.add(f"{name}: ... of which by FIM / 100 chars", "n", per_100("fim"), digits=2)
    missed = [sum(not p["shown"] for p in r["pauses"]) for r in runs]
    report.add(f"{name}: pauses > 500 ms without a suggestion", "n", missed, "0 of 5", 0, 0)
    for source, relay in (("the relay", True), ("the cache", False)):
        shown = [p for r in runs for p in r["pauses"] if p["shown"] and p["relay"] == relay]
        latency = [p["latency"] * 1000 for p in shown]
        report.add(f"{name}: last keystroke -> suggestion from {source}", "ms", latency, digits=0)
        added = [p["added"] * 1000 for p in shown]
        report.add(f"{name}: server-added latency, from {source}", "ms", added, digits=0)
    report.add(f"{name}: server RSS at the end", "MiB", [r["rss"] for r in runs], digits=1)


__all__ = ["typing"]
