"""A Session in process for tests: made with the shared editor fake and a scripted relay, and the
steps a test takes with it (open, run a job on a range, wait for a state)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpt_lsp.session.arguments import JobTarget, RunArgs
from gpt_lsp.session.session import Session
from tests.fakes.client import FakeClient
from tests.fakes.editor import FakeDocument
from tests.fakes.relay import Relay, sse

KEY = "sk-session-test-0123456789"
URI = "file:///work/demo.py"
SOURCE = "import os\n\ndef total(items):\n    return sum(items)\n\nprint(total([1]))\n"


def by_id(job_id: str) -> JobTarget:
    """The command argument naming a job by its id."""
    return JobTarget.model_validate({"jobId": job_id})


def make(
    tmp_path: Path,
    relay: Relay,
    profile: str = "vscode",
    *,
    answers: bool = True,
    **settings: Any,
) -> tuple[Session, FakeClient]:
    """A Session asking `relay`, connected to a FakeClient of `profile` with these settings."""
    client = FakeClient(profile, answers=answers)
    environ = {"GPT_LSP_CONFIG": os.devnull}
    session = Session(
        client,
        transport=relay.transport(),
        environ=environ,
        notes_dir=tmp_path,
        state_dir=tmp_path,
    )
    options = {"baseUrl": "http://relay.test/v1", "apiKey": KEY, "model": "gpt-4", **settings}
    client.connect(session, options)
    return session, client


def whole(doc_text: str, first: int, last: int) -> dict[str, Any]:
    """The range of lines first..last (inclusive), ending at the next line's start."""
    return {"start": {"line": first, "character": 0}, "end": {"line": last + 1, "character": 0}}


async def run(session: Session, action: str, rng: dict[str, Any]) -> str:
    """Runs `action` on `rng` of URI; returns the job's id."""
    result = session.run(RunArgs.model_validate({"action": action, "uri": URI, "range": rng}))
    return str(result["jobId"])


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Waits (bounded) until `predicate` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - state of the fake editor
            await asyncio.sleep(0.005)


async def streaming_job(
    tmp_path: Path,
    name: str,
    count: int,
    *,
    seen: int,
    delay: float = 0.02,
    profile: str = "vscode",
    source: str = SOURCE,
) -> tuple[Session, FakeClient, Relay, FakeDocument, str]:
    """A refactor of lines 2-3 (SOURCE's `total`) streaming the lines `{name}{i} = {i}`, i below
    count, `delay` s apart; returned once line `seen` is in the document."""
    relay = Relay()
    relay.delay = delay
    relay.answers.append(sse([f"{name}{i} = {i}\n" for i in range(count)]))
    session, client = make(tmp_path, relay, profile)
    doc = client.open(URI, source)
    job_id = await run(session, "refactor", whole(source, 2, 3))
    await until(lambda: f"{name}{seen} = {seen}" in doc.text)
    return session, client, relay, doc, job_id
