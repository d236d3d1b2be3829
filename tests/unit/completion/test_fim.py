"""Fill-in-the-middle's pure parts: the request shape, which path a completion takes, a
refusal told from other errors, a dropped `suffix` told from the answer; what is remembered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from gpt_lsp.asking.target import Fim, Params
from gpt_lsp.completion import fim
from gpt_lsp.errors import (
    GptLspError,
    RelayConnectError,
    RelayStatusError,
    RelayTimeout,
)
from gpt_lsp.relay import shapes
from gpt_lsp.relay.bodies import error_from_body
from gpt_lsp.relay.events import TextDelta
from gpt_lsp.relay.memory import Learned, RelayMemory
from gpt_lsp.relay.request import ChatRequest, FimRequest, RelayQuirks
from gpt_lsp.settings import Settings, split_project_source
from gpt_lsp.settings.models import FimSetting
from tests.fakes.relay import Recorder, client, error

SUFFIX = "\n\nprint(add(1, 2))\n"


# ---------------------------------------------------------------- the request


def test_a_fim_request_is_prompt_and_suffix_to_the_legacy_endpoint() -> None:
    request = Fim("def add(a, b):\n    return ", SUFFIX).request("deepseek-coder", Params(64))
    assert isinstance(request, FimRequest)
    # Learned chat quirks do not touch it: the legacy endpoint knows max_tokens only.
    quirks = RelayQuirks(max_completion_tokens=True, no_system_role=True)
    assert shapes.body(request, quirks) == {
        "model": "deepseek-coder",
        "prompt": "def add(a, b):\n    return ",
        "suffix": SUFFIX,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 64,
    }
    assert shapes.endpoint("https://relay.example/api/v1", request) == (
        "https://relay.example/api/v1/completions"
    )
    chat = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="m", max_tokens=9)
    assert shapes.endpoint("https://relay.example/v1", chat).endswith("/v1/chat/completions")
    assert shapes.body(chat, quirks)["max_completion_tokens"] == 9


def test_codestrals_form_goes_to_fim_completions_with_its_fields_only() -> None:
    hole = Fim("def add(a, b):\n    return ", SUFFIX, fim.endpoint("fim/completions"))
    request = hole.request("codestral-latest", Params(64))
    assert shapes.endpoint("https://api.mistral.ai/v1", request) == (
        "https://api.mistral.ai/v1/fim/completions"
    )
    # Its schema forbids other fields: no stream_options (its last chunk has the usage).
    assert shapes.body(request, RelayQuirks()) == {
        "model": "codestral-latest",
        "prompt": "def add(a, b):\n    return ",
        "suffix": SUFFIX,
        "stream": True,
        "max_tokens": 64,
    }
    assert fim.endpoint("auto") == fim.endpoint("completions") == "completions"  # not probed
    assert fim.path("fim/completions", None) == fim.path("fim/completions", False) == "forced"


async def test_codestrals_chat_shaped_chunks_are_its_text() -> None:
    events = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "a + "}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    recorder = Recorder(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    relay, _ = client(recorder)
    request = Fim("x = ", SUFFIX, "fim/completions").request("codestral-latest", Params(8))
    texts = [
        e.text
        for batch in [b async for b in relay.stream_batches(request)]
        for e in batch
        if isinstance(e, TextDelta)
    ]
    assert "".join(texts) == "a + b"
    assert [r.url.path for r in recorder.requests] == ["/v1/fim/completions"]


def sse_text(*texts: str) -> httpx.Response:
    """A legacy /completions stream: `choices[0].text` pieces."""
    events = [{"choices": [{"index": 0, "text": t, "finish_reason": None}]} for t in texts]
    events.append({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


async def test_the_client_sends_it_and_reads_legacy_text_chunks() -> None:
    recorder = Recorder(sse_text("a + ", "b"))
    relay, _ = client(recorder)
    request = FimRequest(prompt="x = ", suffix=SUFFIX, model="m", max_tokens=8)
    events = [e async for batch in relay.stream_batches(request) for e in batch]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "a + b"
    assert str(recorder.requests[0].url) == "https://main.example/v1/completions"
    assert recorder.bodies()[0]["suffix"] == SUFFIX


async def test_a_refused_field_is_not_retried_and_a_model_error_lists_no_models() -> None:
    # A chat 400 naming a feature is retried without it; `suffix` is the request itself.
    recorder = Recorder(error(400, "Unrecognized request argument supplied: suffix"))
    relay, _ = client(recorder)
    request = FimRequest(prompt="x = ", suffix=SUFFIX, model="m")
    with pytest.raises(RelayStatusError) as caught:
        _ = [e async for e in relay.stream_batches(request)]
    assert fim.refused(caught.value) and len(recorder.requests) == 1
    recorder = Recorder(error(404, "The model `m` does not exist or you do not have access"))
    relay, _ = client(recorder)
    with pytest.raises(RelayStatusError) as caught:
        _ = [e async for e in relay.stream_batches(request)]
    assert fim.refused(caught.value)
    assert [r.url.path for r in recorder.requests] == ["/v1/completions"]  # no GET /models


# ---------------------------------------------------------------- the path


@pytest.mark.parametrize(
    ("setting", "served", "way"),
    [
        ("off", None, "chat"),
        ("off", True, "chat"),
        ("auto", None, "probe"),
        ("auto", True, "fim"),
        ("auto", False, "chat"),
        ("completions", False, "forced"),
        ("completions", None, "forced"),
    ],
)
def test_the_path_follows_the_setting_and_what_is_known(
    setting: FimSetting, served: bool | None, way: fim.Path
) -> None:
    assert fim.path(setting, served) == way


@pytest.mark.parametrize(
    ("completion", "relay", "effective"),
    [
        ("auto", "auto", "auto"),
        ("off", "completions", "off"),
        ("completions", "off", "off"),
        ("auto", "completions", "completions"),
        ("completions", "auto", "completions"),
        ("fim/completions", "auto", "fim/completions"),  # Codestral's form, either place
        ("auto", "fim/completions", "fim/completions"),
        ("completions", "fim/completions", "fim/completions"),  # the relay's says what it serves
        ("fim/completions", "off", "off"),
    ],
)
def test_either_setting_turns_it_off(completion: str, relay: str, effective: str) -> None:
    settings = Settings.model_validate(
        {
            "relays": {"r": {"baseUrl": "https://r.example", "fim": relay}},
            "completion": {"fim": completion},
        }
    )
    assert settings.completion_fim("r") == effective


def test_a_project_may_turn_fim_off_and_nothing_more() -> None:
    kept, ignored = split_project_source({"completion": {"fim": "off"}})
    assert kept == {"completion": {"fim": "off"}} and ignored == ()
    for value in ("completions", "auto"):
        kept, ignored = split_project_source({"completion": {"fim": value}})
        assert kept == {} and ignored == ("completion.fim",)


# ---------------------------------------------------------------- refusals


def refusal(status: int, message: str, *, html: bool = False) -> GptLspError:
    body = (
        f"<html><title>{message}</title></html>"
        if html
        else json.dumps({"error": {"message": message, "type": "one_api_error"}})
    )
    return error_from_body(status, body, is_html=html)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "Invalid URL (POST /v1/completions)"),
        (404, "This is a chat model and not supported in the v1/completions endpoint."),
        (405, "Method Not Allowed"),
        (400, "Unrecognized request argument supplied: suffix"),
        (400, "field messages is required"),
        (422, "prompt: field required"),
        (501, "not implemented"),
        (500, "upstream error: 不支持 suffix 参数"),
    ],
)
def test_a_relay_without_fim_is_told_by_its_refusal(status: int, message: str) -> None:
    assert fim.refused(refusal(status, message))


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "无效的令牌"),
        (401, "该令牌额度已用尽"),
        (403, "该令牌无权使用模型：gpt-4"),
        (403, "用户额度不足"),
        (429, "当前分组上游负载已饱和，请稍后再试"),
        (503, "当前分组 default 下对于模型 gpt-4 无可用渠道"),
        (500, "upstream error: do request failed"),
    ],
)
def test_a_key_quota_rate_or_channel_error_says_nothing_about_fim(
    status: int, message: str
) -> None:
    assert not fim.refused(refusal(status, message))


def test_a_gateway_or_network_failure_says_nothing_about_fim() -> None:
    assert not fim.refused(refusal(524, "A timeout occurred", html=True))
    assert not fim.refused(RelayConnectError("refused"))
    assert not fim.refused(RelayTimeout("slow", phase="first_byte"))


# ---------------------------------------------------------------- the answer


@pytest.mark.parametrize(
    ("answer", "finish", "judged"),
    [
        ("a + b", "stop", "kept"),  # the middle, ended by itself
        ("a + b\n\nprint(add(1, 2))\nprint(add(3", "length", "ignored"),
        ("a + b\n\nprint( add(1,", "length", "ignored"),  # cut off while repeating it
        ("a + b\n    # the sum\n    # of a and b\n", "length", "unknown"),  # ran on elsewhere
        ("a + b", "", "unknown"),  # no finish reason: cut short
    ],
)
def test_an_answer_that_repeats_the_suffix_shows_the_relay_dropped_it(
    answer: str, finish: str, judged: fim.Verdict
) -> None:
    assert fim.verdict(answer, SUFFIX, finish) == judged


def test_too_little_after_the_cursor_tells_nothing() -> None:
    assert fim.anchor("\n)\n") is None
    assert fim.verdict("a)\n", "\n)\n", "stop") == "unknown"
    assert fim.anchor("  foo(bar)\n  baz\n") == "foo(bar)baz"


def test_the_echo_starts_where_the_suffix_does() -> None:
    answer = "a + b\n\nprint(add(1, 2))\n"
    assert answer[: fim.repeat_at(answer, SUFFIX)] == "a + b\n\n"
    assert fim.repeat_at("a + b", SUFFIX) is None
    cut = "x)\n\nprint(ad"  # ends partway into it
    assert fim.repeat_at(cut, ")" + SUFFIX) == 1


# ---------------------------------------------------------------- remembered


def test_what_is_known_per_model_is_kept_between_sessions(tmp_path: Path) -> None:
    memory = RelayMemory(tmp_path / "relays.json")
    url = "https://relay.example/v1"
    memory.remember(url, Learned(fim={"coder": True, "gpt-4": False}, learned_at=time.time()))
    recalled = memory.recall(url)
    assert recalled is not None and dict(recalled.fim) == {"coder": True, "gpt-4": False}
    data = json.loads((tmp_path / "relays.json").read_text("utf-8"))
    data["relays"][url]["fim"] = {"coder": "yes", "m": False}  # a hand-edited file
    (tmp_path / "relays.json").write_text(json.dumps(data), "utf-8")
    recalled = memory.recall(url)
    assert recalled is not None and dict(recalled.fim) == {"m": False}
