"""`python -m bench`: runs the scenarios, prints a table, writes bench/results.json.

python -m bench                  # everything, 5 runs per figure
python -m bench --quick          # smoke run: 2 runs, smaller counts
python -m bench --only cancel    # one scenario (repeatable)
python -m bench --only paced --profile   # also cProfile the server (bench/profiles/)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile  # noqa: F401 - fail early if the profiler is missing
import io
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import BENCH, BenchSim
from bench.scenarios import SCENARIOS, Context, Report

SERVER_ERROR_MARKERS = ("Traceback", "ERROR", "Error", "Exception", "exception")


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "loadavg": os.getloadavg(),
    }


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def print_table(reports: list[Report]) -> None:
    header = ("scenario", "metric", "unit", "median", "min", "max", "n", "target", "")
    rows = [header]
    for report in reports:
        for row in report.rows:
            s = row.stats
            verdict = "" if row.met is None else ("met" if row.met else "MISSED")
            rows.append(
                (
                    row.scenario,
                    row.metric,
                    row.unit,
                    fmt(s["median"]),
                    fmt(s["min"]),
                    fmt(s["max"]),
                    str(s["n"]),
                    row.target,
                    verdict,
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def profile_text(path: Path, limit: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


async def run(args: argparse.Namespace) -> int:
    names = args.only or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    runs = args.runs or (2 if args.quick else 5)
    tmp = Path(tempfile.mkdtemp(prefix="gpt-lsp-bench-"))
    sim = BenchSim(prefix="/v1", name="bench").start()
    reports: list[Report] = []
    failures: dict[str, str] = {}
    try:
        for name in names:
            env_extra: dict[str, str] = {}
            prof = BENCH / "profiles" / f"{name}.prof"
            if args.profile:
                prof.parent.mkdir(exist_ok=True)
                prof.unlink(missing_ok=True)
                env_extra["BENCH_CPROFILE"] = str(prof)
            ctx = Context(runs=runs, quick=args.quick, tmp=tmp, sim=sim, env_extra=env_extra)
            print(f"== {name} ...", file=sys.stderr, flush=True)
            began = time.monotonic()
            try:
                async with asyncio.timeout(args.timeout):
                    report = await SCENARIOS[name](ctx)
            except Exception as error:  # noqa: BLE001 - one broken scenario must not hide others
                failures[name] = "".join(traceback.format_exception(error))
                print(failures[name], file=sys.stderr)
                continue
            report.details["seconds"] = round(time.monotonic() - began, 1)
            reports.append(report)
            if args.profile and prof.exists():
                text = profile_text(prof)
                prof.with_suffix(".txt").write_text(text, "utf-8")
                print(f"   profile: {prof.with_suffix('.txt')}", file=sys.stderr)
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print_table(reports)
    for report in reports:
        suspicious = [
            line for line in report.stderr if any(m in line for m in SERVER_ERROR_MARKERS)
        ]
        if suspicious:
            print(f"\n[{report.name}] server stderr ({len(suspicious)} suspicious lines):")
            for line in suspicious[:20]:
                print(f"  {line}")
    for name, text in failures.items():
        print(f"\n[{name}] FAILED:\n{text}")
    results = {
        "machine": machine(),
        "runs": runs,
        "quick": args.quick,
        "scenarios": {
            r.name: {
                "rows": [asdict(row) for row in r.rows],
                "details": r.details,
                "server_stderr": r.stderr,
            }
            for r in reports
        },
        "failures": failures,
    }
    out = BENCH / "results.json"
    out.write_text(json.dumps(results, indent=1, default=str), "utf-8")
    print(f"\nwrote {out}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 runs, smaller counts")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help=f"run one scenario: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default 5, quick 2)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the server; text in bench/profiles/"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per scenario (default 900)"
    )
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
