"""gpt-lsp's server as `gpt-lsp` runs it, plus bench-only hooks chosen by environment variables.

- BENCH_CPROFILE=path: profile the server's main thread (the event loop) with cProfile and dump
  the stats to `path` on SIGUSR2 and at exit.
- BENCH_STATS_FILE=path: on SIGUSR1, write a JSON line of internal counts (asyncio tasks,
  pygls request futures, jobs, channels, documents, progress tokens) to `path`.

Nothing here changes gpt_lsp: it builds the server with `create_server()` and serves stdio
exactly like `gpt_lsp.cli.serve`.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import signal
import sys
import time
from typing import Any


def _counts(server: Any, seq: int) -> dict[str, Any]:
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:
        tasks = -1
    protocol = server.protocol
    session = server.session
    return {
        "seq": seq,
        "time": time.monotonic(),
        "tasks": tasks,
        "request_futures": len(getattr(protocol, "_request_futures", {})),
        "jobs": len(session.jobs.jobs),
        "running_jobs": len(session.jobs.running()),
        "channels": len(session.channels),
        "documents": len(session.documents),
        "progress_tokens": len(server.work_done_progress.tokens),
    }


def main() -> int:
    from gpt_lsp.logs import configure
    from gpt_lsp.lsp.server import create_server

    configure(os.environ.get("BENCH_LOG_LEVEL", "WARNING"), None)
    server = create_server()
    profile_path = os.environ.get("BENCH_CPROFILE")
    stats_path = os.environ.get("BENCH_STATS_FILE")
    profiler = cProfile.Profile() if profile_path else None

    if stats_path:

        def on_usr1(signum: int, frame: Any) -> None:
            seq = int(os.environ.get("BENCH_STATS_SEQ", "0")) + 1
            os.environ["BENCH_STATS_SEQ"] = str(seq)
            with open(stats_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(_counts(server, seq)) + "\n")

        signal.signal(signal.SIGUSR1, on_usr1)

    if profiler is not None and profile_path:

        def on_usr2(signum: int, frame: Any) -> None:
            profiler.dump_stats(profile_path)

        signal.signal(signal.SIGUSR2, on_usr2)
        profiler.enable()
    lsp_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    from gpt_lsp.lsp.stdio import serve_stdio

    try:
        serve_stdio(server, sys.stdin.buffer, lsp_out)  # exactly as `gpt-lsp` serves
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
