"""gptLsp.selectModel in process: the list (cached, refreshed), no /models, the switch, a choice
kept in the state dir for the next session, and what wins over what."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gpt_lsp.errors import RequestRefused
from gpt_lsp.session.arguments import SelectModelArgs
from gpt_lsp.session.session import Session
from tests.fakes.client import FakeClient
from tests.fakes.relay import Relay
from tests.fakes.session import SOURCE, URI, make, run, whole


async def select(session: Session, **args: Any) -> dict[str, Any]:
    return await session.select_model(SelectModelArgs.model_validate(args))


async def job_model(session: Session, client: FakeClient, relay: Relay) -> str:
    if URI not in client.docs:
        client.open(URI, SOURCE)
    job_id = await run(session, "refactor", whole(SOURCE, 2, 3))
    await client.wait_finished(job_id)
    return str(relay.requests[-1]["model"])


async def test_the_list_is_fetched_once_and_again_on_refresh(tmp_path: Path) -> None:
    relay = Relay(models=["gpt-4o-mini", "deepseek-chat"])
    session, _ = make(tmp_path, relay)
    first = await select(session)
    assert first == {
        "relay": "default",
        "current": "gpt-4",
        "models": ["deepseek-chat", "gpt-4o-mini"],
    }
    relay.models = ["qwen-max"]
    assert (await select(session))["models"] == ["deepseek-chat", "gpt-4o-mini"]
    assert relay.model_gets == 1
    assert (await select(session, refresh=True))["models"] == ["qwen-max"]
    assert relay.model_gets == 2


async def test_a_relay_without_models_answers_an_empty_list_and_says_so(tmp_path: Path) -> None:
    relay = Relay(models=None)
    session, _ = make(tmp_path, relay)
    answer = await select(session)
    assert answer["models"] == []
    assert "lists no models" in answer["message"] and "any model name" in answer["message"]


async def test_an_unknown_relay_is_refused_without_a_request(tmp_path: Path) -> None:
    relay = Relay(models=["a"])
    session, _ = make(tmp_path, relay)
    with pytest.raises(RequestRefused, match="unknown relay 'nope'"):
        await select(session, relay="nope")
    with pytest.raises(RequestRefused, match="unknown relay 'nope'"):
        await select(session, relay="nope", model="a")
    assert relay.model_gets == 0


async def test_listing_code_actions_sends_nothing(tmp_path: Path) -> None:
    relay = Relay(models=["a"])
    session, client = make(tmp_path, relay)
    client.open(URI, SOURCE)
    from gpt_lsp.text.regions import Pos, Span

    assert session.code_actions(URI, Span(Pos(2, 0), Pos(4, 0)), [])
    assert relay.model_gets == 0 and relay.requests == []


async def test_the_chosen_model_goes_into_the_next_job_and_status(tmp_path: Path) -> None:
    relay = Relay(models=["deepseek-chat"])
    session, client = make(tmp_path, relay)
    assert await job_model(session, client, relay) == "gpt-4"
    assert await select(session, model="deepseek-chat") == {
        "relay": "default",
        "current": "deepseek-chat",
    }
    assert await job_model(session, client, relay) == "deepseek-chat"
    assert session.status()["relays"][0]["model"] == "deepseek-chat"
    assert (await select(session))["current"] == "deepseek-chat"


async def test_an_actions_own_model_still_wins(tmp_path: Path) -> None:
    action = {"id": "pinned", "title": "Pinned", "prompt": "Rewrite.", "model": "o1-mini"}
    relay = Relay(models=["deepseek-chat"])
    session, client = make(tmp_path, relay, actions=[action])
    await select(session, model="deepseek-chat")
    client.open(URI, SOURCE)
    job_id = await run(session, "pinned", whole(SOURCE, 2, 3))
    await client.wait_finished(job_id)
    assert relay.requests[-1]["model"] == "o1-mini"


async def test_a_reload_keeps_the_choice_unless_the_model_setting_changed(tmp_path: Path) -> None:
    relay = Relay(models=[])
    session, _ = make(tmp_path, relay)
    await select(session, model="deepseek-chat")
    session.config.set_project({"temperature": 0.2})
    session.config.reload()
    assert session.settings.model_for("default") == "deepseek-chat"
    session.config.set_project({"model": "qwen-max"})  # the user's newer setting wins
    session.config.reload()
    assert session.settings.model_for("default") == "qwen-max"


async def test_a_persisted_choice_starts_the_next_session(tmp_path: Path) -> None:
    relay = Relay(models=[])
    session, _ = make(tmp_path, relay)
    await select(session, model="session-only")
    fresh, _ = make(tmp_path, relay)
    assert fresh.settings.model_for("default") == "gpt-4"
    await select(session, model="kept", persist=True)
    assert json.loads((tmp_path / "models.json").read_text())["relays"]
    again, client = make(tmp_path, relay)
    assert again.status()["relays"][0]["model"] == "kept"
    assert await job_model(again, client, relay) == "kept"


async def test_a_model_setting_changed_after_the_persisted_choice_wins(tmp_path: Path) -> None:
    relay = Relay(models=[])
    session, _ = make(tmp_path, relay)
    await select(session, model="kept", persist=True)
    later, _ = make(tmp_path, relay, model="qwen-max")
    assert later.settings.model_for("default") == "qwen-max"


async def test_an_unwritable_state_dir_keeps_the_choice_for_the_session(tmp_path: Path) -> None:
    relay = Relay(models=[])
    session, _ = make(tmp_path, relay)
    (tmp_path / "models.json").mkdir()  # a directory where the file should be
    answer = await select(session, model="kept", persist=True)
    assert answer["current"] == "kept"
    assert "this session only" in answer["message"]


async def test_a_corrupt_choices_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text("{not json")
    relay = Relay(models=[])
    session, _ = make(tmp_path, relay)
    assert session.settings.model_for("default") == "gpt-4"
