"""The Chinese UI end to end: a server whose client asks for zh-CN (or whose `language` setting
is zh), and `gpt-lsp check` / `gpt-lsp usage` under LANG=zh_CN.UTF-8."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from gpt_lsp.i18n import width
from tests.conftest import RelaySimFactory
from tests.e2e.cli import (
    CANARY,
    assert_no_key,
    cli_in_repo,
    env_for,
    isolated_env,
    one_line,
    run_cli,
)
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor, server_env
from tests.relay_sim import INVALID_TOKEN, MSG_INVALID_TOKEN, RelaySim, Scenario

SOURCE = "def add(a, b):\n    return a+b\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
PRICES = {"default": {"prices": {"gpt-4": {"input": 10000, "output": 10000}}}}
ZH = "zh_CN.UTF-8"


def lsp_range(first: int, first_char: int, last: int, last_char: int) -> types.Range:
    return types.Range(types.Position(first, first_char), types.Position(last, last_char))


async def titles(editor: Editor, uri: str, rng: types.Range) -> list[str]:
    return [action.title for action in await editor.code_actions(uri, rng)]


async def run(editor: Editor, uri: str, action: str = "refactor") -> dict[str, Any]:
    result = await editor.command("gptLsp.run", {"action": action, "uri": uri, "range": WHOLE})
    return await editor.wait_finished(result["jobId"])


async def test_a_chinese_client_reads_titles_progress_and_end_in_chinese(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, relays=PRICES), locale="zh-CN")
    relay_sim.default = Scenario(
        text="def add(a, b):\n    return a + b\n", prompt_tokens=100, completion_tokens=20
    )
    uri = editor.open("zh.py", SOURCE)
    assert await titles(editor, uri, lsp_range(0, 0, 2, 0)) == [
        "AI: 重构",
        "AI: 修复",
        "AI: 添加文档",
        "AI: 解释",
    ]
    # A bare cursor: the actions name the definition around it.
    assert (await titles(editor, uri, lsp_range(1, 4, 1, 4)))[0] == "AI: 重构 add"
    finished = await run(editor, uri)
    assert finished["status"] == "done"  # the protocol's words stay English
    begin, *_middle, end = editor.client.progress_reports[f"gpt-lsp/{finished['jobId']}"]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert (begin.title, begin.message) == ("AI: 重构", "开始")
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert end.message is not None
    assert re.fullmatch(r"完成，120 个 token，\d+\.\d 秒，\$1\.2000（600,000 额度）", end.message)
    assert finished["summary"] == f"AI: 重构: {end.message}"
    status = await editor.command("gptLsp.status")
    assert [a["title"] for a in status["actions"]] == [
        "AI: 重构",
        "AI: 修复",
        "AI: 添加文档",
        "AI: 解释",
    ]


async def test_a_relay_error_has_a_chinese_hint_and_the_relays_own_words(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim), locale="zh-CN")
    relay_sim.default = INVALID_TOKEN
    uri = editor.open("err.py", SOURCE)
    finished = await run(editor, uri)
    assert finished["status"] == "failed"
    assert editor.text(uri) == SOURCE
    message = finished["message"]
    assert f"HTTP 401: {MSG_INVALID_TOKEN}" in message  # verbatim
    assert message.startswith("中转站“default”（127.0.0.1:")
    assert message.endswith("请检查该中转站的 API 密钥（apiKey / apiKeyEnv / GPT_LSP_API_KEY）。")
    assert any(m.message == message for m in editor.client.messages)
    assert "Check the API key" not in message


async def test_the_language_setting_gives_the_same_ui(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, language="zh"))
    uri = editor.open("setting.py", SOURCE)
    assert await titles(editor, uri, lsp_range(0, 0, 2, 0)) == [
        "AI: 重构",
        "AI: 修复",
        "AI: 添加文档",
        "AI: 解释",
    ]
    finished = await run(editor, uri, "document")
    assert finished["summary"].startswith("AI: 添加文档: 完成，")
    # The same setting still asks the relay for Chinese prose.
    assert "Chinese" in relay_sim.requests[-1].json["messages"][0]["content"]


@pytest.mark.parametrize(
    ("locale", "options"),
    [("fr", {}), ("fr-FR", {"language": "de"}), ("zh-CN", {"language": "en"})],
    ids=["unknown-locale", "unknown-both", "english-setting-wins"],
)
async def test_english_otherwise(
    make_editor: EditorFactory, relay_sim: RelaySim, locale: str, options: dict[str, Any]
) -> None:
    editor = await make_editor(relay_options(relay_sim, **options), locale=locale)
    uri = editor.open("en.py", SOURCE)
    assert (await titles(editor, uri, lsp_range(0, 0, 2, 0)))[0] == "AI: Refactor"
    finished = await run(editor, uri)
    begin = editor.client.progress_reports[f"gpt-lsp/{finished['jobId']}"][0]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.title == "AI: Refactor"
    assert finished["summary"].startswith("AI: Refactor: done, ")


# ---------------------------------------------------------------- the command line


def zh_rows(stdout: str) -> dict[str, str]:
    """The `标签：值` rows of a Chinese check report, checking the values line up."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        label, sep, rest = line.partition("：")
        assert sep, f"unexpected line in the report: {line!r}"
        value = rest.lstrip(" ")
        assert width(line[: len(line) - len(value)]) == 13, line  # one value column
        out[label] = value
    return out


