"""The benchmark scenarios (issue 6). Each returns a Report: rows of figures plus details.

Timing: every figure is the median (with min and max) of >= 5 runs (`--quick`: 2); ratios
compare against a baseline measured in the same run, interleaved with the measured case so both
see the same machine noise. Nothing asserts a timing: targets are printed as met / MISSED.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from bench.client import PYTHON, Editor, lines_range, start_editor
from bench.common import API_KEY, BENCH, REPO, BenchSim, cpu_seconds, rss_mib, server_env, summary
from tests.relay_sim import Scenario

JOB_TIMEOUT = 60.0


@dataclass
class Row:
    """One printed figure."""

    scenario: str
    metric: str
    unit: str
    stats: dict[str, Any]
    target: str = ""
    met: bool | None = None
    values: list[float] = field(default_factory=list)  # every run's, in order (results.json)


@dataclass
class Report:
    """What a scenario measured."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    stderr: list[str] = field(default_factory=list)

    def add(
        self,
        metric: str,
        unit: str,
        values: list[float],
        target: str = "",
        limit: float | None = None,
        digits: int = 3,
    ) -> dict[str, Any]:
        stats = summary(values, digits)
        met = None
        if limit is not None and stats["median"] is not None:
            met = stats["median"] <= limit
        runs = [round(v, digits) for v in values]
        self.rows.append(Row(self.name, metric, unit, stats, target, met, runs))
        return stats


@dataclass
class Context:
    """Shared by the scenarios of one bench run."""

    runs: int
    quick: bool
    tmp: Path
    sim: BenchSim
    env_extra: dict[str, str] = field(default_factory=dict)

    async def editor(self, **options: Any) -> Editor:
        return await start_editor(self.tmp, self.sim.options(**options), env_extra=self.env_extra)


SMALL_DOC = "def f():\n    return 1\n"


