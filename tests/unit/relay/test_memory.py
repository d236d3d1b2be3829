"""What gpt-lsp remembers of a relay between sessions, and how a client uses and updates it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from gpt_lsp.relay.memory import MAX_AGE_DAYS, Learned, RelayMemory
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.relay.request import ChatRequest
from gpt_lsp.settings import merge_sources, validate

URL = "https://relay.test/v1"


def test_remember_recall_forget(tmp_path: Path) -> None:
    memory = RelayMemory(tmp_path / "state" / "relays.json")
    assert memory.recall(URL) is None
    learned = Learned(no_system_role=True, learned_at=time.time())
    memory.remember(URL, learned)
    assert memory.recall(URL) == learned
    assert RelayMemory(memory.path).recall("https://other.test/v1") is None
    assert memory.forget(URL) is True
    assert memory.recall(URL) is None
    assert memory.forget(URL) is False


def test_an_old_record_is_tried_afresh(tmp_path: Path) -> None:
    memory = RelayMemory(tmp_path / "relays.json")
    old = time.time() - (MAX_AGE_DAYS + 1) * 86400
    memory.remember(URL, Learned(no_stream_options=True, learned_at=old))
    assert memory.recall(URL) is None


def test_a_broken_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "relays.json"
    path.write_text("{not json", "utf-8")
    memory = RelayMemory(path)
    assert memory.recall(URL) is None
    memory.remember(URL, Learned(max_completion_tokens=True, learned_at=time.time()))
    assert json.loads(path.read_text("utf-8"))["relays"][URL]["maxCompletionTokens"] is True


def pool(tmp_path: Path, handler: httpx.MockTransport) -> RelayPool:
    settings, problems = validate(merge_sources({"baseUrl": URL, "apiKey": "sk-memory-0123456789"}))
    assert not problems
    return RelayPool(settings, transport=handler, memory=RelayMemory(tmp_path / "relays.json"))


def sse_ok() -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": "OK"}, "finish_reason": "stop"}]}
    return f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()


async def test_a_quirk_learned_once_is_used_by_the_next_pool(tmp_path: Path) -> None:
    bodies: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if any(m["role"] == "system" for m in body["messages"]):  # type: ignore[index]
            return httpx.Response(400, json={"error": {"message": "system role is not supported"}})
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_ok())

    request = ChatRequest(
        messages=[{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}],
        model="gpt-4",
    )
    first = pool(tmp_path, httpx.MockTransport(handle))
    async for _ in first.get().stream_chat(request):
        pass
    await first.aclose()
    assert len(bodies) == 2  # rejected, then folded
    second = pool(tmp_path, httpx.MockTransport(handle))
    async for _ in second.get().stream_chat(request):
        pass
    await second.aclose()
    assert len(bodies) == 3  # the next session folds at once: one request, not two
    assert all(m["role"] != "system" for m in bodies[2]["messages"])  # type: ignore[union-attr]


def test_pick_model_prefers_cheap_chat_models() -> None:
    from gpt_lsp.relay.models import pick_model

    assert pick_model(["gpt-4", "text-embedding-3-small", "gpt-4o-mini-2024-07-18"]) == (
        "gpt-4o-mini-2024-07-18"
    )
    assert pick_model(["claude-3-opus", "deepseek-chat"]) == "deepseek-chat"
    assert pick_model(["text-embedding-ada-002", "my-model"]) == "my-model"
    assert pick_model(["whisper-1"]) is None
    assert pick_model([]) is None


async def test_with_no_model_configured_a_denied_default_is_swapped_for_a_listed_one(
    tmp_path: Path,
) -> None:
    models_seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "gpt-4"}, {"id": "gpt-4o-mini"}]})
        model = json.loads(request.content)["model"]
        models_seen.append(model)
        if model != "gpt-4o-mini":
            message = f"Invalid model name passed in model={model}"
            return httpx.Response(400, json={"error": {"message": message}})
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_ok())

    first = pool(tmp_path, httpx.MockTransport(handle))
    client = first.get()
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], model=client.default_model)
    async for _ in client.stream_chat(request):
        pass
    await first.aclose()
    assert models_seen == ["gpt-3.5-turbo", "gpt-4o-mini"]
    assert request.model == "gpt-4o-mini"  # the job's usage and ledger name the model used
    again = pool(tmp_path, httpx.MockTransport(handle))
    assert again.get().default_model == "gpt-4o-mini"  # remembered for the next session
    await again.aclose()