@pytest.fixture
def sim(relay_sim_factory: RelaySimFactory) -> RelaySim:
    return relay_sim_factory(api_key=CANARY, name="main")


def test_check_speaks_chinese_under_a_chinese_lang(tmp_path: Path, sim: RelaySim) -> None:
    sim.default = Scenario(text="OK", prompt_tokens=12, completion_tokens=3)
    sim.balance_usd, sim.used_usd = 7.5, 2.5
    proc = run_cli(env_for(tmp_path, sim, GPT_LSP_MODEL="gpt-4", LANG=ZH), "check")
    assert proc.returncode == 0, proc.stderr
    report = zh_rows(proc.stdout)
    assert list(report)[:8] == [
        "中转站",
        "地址",
        "模型",
        "回答",
        "首个 token",
        "总耗时",
        "用量",
        "费用",
    ]
    assert report["中转站"] == "default" and report["回答"] == "OK"
    assert report["首个 token"].endswith(" 毫秒")
    assert report["用量"] == "提示 12 + 补全 3 个 token（中转站报告）"
    assert report["费用"] == "未配置价格"
    assert report["余额"] == "剩余 $7.50（3,750,000 额度），上限 $10.00（5,000,000 额度）"
    assert_no_key(proc)


@pytest.mark.parametrize(
    "environ",
    [{"LANG": ZH}, {"LC_ALL": ZH, "LANG": "en_US.UTF-8"}, {"LANGUAGE": "zh_CN:en"}],
    ids=["LANG", "LC_ALL", "LANGUAGE"],
)
def test_a_failed_check_is_chinese_with_the_relays_words(
    tmp_path: Path, sim: RelaySim, environ: dict[str, str]
) -> None:
    sim.default = INVALID_TOKEN
    proc = run_cli(env_for(tmp_path, sim, GPT_LSP_MODEL="gpt-4", **environ), "check")
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert line.startswith("错误：中转站“default”") and f"HTTP 401: {MSG_INVALID_TOKEN}" in line
    assert line.endswith("（apiKey / apiKeyEnv / GPT_LSP_API_KEY）。")
    assert_no_key(proc)


def test_check_in_a_c_terminal_follows_the_language_setting(tmp_path: Path, sim: RelaySim) -> None:
    config = tmp_path / "config" / "gpt-lsp" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'language = "zh-CN"\nbaseUrl = "{sim.base_url}"\nmodel = "gpt-4"\n')
    env = isolated_env(tmp_path, GPT_LSP_API_KEY=CANARY, LANG="C.UTF-8")
    proc = run_cli(env, "check")
    assert proc.returncode == 0, proc.stderr
    assert zh_rows(proc.stdout)["中转站"] == "default"
    english = run_cli({**env, "LANG": "en_US.UTF-8"}, "check")  # a terminal that asks for English
    assert english.stdout.startswith("relay:       default\n"), english.stdout


def test_check_stays_english_under_c_or_an_unknown_lang(tmp_path: Path, sim: RelaySim) -> None:
    for lang in ("C.UTF-8", "fr_FR.UTF-8"):
        proc = run_cli(env_for(tmp_path, sim, GPT_LSP_MODEL="gpt-4", LANG=lang), "check")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("relay:       default\n")