def code_chunks(count: int, size: int = 4) -> list[str]:
    """`count` content pieces of `size` characters of plain Python (no fences, no prose)."""
    text = "".join(f"value_{i:05d} = compute({i})\n" for i in range(count * size // 20 + 2))
    text = text[: count * size]
    return [text[i : i + size] for i in range(0, len(text), size)]


def request_index(sim: BenchSim, before: int) -> int:
    """Index of the first chat request after `before` requests."""
    for rec in sim.requests[before:]:
        if rec.path.endswith("/chat/completions"):
            return rec.index
    raise RuntimeError("the server sent no chat request")


async def one_job(
    ed: Editor, uri: str, rng: types.Range, timeout: float = JOB_TIMEOUT
) -> tuple[float, float, dict[str, Any], str]:
    """Runs a job: (sent time, finished time, jobFinished params, job id)."""
    sent = time.monotonic()
    job_id = await ed.run_job(uri, rng)
    finished_at, params = await ed.wait_finished(job_id, timeout)
    return sent, finished_at, params, job_id


def collect_stderr(report: Report, ed: Editor) -> None:
    lines = ed.client.stderr_lines
    report.stderr.extend(lines[-200:])


# ---------------------------------------------------------------- 1. streaming overhead


class RawReader:
    """bench/raw_reader.py in its own process: the baseline reader."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(BENCH / "raw_reader.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=server_env(tmp),
            text=True,
        )

    def read(self, url: str, mode: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        body = {
            "model": "gpt-4",
            "messages": [{"role": "user", "content": "bench"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self.proc.stdin.write(json.dumps({"url": url, "key": API_KEY, "body": body, "mode": mode}))
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("raw reader died")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


async def streaming(ctx: Context) -> Report:
    report = Report("streaming")
    chunks = 2000 if ctx.quick else 20_000
    ctx.sim.default = Scenario(chunks=code_chunks(chunks))
    reader = RawReader(ctx.tmp)
    ed = await ctx.editor()
    try:
        job_s, json_s, plain_s, bytes_s, cpu_k, edits, sim_s = [], [], [], [], [], [], []
        head_ms, tail_ms, plain_cpu_k, bench_job_k, bench_plain_k = [], [], [], [], []
        for run in range(ctx.runs + 1):  # run 0 warms both up (connections, imports)
            raw = await asyncio.to_thread(reader.read, ctx.sim.chat_url, "bytes")
            parsed = await asyncio.to_thread(reader.read, ctx.sim.chat_url, "json")
            bench0 = time.process_time()  # this process: the simulator thread and the editor
            plain = await asyncio.to_thread(reader.read, ctx.sim.chat_url, "urllib")
            bench1 = time.process_time()
            for read in (parsed, plain):
                if read["events"] < chunks:
                    raise RuntimeError(f"the baseline decoded {read['events']} events")
            uri = ed.open(f"stream{run}.py", SMALL_DOC)
            before = len(ctx.sim.requests)
            cpu0, bench2 = cpu_seconds(ed.pid), time.process_time()
            sent, finished, params, _ = await one_job(ed, uri, lines_range(0, 2))
            cpu1, bench3 = cpu_seconds(ed.pid), time.process_time()
            if params.get("status") != "done":
                raise RuntimeError(f"job ended {params}")
            rec = ctx.sim.requests[request_index(ctx.sim, before)]
            ed.close(uri)
            if run == 0:
                continue
            job_s.append(finished - sent)
            json_s.append(parsed["seconds"])
            plain_s.append(plain["seconds"])
            bytes_s.append(raw["seconds"])
            cpu_k.append((cpu1 - cpu0) * 1000 / chunks * 1000)
            plain_cpu_k.append(plain["cpu"] * 1000 / chunks * 1000)
            bench_job_k.append((bench3 - bench2) * 1000 / chunks * 1000)
            bench_plain_k.append((bench1 - bench0) * 1000 / chunks * 1000)
            edits.append(ed.apply_count.get(uri, 0))
            assert rec.ended_at is not None
            sim_s.append(rec.ended_at - rec.received_at)
            head_ms.append((rec.received_at - sent) * 1000)
            tail_ms.append((finished - rec.ended_at) * 1000)
        job = report.add("job time (run sent -> jobFinished)", "ms", [s * 1000 for s in job_s])
        base = report.add("baseline: urllib lines + json.loads", "ms", [s * 1000 for s in plain_s])
        report.add("reference: httpx read + json.loads", "ms", [s * 1000 for s in json_s])
        report.add("reference: httpx read, bytes only", "ms", [s * 1000 for s in bytes_s])
        report.add("simulator: request -> last byte (in job)", "ms", [s * 1000 for s in sim_s])
        report.add("  job: run sent -> relay request received", "ms", head_ms)
        report.add("  job: relay last byte -> jobFinished", "ms", tail_ms)
        ratios = [j / b for j, b in zip(job_s, plain_s, strict=True)]
        report.add("ratio job / urllib read + json (per run)", "x", ratios, "<= 1.2", 1.2)
        httpx_ratios = [j / b for j, b in zip(job_s, json_s, strict=True)]
        report.add("ratio job / httpx read + json (per run)", "x", httpx_ratios)
        report.add("server CPU per 1,000 chunks (fast)", "ms", cpu_k)
        report.add("baseline urllib reader CPU per 1,000 chunks", "ms", plain_cpu_k)
        report.add("simulator + editor CPU per 1,000 chunks, job", "ms", bench_job_k)
        report.add("simulator + editor CPU per 1,000 chunks, urllib", "ms", bench_plain_k)
        report.add("applyEdit round trips per job", "n", [float(e) for e in edits], digits=1)
        report.details["ratio_of_medians"] = round(job["median"] / base["median"], 3)
        report.details["chunks"] = chunks
    finally:
        collect_stderr(report, ed)
        await ed.stop()
        reader.close()
    return report


# ---------------------------------------------------------------- 2. paced stream


PACED_LINE = "    result = compute(value, factor)\n"


async def paced_variant(ctx: Context, ed: Editor, report: Report, tokens: int, label: str) -> None:
    pace = 0.02  # 50 tokens/s
    text = (PACED_LINE * (tokens * 4 // len(PACED_LINE) + 2))[: tokens * 4]
    ctx.sim.default = Scenario(text=text, chunk_size=4, pace=pace)
    first_ms, newest_ms, trips, limits, cpu_k, tail_ms, cpu_trip = [], [], [], [], [], [], []
    for run in range(ctx.runs):
        uri = ed.open(f"paced-{label}-{run}.py", "def f():\n    return 1\n")
        before = len(ctx.sim.requests)
        n_edits = len(ed.edit_times)
        cpu0 = cpu_seconds(ed.pid)
        _, finished, params, _ = await one_job(ed, uri, lines_range(1, 2))
        cpu1 = cpu_seconds(ed.pid)
        if params.get("status") != "done":
            raise RuntimeError(f"job ended {params}")
        index = request_index(ctx.sim, before)
        pieces = ctx.sim.piece_times[index]
        mine = [e for e in ed.edit_times[n_edits:] if e[1] == uri]
        first_edit, _, first_chars = mine[0]
        first_ms.append((first_edit - pieces[0]) * 1000)
        # The newest token the first edit carries: isolates the pipeline from the output
        # filter holding back an undecided first line.
        carried = min(len(pieces), max(1, -(-first_chars // 4)))
        newest_ms.append((first_edit - pieces[carried - 1]) * 1000)
        duration_ms = (pieces[-1] - pieces[0]) * 1000
        trips.append(float(len(mine)))
        limits.append(duration_ms / 25 + 2)
        cpu_k.append((cpu1 - cpu0) * 1000 / len(pieces) * 1000)
        cpu_trip.append((cpu1 - cpu0) * 1000 / max(1, len(mine)))
        tail_ms.append((finished - pieces[-1]) * 1000)
        ed.close(uri)
    report.add(f"[{label}] first token -> first visible edit", "ms", first_ms, "<= 40", 40)
    report.add(f"[{label}] newest token in first edit -> edit", "ms", newest_ms)
    limit = statistics.median(limits)
    report.add(
        f"[{label}] applyEdit round trips per job",
        "n",
        trips,
        f"<= {limit:.0f} (duration/25ms+2)",
        limit,
        digits=1,
    )
    report.add(f"[{label}] server CPU per 1,000 chunks", "ms", cpu_k)
    report.add(f"[{label}] server CPU per job / round trips", "ms", cpu_trip)
    report.add(f"[{label}] last token -> jobFinished", "ms", tail_ms)


async def paced(ctx: Context) -> Report:
    report = Report("paced")
    ed = await ctx.editor()
    try:
        await paced_variant(ctx, ed, report, 100, "100 tok")
        if not ctx.quick:
            await paced_variant(ctx, ed, report, 300, "300 tok")
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    return report


# ---------------------------------------------------------------- 3. startup


def _frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(reader: asyncio.StreamReader) -> dict[str, Any]:
    length = 0
    for _ in range(20):
        line = await reader.readline()
        if not line:
            raise RuntimeError("server closed stdout")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(await reader.readexactly(length))  # type: ignore[no-any-return]


async def spawn_to_initialize(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning a server to its answer to `initialize`."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(
            _frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": {}},
                }
            )
        )
        await proc.stdin.drain()
        async with asyncio.timeout(30):
            for _ in range(50):
                message = await _read_message(proc.stdout)
                if message.get("id") == 1:
                    break
        elapsed = time.perf_counter() - started
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        await proc.stdin.drain()
        async with asyncio.timeout(10):
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return elapsed


IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")
# What `initialize` runs: GptLanguageServer.__init__ and the handler (settings, relay pool
# object, document store, job manager, protocol). Everything else is needed later.
NEEDED_FOR_INITIALIZE = (
    "gpt_lsp",
    "gpt_lsp.cli",
    "gpt_lsp.logs",
    "gpt_lsp.lsp",
    "gpt_lsp.lsp.server",
    "gpt_lsp.lsp.protocol",
    "gpt_lsp.settings",
    "gpt_lsp.settings.models",
    "gpt_lsp.settings.repair",
    "gpt_lsp.settings.sources",
    "gpt_lsp.errors",
    "gpt_lsp.relay",
    "gpt_lsp.urls",
    "gpt_lsp.relay.pool",
    "gpt_lsp.text",
    "gpt_lsp.text.documents",
    "gpt_lsp.jobs",
    "gpt_lsp.jobs.manager",
    "gpt_lsp.accounting.usage",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
)


def importtime(code: str, env: dict[str, str]) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) from python -X importtime."""
    out = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            depth = len(match.group(3)) // 2
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), depth))
    return rows


