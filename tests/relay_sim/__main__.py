"""Serve a relay simulator by hand: python -m tests.relay_sim --port 8765 --text "hello"."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Sequence

from tests.relay_sim.scenario import Scenario
from tests.relay_sim.server import RelaySim


def main(argv: Sequence[str] | None = None) -> None:
    """Serve on 127.0.0.1 until Ctrl+C (or --duration seconds)."""
    parser = argparse.ArgumentParser(prog="python -m tests.relay_sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--prefix", default="/v1")
    parser.add_argument("--api-key", default=None, help="require this Bearer key")
    parser.add_argument("--text", default=Scenario().text)
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--chunk-size", type=int, default=4)
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    args = parser.parse_args(argv)
    sim = RelaySim(prefix=args.prefix, api_key=args.api_key, name="cli", port=args.port)
    sim.default = Scenario(text=args.text, pace=args.pace, chunk_size=args.chunk_size)
    # Ctrl+C can land anywhere once the URL is printed, not only inside the wait.
    with contextlib.suppress(KeyboardInterrupt), sim:
        print(f"relay simulator at {sim.base_url} (Ctrl+C to stop)", flush=True)
        threading.Event().wait(args.duration)


if __name__ == "__main__":
    main()
