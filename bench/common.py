"""Shared helpers: statistics, process counters from /proc, an instrumented relay simulator."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.editor import server_env as server_env  # shared with the e2e tests
from tests.relay_sim import RelaySim, Scenario

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
API_KEY = "sk-bench-0123456789abcdef"
PYTHON = sys.executable


def summary(values: list[float], digits: int = 3) -> dict[str, Any]:
    """Median, min and max of runs (the only figures the bench reports)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of a process, in seconds (ns resolution via schedstat)."""
    total_ns = 0
    found = False
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as f:
                    total_ns += int(f.read().split()[0])
                    found = True
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    if found:
        return total_ns / 1e9
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class BenchSim(RelaySim):
    """RelaySim that also stamps when the first content chunk of each request was written."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("api_key", API_KEY)
        super().__init__(**kwargs)
        self.first_piece_at: dict[int, float] = {}
        self.last_piece_at: dict[int, float] = {}
        self.piece_times: dict[int, list[float]] = {}  # content chunk k written at [k]
        self.write_times: dict[int, list[float]] = {}  # every data: event written
        # Answers a chat request from its body (a simulated model), when set.
        self.responder: Callable[[dict[str, Any]], Scenario] | None = None

    async def _chat(self, request: Any, rec: Any, body: Any) -> Any:
        # No await between this enqueue and the parent's pop: the answer is this request's.
        if self.responder is not None and isinstance(body, dict):
            self.enqueue(self.responder(body))
        return await super()._chat(request, rec, body)

    def _update(self, rec: Any, **changes: Any) -> None:
        sent = changes.get("chunks_sent")
        if sent is not None:
            self.write_times.setdefault(rec.index, []).append(time.monotonic())
        if sent is not None and rec.scenario is not None:
            first = 2 if rec.scenario.role_chunk else 1
            now = time.monotonic()
            pieces = len(rec.scenario.pieces())
            if sent == first:
                self.first_piece_at[rec.index] = now
            if first <= sent < first + pieces:
                self.last_piece_at[rec.index] = now
                self.piece_times.setdefault(rec.index, []).append(now)
        super()._update(rec, **changes)

    def options(self, **extra: Any) -> dict[str, Any]:
        """initializationOptions pointing gpt-lsp at this simulator."""
        return {"baseUrl": self.base_url, "apiKey": API_KEY, "model": "gpt-4", **extra}