def is_needed(module: str) -> bool:
    if module.startswith("gpt_lsp"):
        return module in NEEDED_FOR_INITIALIZE
    return any(module == m or module.startswith(m + ".") for m in NEEDED_FOR_INITIALIZE)


def importers(rows: list[tuple[str, int, int, int]]) -> dict[str, str]:
    """For each module, the nearest gpt_lsp module whose import pulled it in (importtime
    prints children before their parent, one indentation level deeper)."""
    via: dict[str, str] = {}
    for index, (module, _, _, depth) in enumerate(rows):
        for parent, _, _, parent_depth in rows[index + 1 :]:
            if parent_depth < depth:
                depth = parent_depth
                if parent.startswith("gpt_lsp"):
                    via[module] = parent
                    break
    return via


async def startup(ctx: Context) -> Report:
    report = Report("startup")
    env = server_env(ctx.tmp)
    gpt = [PYTHON, "-m", "gpt_lsp"]
    bare = [PYTHON, str(BENCH / "bare_server.py")]
    gpt_s, bare_s = [], []
    await spawn_to_initialize(gpt, env)  # warm the page cache / .pyc files
    await spawn_to_initialize(bare, env)
    for _ in range(ctx.runs):
        gpt_s.append(await spawn_to_initialize(gpt, env))
        bare_s.append(await spawn_to_initialize(bare, env))
    report.add("python -m gpt_lsp: spawn -> initialize answered", "ms", [s * 1000 for s in gpt_s])
    report.add("bare pygls server: spawn -> initialize answered", "ms", [s * 1000 for s in bare_s])
    ratios = [g / b for g, b in zip(gpt_s, bare_s, strict=True)]
    report.add("ratio gpt-lsp / bare (per run)", "x", ratios, "<= 1.15", 1.15)

    rows = importtime("import gpt_lsp.lsp.server", env)
    top = sorted(rows, key=lambda r: -r[2])[:15]
    report.details["importtime_top15_cumulative"] = [
        {"module": m, "self_ms": round(s / 1000, 1), "cumulative_ms": round(c / 1000, 1)}
        for m, s, c, _ in top
    ]
    bare_rows = importtime("import pygls.lsp.server", env)
    bare_mods = {r[0] for r in bare_rows}
    extra = [r for r in rows if r[0] not in bare_mods]
    via = importers(rows)
    by_package: dict[str, dict[str, Any]] = {}
    for module, self_us, _, _ in extra:
        key = module if module.startswith("gpt_lsp") else module.split(".")[0]
        entry = by_package.setdefault(key, {"self_ms": 0.0, "modules": 0, "via": set()})
        entry["self_ms"] += self_us / 1000
        entry["modules"] += 1
        if module in via:
            entry["via"].add(via[module])
    candidates = []
    needed = []
    for key, entry in sorted(by_package.items(), key=lambda kv: -kv[1]["self_ms"]):
        item = {
            "package": key,
            "self_ms": round(entry["self_ms"], 1),
            "modules": entry["modules"],
            "imported_by": sorted(entry["via"]),
        }
        (needed if is_needed(key) else candidates).append(item)
    report.details["imported_beyond_bare_pygls_ms"] = round(sum(r[1] for r in extra) / 1000, 1)
    report.details["lazy_import_candidates"] = candidates
    report.details["needed_for_initialize"] = needed
    report.details["lazy_candidates_total_ms"] = round(sum(c["self_ms"] for c in candidates), 1)
    return report


