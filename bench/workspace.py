"""Context beyond the selection (issue 21): the workspace index of a generated 2,000-file
workspace (build time and server RSS, a didSave's update), prompt building with context, the
in-memory map against SQLite FTS5, and code action / didChange / completion latency of a server
indexing that workspace against one without it (same run, interleaved)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from bench.client import Editor, lines_range, start_editor
from bench.common import rss_mib
from bench.completion import inline
from bench.scenarios import Context, Report, collect_stderr
from gpt_lsp.context.service import ContextService, budgets_of
from gpt_lsp.prompting.slicing import cut_slice
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span
from tests.relay_sim import Scenario

FILES = 2000
READY_TIMEOUT = 300.0


def _python(n: int, rng: random.Random) -> str:
    others = [rng.randrange(FILES // 10) * 10 + rng.randrange(5) for _ in range(2)]  # Python
    calls = ", ".join(f"helper_{m}_{k}(x)" for k, m in enumerate(others))
    calls += f", Model{others[0]}(str(x)).method_1(x)"
    out = [f'"""Module {n}."""\n\nfrom pkg import helpers_{rng.randrange(FILES)}\n\n']
    out.append(f'LIMIT_{n} = {n}\n\n\n@dataclass\nclass Model{n}:\n    """Model {n}."""\n\n')
    out.append("    name: str\n    size: int = 0\n\n")
    for k in range(4):
        out.append(f'    def method_{k}(self, x: int) -> int:\n        """Method {k}."""\n')
        out.append(
            "".join(f"        x = x * {j} + {k}\n" for j in range(6)) + "        return x\n\n"
        )
    for k in range(4):
        out.append(f'\ndef helper_{n}_{k}(x):\n    """Helps {k}."""\n')
        out.append(f"    values = [{calls}]\n" + "".join(f"    x += {j}\n" for j in range(8)))
        out.append("    return x\n\n")
    return "".join(out)


def _typescript(n: int, rng: random.Random) -> str:
    out = [f'import {{ render{rng.randrange(FILES)} }} from "./m{rng.randrange(FILES)}";\n\n']
    out.append(f"export interface Shape{n} {{\n  id: number;\n  label: string;\n}}\n\n")
    for k in range(5):
        out.append(f"/** Renders {k}. */\nexport function render{n}_{k}(s: Shape{n}): string {{\n")
        out.append("".join(f"  const v{j} = s.id * {j};\n" for j in range(8)))
        out.append("  return s.label;\n}\n\n")
    out.append(
        f"export class Store{n} {{\n  add(x: number): number {{\n    return x + 1;\n  }}\n}}\n"
    )
    return "".join(out)


def _go(n: int, rng: random.Random) -> str:
    out = [f"package p{n % 20}\n\n// Account{n} holds money.\ntype Account{n} struct {{\n"]
    out.append("\tID string\n\tBalance int64\n}\n\n")
    for k in range(5):
        out.append(f"// Op{k} changes the balance.\nfunc (a *Account{n}) Op{k}(x int64) int64 {{\n")
        out.append("".join(f"\tx += {j}\n" for j in range(8)) + "\treturn a.Balance + x\n}\n\n")
    return "".join(out)


def generate(root: Path, files: int = FILES) -> list[Path]:
    """Writes a workspace of `files` source files (half Python, TypeScript, Go), plus files the
    index must skip: a .gitignored folder, node_modules, a binary and a huge file."""
    rng = random.Random(21)
    paths = []
    for n in range(files):
        kind = n % 10
        folder = root / f"pkg{n % 40}"
        folder.mkdir(parents=True, exist_ok=True)
        if kind < 5:
            path, text = folder / f"mod{n}.py", _python(n, rng)
        elif kind < 8:
            path, text = folder / f"m{n}.ts", _typescript(n, rng)
        else:
            path, text = folder / f"acct{n}.go", _go(n, rng)
        path.write_text(text)
        paths.append(path)
    (root / ".gitignore").write_text("generated/\n")
    for skipped in ("generated/big.py", "node_modules/dep/index.js"):
        (root / skipped).parent.mkdir(parents=True, exist_ok=True)
        (root / skipped).write_text("x = 1\n" * 1000)
    (root / "huge.py").write_text("y = 2\n" * 100_000)
    (root / "blob.py").write_bytes(b"\0" * 4096)
    return paths


async def _ready(service: ContextService) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while service.status()["state"] != "ready":
        if time.monotonic() > deadline:
            raise RuntimeError("the index did not get ready")
        await asyncio.sleep(0.005)


async def _in_process(root: Path, paths: list[Path], report: Report, quick: bool) -> None:
    """Build, incremental update, prompt building and FTS5, measured in this process."""
    builds = []
    service: ContextService | None = None
    for _ in range(1 if quick else 3):
        service = ContextService(list, Settings)
        started = time.perf_counter()
        service.start([root.as_uri()])
        await _ready(service)
        builds.append(time.perf_counter() - started)
        service.close()
    assert service is not None
    report.add("index build, 2,000 files (in process)", "s", builds)
    report.details["index_files"] = len(service.index)
    report.details["index_symbols"] = service.index.symbols
    service.start([root.as_uri()])  # a live thread again, for saves
    await _ready(service)
    saves = []
    for n in range(10 if quick else 40):
        path = paths[n * 7 % len(paths)]
        uri = path.as_uri()
        before = service.index.files.get(uri)
        path.write_text(path.read_text() + f"\n\ndef added_{n}():\n    return {n}\n")
        started = time.perf_counter()
        service.saved(uri)
        for _ in range(20_000):  # 10 s at most
            if service.index.files.get(uri) is not before:
                break
            await asyncio.sleep(0.0005)
        saves.append((time.perf_counter() - started) * 1000)
    report.add("didSave -> index updated", "ms", saves)
    # Prompt building: a function that calls helpers of other (unopened) files.
    target = paths[0]
    doc = TextDoc(target.as_uri(), target.read_text(), 1, "python")
    first = next(i for i, line in enumerate(doc.lines) if line.startswith("def helper_0_1"))
    span = Span(Pos(first, 0), Pos(first + 12, 0))
    budgets = budgets_of(Settings())
    timings, tokens = [], []
    for _ in range(60 if quick else 300):
        started = time.perf_counter()
        cut = cut_slice(doc, span, "utf-16", 4000)
        pack = service.gather_slice(doc, cut, "", budgets)
        pack.render()
        timings.append((time.perf_counter() - started) * 1000)
        tokens.append(pack.tokens)
    timings.sort()
    report.add("prompt building with context (p50)", "ms", timings, "<= 10", 10)
    report.add("  p95", "ms", [timings[int(len(timings) * 0.95)]])
    report.details["context_tokens"] = statistics.median(tokens)
    report.details["context_pieces"] = len(pack.pieces)
    _fts(service, report, quick)
    service.close()


def _fts(service: ContextService, report: Report, quick: bool) -> None:
    """The same definitions in SQLite FTS5 (in memory) against the map: build and lookups."""
    rows = [
        (s.name, uri, s.first, s.last) for uri, e in service.index.files.items() for s in e.symbols
    ]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    # Names as code uses them: mostly defined once or twice (helper_12_3, Model7), not method_0.
    names = sorted(n for n, c in counts.items() if c <= 2)[:: max(1, len(counts) // 500)]
    started = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute(
        "create virtual table defs using fts5(name, uri unindexed, first unindexed, last unindexed)"
    )
    db.executemany("insert into defs values (?, ?, ?, ?)", rows)
    db.commit()
    fts_build = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for name in names:
        db.execute(
            "select uri, first, last from defs where name match ?", (f'"{name}"',)
        ).fetchall()
    fts_lookup = (time.perf_counter() - started) * 1e6 / len(names)
    started = time.perf_counter()
    for name in names:
        list(service.index.lookup(name))
    map_lookup = (time.perf_counter() - started) * 1e6 / len(names)
    from gpt_lsp.context.index import WorkspaceIndex

    started = time.perf_counter()
    copy = WorkspaceIndex()
    for entry in service.index.files.values():
        copy.put(entry)
    map_build = (time.perf_counter() - started) * 1000
    report.add("map: build from parsed files", "ms", [map_build])
    report.add("FTS5: build from parsed files", "ms", [fts_build])
    report.add("map: lookup by name", "us", [map_lookup])
    report.add("FTS5: lookup by name", "us", [fts_lookup])
    db.close()


async def _round_trip(ed: Editor, uri: str) -> float:
    started = time.perf_counter()
    await ed.code_actions(uri, lines_range(0, 1))
    return (time.perf_counter() - started) * 1000


async def _latencies(ed: Editor, uri: str, line: int) -> tuple[float, float, float]:
    action = await _round_trip(ed, uri)
    started = time.perf_counter()
    pos = types.Position(line=line, character=0)
    ed.change(uri, types.Range(start=pos, end=pos), "#")
    await ed.code_actions(uri, lines_range(0, 1))
    change = (time.perf_counter() - started) * 1000  # didChange + codeAction
    started = time.monotonic()
    answered, _items = await inline(ed, uri, line, 1)
    return action, change, (answered - started) * 1000


async def _servers(ctx: Context, root: Path, report: Report) -> None:
    """Two servers, one indexing the workspace: their latencies, interleaved."""
    ctx.sim.default = Scenario(text="x = 1")
    options = ctx.sim.options(completion={"enabled": True, "debounceMs": 0})
    plain = await start_editor(ctx.tmp, options, env_extra=ctx.env_extra)
    indexed = await start_editor(ctx.tmp, options, env_extra=ctx.env_extra, folders=[root])
    text = "import os\n\n" + "def f(x):\n    return helper_1_0(x)\n" * 50
    try:
        docs = {id(ed): ed.open("edit.py", text) for ed in (plain, indexed)}
        samples = 8 if ctx.quick else 30
        phases: dict[str, dict[str, list[float]]] = {}
        for phase in ("indexing", "ready"):
            if phase == "ready":
                deadline = time.monotonic() + READY_TIMEOUT
                while (await indexed.command("gptLsp.status"))["context"]["state"] != "ready":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server's index did not get ready")
                    await asyncio.sleep(0.05)
                report.details["server_index"] = (await indexed.command("gptLsp.status"))["context"]
            got: dict[str, list[float]] = {k: [] for k in ("a0", "a1", "c0", "c1", "i0", "i1")}
            for n in range(samples):
                for tag, ed in (("0", plain), ("1", indexed)):
                    action, change, completion = await _latencies(ed, docs[id(ed)], 2 + n % 40)
                    got["a" + tag].append(action)
                    got["c" + tag].append(change)
                    got["i" + tag].append(completion)
            phases[phase] = got
            pairs = (("codeAction", "a"), ("didChange + codeAction", "c"), ("completion", "i"))
            for label, key in pairs:
                ratio = statistics.median(got[key + "1"]) / max(
                    statistics.median(got[key + "0"]), 1e-3
                )
                report.add(f"[{phase}] {label}: indexed / plain", "x", [ratio])
                report.add(f"[{phase}] {label}, indexed server", "ms", got[key + "1"])
        report.details["server_rss_mib_plain"] = round(rss_mib(plain.pid), 1)
        report.details["server_rss_mib_indexed"] = round(rss_mib(indexed.pid), 1)
        report.add(
            "server RSS: indexed - plain", "MiB", [rss_mib(indexed.pid) - rss_mib(plain.pid)]
        )
    finally:
        for ed in (plain, indexed):
            collect_stderr(report, ed)
            await ed.stop()


def _corpus(report: Report) -> None:
    """Recall and precision of the context corpus (tests/context_corpus) per budget."""
    from gpt_lsp.context.gather import Budgets
    from tests.unit.context.tasks import score

    for budget in (150, 300, 450, 1000, 3000):
        got = score(Budgets(definitions=budget))
        report.add(f"corpus recall, definitions {budget}", "%", [100 * got["recall"]])
        report.add(f"corpus precision, definitions {budget}", "%", [100 * got["precision"]])
        report.add(f"corpus tokens sent, definitions {budget}", "tok", [got["tokens"]])


async def workspace(ctx: Context) -> Report:
    report = Report("workspace")
    _corpus(report)
    root = ctx.tmp / "ws2000"
    paths = generate(root)
    started = time.perf_counter()
    await _in_process(root, paths, report, ctx.quick)
    report.details["in_process_s"] = round(time.perf_counter() - started, 1)
    await _servers(ctx, root, report)
    return report


__all__: list[Any] = ["workspace"]