async def test_usage_speaks_chinese_under_a_chinese_lang(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    editor = await make_editor(relay_options(relay_sim, relays=PRICES))
    relay_sim.default = Scenario(text="x = 1\n", prompt_tokens=100, completion_tokens=20)
    uri = editor.open("usage.py", SOURCE)
    assert (await run(editor, uri))["status"] == "done"
    table = cli_in_repo(server_env(tmp_path, {"LANG": ZH}), "usage")
    assert table.returncode == 0, table.stderr
    day, model = table.stdout.split("\n\n")
    assert "起的用量（30 天），按日期" in day.splitlines()[0]
    assert model.splitlines()[1].split() == ["模型", "请求数", "提示", "补全", "费用", "额度"]
    assert model.splitlines()[2].split()[:2] == ["gpt-4", "1"]
    assert model.splitlines()[-1].split()[:2] == ["总计", "1"]
    english = cli_in_repo(server_env(tmp_path), "usage", "--by", "model")
    assert english.stdout.splitlines()[1].split()[0] == "model"
    bad = cli_in_repo(server_env(tmp_path, {"LANG": ZH}), "usage", "--days", "0")
    assert bad.returncode == 2 and "必须大于等于 1" in bad.stderr


async def first_title(editor: Editor, uri: str, wanted: str) -> str:
    """The first code action's title, once it is `wanted` (settings apply asynchronously)."""
    title = ""
    for _attempt in range(50):  # 5 s at most
        title = (await titles(editor, uri, lsp_range(0, 0, 2, 0)))[0]
        if title == wanted:
            break
        await asyncio.sleep(0.1)
    return title


async def test_changing_the_language_setting_switches_the_ui_live(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    options = relay_options(relay_sim)
    editor = await make_editor(options, locale="fr")
    uri = editor.open("live.py", SOURCE)
    assert await first_title(editor, uri, "AI: Refactor") == "AI: Refactor"
    notify = editor.client.protocol.notify
    notify("gptLsp/didChangeUserSettings", {"settings": {**options, "language": "zh-CN"}})
    assert await first_title(editor, uri, "AI: 重构") == "AI: 重构"
    notify("gptLsp/didChangeUserSettings", {"settings": options})  # back to the locale: fr
    assert await first_title(editor, uri, "AI: Refactor") == "AI: Refactor"


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("警告：", "warning: "))]


def test_a_mistyped_base_url_is_one_chinese_warning_with_the_right_spelling(
    tmp_path: Path, sim: RelaySim
) -> None:
    config = tmp_path / "config" / "gpt-lsp" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'baseURL = "{sim.base_url}"\nmodel = "gpt-4"\n')
    env = isolated_env(tmp_path, GPT_LSP_API_KEY=CANARY, LANG=ZH)
    proc = run_cli(env, "check")
    assert proc.returncode != 0
    # Only the typo: nothing about a relays.default the user never wrote.
    assert warnings_of(proc.stderr) == ["警告：未知的键“baseURL”已忽略（是否想写“baseUrl”？）"]
    english = run_cli({**env, "LANG": "C.UTF-8"}, "check")
    assert warnings_of(english.stderr) == [
        "warning: unknown key 'baseURL' ignored (did you mean 'baseUrl'?)"
    ]
    assert_no_key(proc)


def test_settings_warnings_are_chinese_under_a_chinese_lang(tmp_path: Path, sim: RelaySim) -> None:
    config = tmp_path / "config" / "gpt-lsp" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'baseUrl = "{sim.base_url}"\nmodel = "gpt-4"\ntemperature = "hot"\nmaxTokens = -1\n'
        'relay = "nope"\nexclude = 3\n[relays.bad]\nbaseUrl = "127.0.0.1:4000"\n'
        '[completion]\nmultiline = "sometimes"\n'
    )
    sim.default = Scenario(text="OK")
    proc = run_cli(isolated_env(tmp_path, GPT_LSP_API_KEY=CANARY, LANG=ZH), "check")
    assert proc.returncode == 0, proc.stderr
    lines = warnings_of(proc.stderr)
    assert len(lines) == 6, lines
    text = "\n".join(lines)
    for words in ("using the default", "ignored", "Input should", "must ", "is not defined"):
        assert words not in text, lines
    assert "temperature：必须是数字；使用默认值" in text
    assert "maxTokens：必须大于 0；使用默认值" in text
    assert "relays.bad.baseUrl：必须以 http:// 或 https:// 开头" in text
    assert "改写为“https://127.0.0.1:4000”" in text and "relays.bad 已忽略" in text
    assert "relay：“nope”未定义（已定义的中转站：default）；使用默认中转站" in text
    assert "exclude：必须是列表；使用默认值" in text
    assert "completion.multiline：必须是 'auto'、'always' 或 'never' 之一；使用默认值" in text