# ---------------------------------------------------------------- 4. cancel


async def cancel(ctx: Context) -> Report:
    report = Report("cancel")
    ctx.sim.default = Scenario(text=PACED_LINE * 40, chunk_size=4, pace=0.02)
    ed = await ctx.editor()
    try:
        disconnect_ms, finished_ms, flags = [], [], []
        for run in range(ctx.runs):
            uri = ed.open(f"cancel{run}.py", SMALL_DOC)
            before = len(ctx.sim.requests)
            job_id = await ed.run_job(uri, lines_range(1, 2))
            async with asyncio.timeout(10):
                while ed.apply_count.get(uri, 0) < 2:  # noqa: ASYNC110 - the editor's state
                    await asyncio.sleep(0.005)
            index = request_index(ctx.sim, before)
            sent = time.monotonic()
            await ed.command("gptLsp.cancel", {"jobId": job_id})
            ended = await asyncio.to_thread(ctx.sim.wait_for_disconnect, index, 5.0)
            finished_at, params = await ed.wait_finished(job_id, 15)
            if ended is None:
                raise RuntimeError("the relay connection stayed open 5 s after cancel")
            disconnect_ms.append((ended - sent) * 1000)
            finished_ms.append((finished_at - sent) * 1000)
            flags.append(ctx.sim.requests[index].client_disconnected)
            if params.get("status") != "cancelled":
                raise RuntimeError(f"job ended {params}")
            ed.close(uri)
        report.add("cancel sent -> relay sees disconnect", "ms", disconnect_ms, "<= 100", 100)
        report.add("cancel sent -> jobFinished (restored)", "ms", finished_ms)
        report.details["client_disconnected_flags"] = flags
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    return report


