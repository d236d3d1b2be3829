"""The flow matrix in real VS Code (code-server in headless Chromium): what the README promises
holds in a user's ordinary flows. Explain opens its notes beside the code (with a `.git` root and
without); typing above and below a running job, a job on a selection and a follow-up turn each
come back to the text from before the first turn with one Ctrl+Z, the user's typing kept, and the
server ends the job `undone`; Ctrl+. on a word inside a function offers and runs the function's
actions; a relay's error stays readable; `AI: Cancel` shows while the answer streams; the pending
note does not widen its line.

One code-server and one browser session (flows.mjs) serve the whole module, one flow per test,
each on its own file and from a window without editors, so a failing flow says which it is.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editors.vscode_session import (
    API_KEY,
    ARTIFACTS,
    CHROMIUM,
    DRIVER,
    MODEL,
    ORIGINAL,
    REFACTORED_CODE,
    TOOLS,
    start_code_server,
    tail,
)
from tests.relay_sim import RelaySim, Scenario

pytestmark = pytest.mark.editor

HEAD = "import sys\n\n\n"
SOURCE = HEAD + ORIGINAL  # `def total` is line 4; its body ends on line 8
FIRST, COUNT = 4, 5
TAIL = ORIGINAL[ORIGINAL.index("\n\nprint") :]
AFTER = HEAD + REFACTORED_CODE + TAIL
SHORTER = "def total(items):\n    return sum(items)\n"
REFINED = HEAD + SHORTER + TAIL
EXPLANATION = "`total` adds the items one at a time and returns the sum, like `sum(items)`.\n"
ABOVE = "# typed above while it streams"
BELOW = "x = total([4, 5])"
RELAY_REASON = "该令牌额度已用尽 quota exhausted for this token"
LONG_FIRST = (
    "def total(items):  # the sum of the items, a first line long enough to reach the right edge\n"
    "    return sum(items)\n"
)
FLOWS = DRIVER.parent / "flows.mjs"
FLOW_FILES = (
    "explain",
    "typing",
    "selection",
    "followup",
    "followup_moved",
    "bare",
    "failed",
    "lenses",
    "note",
)


class Flows:
    """The flows.mjs process: one browser session, one flow at a time, its lines logged."""

    def __init__(self, proc: subprocess.Popen[str], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.folder: str | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(
        self,
        flow: str,
        timeout: float = 120,
        on_step: dict[str, Callable[[], None]] | None = None,
        **args: Any,
    ) -> dict[str, Any]:
        """Runs one flow; returns its result line (steps are logged, not returned; a step named
        in `on_step` calls its function, which lets a relay's held answer go on)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"flow": flow, **args}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self.log_path.open("a", encoding="utf-8") as log:
            while True:
                try:
                    line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    pytest.fail(f"flow {flow} gave no result in {timeout:.0f} s")
                if line is None:
                    pytest.fail(f"flows.mjs exited during {flow} ({self.proc.poll()})")
                log.write(line)
                if not line.startswith("{"):
                    continue
                out = json.loads(line)
                if out.get("step") in (on_step or {}):
                    on_step[out["step"]]()  # type: ignore[index]
                if out.get("flow") == flow and out.get("done"):
                    return out  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def flows(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """code-server on a git workspace holding one file per flow, and the flows.mjs session."""
    tmp = tmp_path_factory.mktemp("vscode-flows")
    artifacts = ARTIFACTS / "flows"
    # flow_*: a workspace file named like a stdlib module (typing.py) would shadow it in the
    # test's `python -m gpt_lsp`, which runs in the workspace folder.
    files = {f"flow_{name}.py": SOURCE for name in FLOW_FILES}
    with RelaySim(prefix="/v1", api_key=API_KEY) as relay:
        settings = {"gptLsp.baseUrl": relay.base_url, "gptLsp.model": MODEL}
        env = {"GPT_LSP_API_KEY": API_KEY}
        with start_code_server(tmp, settings, files, env, artifacts) as running:
            workspace = Path(str(running["workspace"]))
            subprocess.run(["git", "init", "-q", str(workspace)], check=True, timeout=30)
            plain = tmp / "no-root-marker"  # a folder without .git, for explain
            plain.mkdir()
            (plain / "flow_explain.py").write_text(SOURCE, "utf-8")
            url = str(running["url"])
            driver = {
                "playwright": str(TOOLS / "node_modules" / "playwright-core"),
                "chromium": str(CHROMIUM),
                "artifacts": str(artifacts),
            }
            log_path = artifacts / "flows.log"
            log_path.write_text("", "utf-8")
            proc = subprocess.Popen(
                [str(running["node"]), str(FLOWS), json.dumps(driver)],
                env=dict(running["env"]),  # type: ignore[call-overload]
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                yield {
                    "driver": Flows(proc, log_path),
                    "relay": relay,
                    "urls": {"git": url, "plain": url.split("?folder=")[0] + f"?folder={plain}"},
                    "folders": {"git": workspace, "plain": plain},
                    "user_data": running["user_data"],
                    "server_log": running["server_log"],
                }
            finally:
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def run_flow(
    flows: dict[str, Any],
    flow: str,
    *scenarios: Scenario,
    folder: str = "git",
    on_step: dict[str, Callable[[], None]] | None = None,
    **args: Any,
) -> dict[str, Any]:
    """Answers the flow's requests with `scenarios`, in `folder`'s window; runs the flow."""
    relay: RelaySim = flows["relay"]
    relay.reset()
    relay.default = Scenario(text="unexpected extra request", pace=0.01)
    relay.enqueue(*scenarios)
    driver: Flows = flows["driver"]
    if driver.folder != folder:
        opened = driver.run("open", url=flows["urls"][folder])
        assert "error" not in opened, opened
        driver.folder = folder
    result = driver.run(flow, on_step=on_step, **args)
    assert "error" not in result, (
        f"{flow} failed: {result}\nserver log tail:\n{tail(flows['server_log'])}"
    )
    return result


def outcome(flows: dict[str, Any], name: str, timeout: float = 30.0) -> str | None:
    """How the server ended the review of the job in `name` (gptLsp/review in the LSP trace)."""
    deadline = time.monotonic() + timeout
    while True:
        for review in reviews(Path(str(flows["user_data"]))):
            if review["uri"].endswith(f"/{name}") and review["status"] == "ended":
                return str(review.get("outcome"))
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def reviews(user_data: Path) -> list[dict[str, Any]]:
    """The gptLsp/review notifications in the "GPT LSP" output channels' traces."""
    return traced(user_data, r"Received notification 'gptLsp/review'")


def restores(flows: dict[str, Any], name: str) -> list[str]:
    """The labels of the server's restore edits (it put the original back itself) in `name`."""
    edits = traced(
        Path(str(flows["user_data"])), r"Received request 'workspace/applyEdit - \(.*?\)'"
    )
    return [
        e["label"]
        for e in edits
        if e.get("label", "").endswith(" restore")
        and e["edit"]["documentChanges"][0]["textDocument"]["uri"].endswith(f"/{name}")
    ]


def traced(user_data: Path, message: str) -> list[dict[str, Any]]:
    """The params of each `message` in the "GPT LSP" output channels' traces."""
    found = []
    for path in sorted(user_data.joinpath("logs").rglob("*GPT LSP*")):
        text = path.read_text("utf-8", errors="replace")
        pattern = message + r"\.\nParams: (\{.*?\n\})"
        found += [json.loads(m[1]) for m in re.finditer(pattern, text, re.S)]
    return found


def lines_args(name: str, **more: Any) -> dict[str, Any]:
    return {
        "file": f"flow_{name}.py",
        "original": SOURCE,
        "firstLine": FIRST,
        "lineCount": COUNT,
        **more,
    }


@pytest.mark.parametrize("folder", ["git", "plain"])
def test_explain_opens_its_notes_beside_the_code(flows: dict[str, Any], folder: str) -> None:
    """The notes document opens in a second group beside the source, which keeps the focus."""
    answer = Scenario(text=EXPLANATION, chunk_size=8, pace=0.01)
    result = run_flow(
        flows,
        "explain",
        answer,
        folder=folder,
        name=folder,
        notes=EXPLANATION,
        **lines_args("explain"),
    )
    source, notes = result["groups"]
    assert source["tab"].startswith("flow_explain.py") and source["text"] == SOURCE.rstrip(), result
    assert source["active"] and not notes["active"], result  # the focus stayed on the code
    assert notes["tab"].endswith(".md") or ".md" in notes["tab"], result
    assert " ".join(EXPLANATION.split()) in " ".join(notes["text"].split()), result  # wrapped


def test_typing_above_and_below_a_running_job_then_one_undo(flows: dict[str, Any]) -> None:
    """One Ctrl+Z after the job: the function as it was, both typed lines kept; ends `undone`."""
    # The relay holds the answer after its docstring until the user has typed: the typing
    # surely happens while the job runs, however slow the machine.
    typed = threading.Event()
    answer = Scenario(text=REFACTORED_CODE, chunk_size=2, pace=0.02, hold_after=30, release=typed)
    try:
        result = run_flow(
            flows,
            "typing",
            answer,
            on_step={"typed": typed.set},
            **lines_args("typing"),
            startedWhen='"""Returns the sum',
            above=ABOVE,
            below=BELOW,
            expected=f"{ABOVE}\n{AFTER}{BELOW}",
        )
    finally:
        typed.set()  # a failed flow leaves no answer held
    assert result["streamingAfterTyping"], result  # the typing really happened mid-stream
    assert result["text"] == f"{ABOVE}\n{SOURCE}{BELOW}", result
    assert outcome(flows, "flow_typing.py") == "undone"


def test_a_job_on_a_selection_then_one_undo(flows: dict[str, Any]) -> None:
    answer = Scenario(text=REFACTORED_CODE, chunk_size=3, pace=0.01)
    result = run_flow(flows, "selection", answer, **lines_args("selection"), expected=AFTER)
    assert result["text"] == SOURCE.rstrip(), result
    assert outcome(flows, "flow_selection.py") == "undone"
    assert restores(flows, "flow_selection.py") == []  # VS Code's one undo step did it all


@pytest.mark.parametrize("moved", [False, True], ids=["on-the-selection", "cursor-moved"])
def test_a_follow_up_turn_then_one_undo(flows: dict[str, Any], moved: bool) -> None:
    """One Ctrl+Z after a follow-up turn: the text from before the first turn. On the job's
    selection (Ctrl+Alt+G) both turns are one undo step; after a cursor move (VS Code closes
    the step) the undo lands on the first turn's text and the server restores the original."""
    first = Scenario(text=REFACTORED_CODE, chunk_size=3, pace=0.01)
    second = Scenario(text=SHORTER, chunk_size=3, pace=0.01)
    name = "followup_moved" if moved else "followup"
    result = run_flow(
        flows,
        "followup",
        first,
        second,
        **lines_args(name),
        expected=AFTER,
        refined=REFINED,
        instruction="drop the average",
        moveCursor=moved,
    )
    assert result["text"] == SOURCE.rstrip(), result
    assert outcome(flows, f"flow_{name}.py") == "undone"
    # On the selection VS Code's own undo brought the original back (one undo step for both
    # turns); after a cursor move the server had to put it back.
    assert len(restores(flows, f"flow_{name}.py")) == (1 if moved else 0)


def test_a_bare_cursor_on_code_offers_the_function_actions(flows: dict[str, Any]) -> None:
    """Ctrl+. on `result` inside `total`, no selection: `AI: Refactor total` rewrites it all."""
    answer = Scenario(text=REFACTORED_CODE, chunk_size=4, pace=0.01)
    line = SOURCE.splitlines().index("        result = result + item") + 1
    result = run_flow(
        flows,
        "bare",
        answer,
        file="flow_bare.py",
        original=SOURCE,
        action="AI: Refactor total",
        line=line,
        column=10,
        expected=AFTER,
    )
    assert "AI: Refactor total" in result["menu"], result
    assert result["text"] == AFTER.rstrip(), result
    chats = [r for r in flows["relay"].requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and "for item in items:" in json.dumps(chats[0].json)


def test_a_failed_job_keeps_the_relay_reason_readable(flows: dict[str, Any]) -> None:
    """The relay's own words in a notification that outlives the job; the file untouched."""
    error = Scenario.error(429, RELAY_REASON)
    result = run_flow(
        flows, "failed", error, **lines_args("failed"), reason="quota exhausted", failed="failed"
    )
    assert RELAY_REASON in result["toast"] and RELAY_REASON in result["later"], result
    assert result["text"] == SOURCE.rstrip(), result


def test_the_cancel_lens_shows_while_the_answer_streams(flows: dict[str, Any]) -> None:
    """VS Code asks for lenses again only after a pause in the document's changes (its request
    is put off by every change), so they must arrive before the first streamed edit: a relay's
    first byte takes a moment (1 s here; real relays take 0.3-2 s), and the lenses the server
    gives at the job's start, Cancel among them, stay drawn while the answer streams in. The
    relay goes silent before the end (until the cancel closes the request), so the click lands
    on a running job however slow the machine."""
    answer = Scenario(
        text=REFACTORED_CODE, chunk_size=2, pace=0.04, first_byte_delay=1.0, hang_after=90
    )
    result = run_flow(flows, "lenses", answer, **lines_args("lenses"), expected=AFTER)
    assert {"AI: Accept", "AI: Reject", "AI: Cancel"} <= set(result["mid"]["titles"]), result
    relay: RelaySim = flows["relay"]
    chat = [r for r in relay.requests if r.path.endswith("/chat/completions")][-1]
    assert relay.wait_for_disconnect(chat.index, timeout=30) is not None
    assert relay.requests[chat.index].client_disconnected  # the cancel closed the request
    assert result["text"] == SOURCE.rstrip() and result["lenses"] == [], result
    assert outcome(flows, "flow_lenses.py") == "cancelled"


def test_the_pending_note_does_not_widen_its_line(flows: dict[str, Any]) -> None:
    """A long first line fits the editor; the note after it must not make it scroll sideways."""
    answer = Scenario(text=LONG_FIRST, chunk_size=8, pace=0.01)
    result = run_flow(
        flows, "note", answer, **lines_args("note"), expected=HEAD + LONG_FIRST + TAIL
    )
    assert not result["before"]["scrolls"], result
    assert "AI edit pending" in result["note"], result
    assert not result["after"]["scrolls"], result
