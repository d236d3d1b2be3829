"""Baseline reader in its own process (as the server is): reads a streamed chat answer with
plain httpx. Commands on stdin, one JSON line each:
{"url", "key", "body", "mode": "bytes" | "json" | "urllib"}; answers one JSON line on stdout:
{"seconds", "cpu", "bytes", "events"}, timed from sending the request to the last byte (`cpu`: this
process's CPU seconds in that time).
`bytes` reads and drops the body; `json` also splits it into lines and json.loads the payload
of every `data: {` line: the least any client must do with a stream. `urllib` does the same
with the standard library alone (`urllib.request`, iterating the response's lines): the
plainest read there is, and the streaming scenario's baseline.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request

import httpx

# No proxy from the environment (the httpx reader has trust_env=False too).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def read_urllib(cmd: dict) -> dict:
    """Iterates the body's lines with urllib and json.loads every `data: {` payload."""
    started = time.perf_counter()
    cpu = time.process_time()
    size = 0
    events = 0
    request = urllib.request.Request(
        cmd["url"],
        data=json.dumps(cmd["body"]).encode(),
        headers={"Authorization": f"Bearer {cmd['key']}", "Content-Type": "application/json"},
    )
    with _OPENER.open(request, timeout=30) as resp:
        for line in resp:
            size += len(line)
            if line.startswith(b"data: {"):
                json.loads(line[6:])
                events += 1
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "bytes": size, "events": events}


async def read_once(client: httpx.AsyncClient, cmd: dict) -> dict:
    if cmd.get("mode") == "urllib":
        return read_urllib(cmd)  # blocking: this process reads one command at a time
    started = time.perf_counter()
    cpu = time.process_time()
    size = 0
    events = 0
    headers = {"Authorization": f"Bearer {cmd['key']}"}
    async with client.stream("POST", cmd["url"], json=cmd["body"], headers=headers) as resp:
        if cmd.get("mode") == "json":
            rest = b""
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"data: {"):
                        json.loads(line[6:])
                        events += 1
        else:
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "bytes": size, "events": events}


async def main() -> None:
    loop = asyncio.get_running_loop()
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        for _ in range(10_000):  # bounded: one command per line, EOF ends
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            result = await read_once(client, json.loads(line))
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