# ---------------------------------------------------------------- 5. large documents


def large_python(lines: int) -> str:
    out = []
    for i in range(lines // 5):
        out.append(
            f"def function_{i}(a, b):\n"
            f"    # compute something for {i}\n"
            f"    total = a + b * {i}\n"
            f"    return total\n"
            "\n"
        )
    return "".join(out)


async def round_trip_ms(ed: Editor, uri: str, rng: types.Range) -> float:
    started = time.perf_counter()
    await ed.code_actions(uri, rng)
    return (time.perf_counter() - started) * 1000


async def large(ctx: Context) -> Report:
    report = Report("large")
    n_lines = 100_000
    text = large_python(n_lines)
    samples = 20 if not ctx.quick else 5
    ctx.sim.default = Scenario(text="def function_10000(a, b):\n    return a + b\n")
    ed = await ctx.editor()
    try:
        small = ed.open("small.py", SMALL_DOC)
        for _ in range(5):
            await round_trip_ms(ed, small, lines_range(0, 1))
        uri = ed.open("large0.py", text)
        mid = lines_range(50_000, 50_010)
        cursor = types.Range(
            start=types.Position(line=50_000, character=4),
            end=types.Position(line=50_000, character=4),
        )
        for _ in range(5):
            await round_trip_ms(ed, uri, mid)
        ca_small = [await round_trip_ms(ed, small, lines_range(0, 1)) for _ in range(samples)]
        ca_mid = [await round_trip_ms(ed, uri, mid) for _ in range(samples)]
        ca_cursor = [await round_trip_ms(ed, uri, cursor) for _ in range(samples)]
        ca_median = statistics.median(ca_mid)
        report.add("codeAction, 10 lines of 100k-line doc", "ms", ca_mid, "<= 5", 5)
        report.add("codeAction, cursor in 100k-line doc", "ms", ca_cursor, "<= 5", 5)
        report.add("codeAction, 5-line doc (reference)", "ms", ca_small)

        change_ms = []
        for i in range(samples):
            pos = types.Position(line=60_000 + i, character=4)
            started = time.perf_counter()
            ed.change(uri, types.Range(start=pos, end=pos), "x")
            await ed.code_actions(uri, mid)
            change_ms.append((time.perf_counter() - started) * 1000 - ca_median)
        report.add("incremental didChange (pair - codeAction)", "ms", change_ms)

        open_ms = []
        for run in range(ctx.runs):
            started = time.perf_counter()
            big = ed.open(f"large{run + 1}.py", text)
            await ed.code_actions(big, mid)
            open_ms.append((time.perf_counter() - started) * 1000 - ca_median)
            ed.close(big)
        report.add("didOpen 100k lines (incl. client send)", "ms", open_ms)

        run_large, run_small = [], []
        for run in range(ctx.runs + 1):
            for target, rng, bucket in (
                (uri, lines_range(50_000, 50_020), run_large),
                (small, lines_range(0, 2), run_small),
            ):
                started = time.perf_counter()
                job_id = await ed.run_job(target, rng)
                elapsed = (time.perf_counter() - started) * 1000
                _, params = await ed.wait_finished(job_id, JOB_TIMEOUT)
                await ed.command("gptLsp.accept", {"jobId": job_id})
                if params.get("status") != "done":
                    raise RuntimeError(f"job ended {params}")
                if run > 0:
                    bucket.append(elapsed)
        report.add("gptLsp.run -> {jobId}, 100k-line doc", "ms", run_large)
        report.add("gptLsp.run -> {jobId}, 5-line doc", "ms", run_small)
        ratios = [a / b for a, b in zip(run_large, run_small, strict=True)]
        report.add("ratio run large / small", "x", ratios)
        report.details["document_chars"] = len(text)
        report.details["server_rss_mib_with_doc"] = round(rss_mib(ed.pid), 1)
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    return report


# ---------------------------------------------------------------- 6. memory


def point(value: float) -> dict[str, Any]:
    """A single measurement (a memory reading is one point of one trajectory, not a run)."""
    return {"median": round(value, 1), "min": None, "max": None, "n": 1}


async def memory(ctx: Context) -> Report:
    report = Report("memory")
    total_changes = 100_000 if not ctx.quick else 10_000
    total_jobs = 1000 if not ctx.quick else 100
    batch = 1000
    ctx.sim.default = Scenario(text="pass\n", chunk_size=4)
    ed = await ctx.editor()
    try:
        idle = rss_mib(ed.pid)
        report.details["rss_idle_mib"] = round(idle, 1)
        report.details["stats_idle"] = await ed.server_stats()
        doc_text = "".join(f"line_{i} = {i}\n" for i in range(200))
        uri = ed.open("mem.py", doc_text)
        await ed.code_actions(uri, lines_range(0, 1))
        trajectory = [(0, round(rss_mib(ed.pid), 1))]
        per_change_us = []
        cpu_change_us = []
        for start in range(0, total_changes, batch):
            began = time.perf_counter()
            cpu0 = cpu_seconds(ed.pid)
            for i in range(start, start + batch):
                line = i % 200
                if i % 2 == 0:
                    pos = types.Position(line=line, character=0)
                    ed.change(uri, types.Range(start=pos, end=pos), "x")
                else:
                    prev = (i - 1) % 200
                    ed.change(
                        uri,
                        types.Range(
                            start=types.Position(line=prev, character=0),
                            end=types.Position(line=prev, character=1),
                        ),
                        "",
                    )
            await ed.code_actions(uri, lines_range(0, 1), timeout=120)
            per_change_us.append((time.perf_counter() - began) * 1e6 / batch)
            cpu_change_us.append((cpu_seconds(ed.pid) - cpu0) * 1e6 / batch)
            done = start + batch
            if done % (total_changes // 4) == 0:
                trajectory.append((done, round(rss_mib(ed.pid), 1)))
        if ed.docs[uri].text != doc_text:
            raise RuntimeError("the bench editor's document drifted")
        report.details["rss_after_didchange_mib"] = trajectory
        report.add("didChange throughput (send -> processed)", "us/change", per_change_us, digits=1)
        report.add("server CPU per didChange", "us/change", cpu_change_us, digits=1)
        after_changes = rss_mib(ed.pid)
        report.details["stats_after_didchange"] = await ed.server_stats()

        docs = [ed.open(f"memjob{i}.py", SMALL_DOC) for i in range(4)]
        job_traj = [(0, round(rss_mib(ed.pid), 1))]
        counter = {"done": 0}
        statuses: dict[str, int] = {}
        job_ms: list[float] = []

        async def worker(doc: str, count: int) -> None:
            for _ in range(count):
                sent, finished, params, job_id = await one_job(ed, doc, lines_range(1, 2))
                job_ms.append((finished - sent) * 1000)
                statuses[params.get("status", "?")] = statuses.get(params.get("status", "?"), 0) + 1
                await ed.command("gptLsp.accept", {"jobId": job_id})
                counter["done"] += 1
                if counter["done"] % (total_jobs // 4) == 0:
                    job_traj.append((counter["done"], round(rss_mib(ed.pid), 1)))

        async with asyncio.timeout(600):
            await asyncio.gather(*(worker(d, total_jobs // 4) for d in docs))
        report.details["rss_after_jobs_mib"] = job_traj
        report.details["job_statuses"] = statuses
        report.add("short job, 4 at a time (run -> jobFinished)", "ms", job_ms)
        stats = await ed.server_stats()
        report.details["stats_after_jobs"] = stats
        status = await ed.command("gptLsp.status")
        report.details["status_jobs_listed"] = len(status.get("jobs", []))
        final = rss_mib(ed.pid)
        report.details["rss_final_mib"] = round(final, 1)
        growth_changes = after_changes - trajectory[0][1]
        growth_jobs = final - job_traj[1][1] if len(job_traj) > 1 else final - after_changes
        report.rows.append(
            Row(
                "memory",
                "RSS idle after initialize",
                "MiB",
                {"median": round(idle, 1), "min": None, "max": None, "n": 1},
            )
        )
        report.rows.append(
            Row(
                "memory",
                f"RSS growth over {total_changes:,} didChange",
                "MiB",
                point(growth_changes),
                "flat (<= 5)",
                growth_changes <= 5,
            )
        )
        report.rows.append(
            Row(
                "memory",
                f"RSS growth, jobs {total_jobs // 4} -> {total_jobs}",
                "MiB",
                point(growth_jobs),
                "flat (<= 5)",
                growth_jobs <= 5,
            )
        )
        if stats is not None:
            report.rows.append(
                Row(
                    "memory",
                    "asyncio tasks left after jobs",
                    "n",
                    point(stats["tasks"]),
                    "<= 2",
                    stats["tasks"] <= 2,
                )
            )
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    return report


# ---------------------------------------------------------------- 7. concurrency


async def concurrency(ctx: Context) -> Report:
    report = Report("concurrency")
    ed = await ctx.editor()
    variants = [
        ("paced 100 tok @50/s", Scenario(text=PACED_LINE * 12, chunk_size=4, pace=0.02)),
        ("fast 1,000 chunks", Scenario(chunks=code_chunks(1000))),
    ]
    try:
        for label, scenario in variants:
            ctx.sim.default = scenario
            single, ten, ratios = [], [], []
            for run in range(ctx.runs + 1):
                uri = ed.open(f"one-{label[:4]}-{run}.py", SMALL_DOC)
                sent, finished, params, _ = await one_job(ed, uri, lines_range(1, 2))
                one = finished - sent
                uris = [ed.open(f"ten-{label[:4]}-{run}-{i}.py", SMALL_DOC) for i in range(10)]
                started = time.monotonic()
                results = await asyncio.gather(*(one_job(ed, u, lines_range(1, 2)) for u in uris))
                total = max(r[1] for r in results) - started
                bad = [r[2] for r in results if r[2].get("status") != "done"]
                if bad or params.get("status") != "done":
                    raise RuntimeError(f"jobs ended {bad or params}")
                for u in [uri, *uris]:
                    ed.close(u)
                if run == 0:
                    continue
                single.append(one * 1000)
                ten.append(total * 1000)
                ratios.append(total / one)
            report.add(f"[{label}] one job", "ms", single)
            report.add(f"[{label}] 10 jobs at once, total", "ms", ten)
            report.add(f"[{label}] ratio 10 / 1", "x", ratios)
    finally:
        collect_stderr(report, ed)
        await ed.stop()
    return report


from bench.answer_filter import answer_filter  # noqa: E402 - it builds on Report and Context
from bench.chat import chat  # noqa: E402 - the same
from bench.completion import completion  # noqa: E402 - it builds on Report and Context above
from bench.parse import parse  # noqa: E402 - the same
from bench.typing_patterns import typing  # noqa: E402 - it builds on Report and Context above
from bench.workspace import workspace  # noqa: E402 - the same

SCENARIOS = {
    "streaming": streaming,
    "paced": paced,
    "startup": startup,
    "cancel": cancel,
    "large": large,
    "memory": memory,
    "concurrency": concurrency,
    "completion": completion,
    "typing": typing,
    "answer_filter": answer_filter,
    "parse": parse,
    "chat": chat,
    "workspace": workspace,
}

__all__ = ["REPO", "SCENARIOS", "Context", "Report", "Row"]
