"""The model picker over stdio: the relay's list, the switch, the next job's request, a relay
without /models, an unknown relay refused."""

from __future__ import annotations

from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.refusals import refused
from tests.relay_sim import RelaySim

SOURCE = "def add(a, b):\n    return a+b\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}


async def test_list_switch_and_the_next_job_uses_the_model(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.models = ["deepseek-chat", "gpt-4", "qwen-max"]
    editor = await make_editor(relay_options(relay_sim))
    listed = await editor.command("gptLsp.selectModel", {})
    assert listed == {
        "relay": "default",
        "current": "gpt-4",
        "models": ["deepseek-chat", "gpt-4", "qwen-max"],
    }
    gets = [r for r in relay_sim.requests if r.path.endswith("/models")]
    assert len(gets) == 1 and gets[0].method == "GET"
    switched = await editor.command("gptLsp.selectModel", {"model": "qwen-max"})
    assert switched == {"relay": "default", "current": "qwen-max"}
    uri = editor.open("m.py", SOURCE)
    result = await editor.command("gptLsp.run", {"action": "refactor", "uri": uri, "range": WHOLE})
    assert (await editor.wait_finished(result["jobId"]))["status"] == "done"
    chats = [r for r in relay_sim.requests if r.path.endswith("/chat/completions")]
    assert chats[-1].json["model"] == "qwen-max"
    status = await editor.command("gptLsp.status")
    assert status["relays"][0]["model"] == "qwen-max"


async def test_a_relay_without_models_and_an_unknown_relay(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    relay_sim.models = None
    editor = await make_editor(relay_options(relay_sim))
    answer = await editor.command("gptLsp.selectModel", {"refresh": True})
    assert answer["models"] == [] and "lists no models" in answer["message"]
    await refused(editor, "gptLsp.selectModel", {"relay": "elsewhere"}, "unknown relay")
