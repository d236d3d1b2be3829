"""The UI language: catalogs as shipped, the choice of language, and what it translates."""

from __future__ import annotations

import ast
import gettext
import io
import string
from pathlib import Path

import httpx
import pytest

from gpt_lsp import i18n
from gpt_lsp.accounting.budget import Caps, decide
from gpt_lsp.accounting.ledger import Record, Spend
from gpt_lsp.accounting.report import group, render_table
from gpt_lsp.errors import AuthError, MissingKeyError, RelayConnectError
from gpt_lsp.prompting.actions import BUILTIN_ACTIONS, all_actions
from gpt_lsp.prompting.definitions import Definition
from gpt_lsp.prompting.offers import list_offers
from gpt_lsp.relay.classify import classify_status
from gpt_lsp.relay.translate import translate_httpx_error
from gpt_lsp.settings import ActionConfig, Settings, load_settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span
from scripts.catalogs import (
    LOCALE,
    MARKERS,
    PACKAGE,
    compile_mo,
    extract,
    parse_po,
    po_files,
    render_pot,
)

ZH_PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "gpt-lsp.po"


def fields(text: str) -> set[str]:
    """Returns the str.format fields of a message, with their format specs."""
    return {f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name}


# ---------------------------------------------------------------- the catalogs


def test_a_catalog_is_shipped_for_chinese() -> None:
    assert "zh_CN" in i18n.available()
    assert ZH_PO in po_files()


@pytest.mark.parametrize("po", po_files(), ids=lambda p: p.parent.parent.name)
def test_the_committed_mo_is_the_po_compiled(po: Path) -> None:
    assert po.with_suffix(".mo").read_bytes() == compile_mo(parse_po(po.read_text("utf-8")))


def test_the_template_lists_the_messages_of_the_code() -> None:
    assert (LOCALE / "gpt-lsp.pot").read_text("utf-8") == render_pot(extract())


def test_every_message_of_the_code_has_a_chinese_translation() -> None:
    translated = {key for key, forms in parse_po(ZH_PO.read_text("utf-8")).items() if all(forms)}
    used = extract()
    missing = [key for key in used if key not in translated]
    assert len(used) > 60
    assert missing == []


def test_the_chinese_catalog_holds_no_message_the_code_dropped() -> None:
    entries, used = parse_po(ZH_PO.read_text("utf-8")), extract()
    stale = [key for key in entries if key[1] and key not in used]
    assert stale == []


@pytest.mark.parametrize("po", po_files(), ids=lambda p: p.parent.parent.name)
def test_translations_keep_every_placeholder(po: Path) -> None:
    wrong = []
    for (_context, msgid, plural), forms in parse_po(po.read_text("utf-8")).items():
        if not msgid:
            continue
        wanted = fields(msgid) | fields(plural or "")
        wrong += [(msgid, form) for form in forms if fields(form) != wanted]
    assert wrong == []


def test_messages_are_literals_the_extractor_can_read() -> None:
    """_(f"...") or _("a" + b) would never match a catalog entry: format after translating."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            for arg in node.args[: MARKERS.get(node.func.id, 0)]:
                if isinstance(arg, (ast.JoinedStr, ast.BinOp)) or (
                    isinstance(arg, ast.Constant) and not isinstance(arg.value, str)
                ):
                    wrong.append(f"{path.name}:{node.lineno}")
    assert wrong == []


def test_no_module_that_translates_rebinds_the_underscore() -> None:
    """`for _ in ...` or `a, _ = ...` beside `_()` would call an int: name throwaways otherwise."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        imports = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "gpt_lsp.i18n"
            and any(alias.name == "_" for alias in n.names)
            for n in ast.walk(tree)
        )
        bound = [
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
        ]
        if imports and bound:
            wrong.append(f"{path.name}:{bound}")
    assert wrong == []


def test_compile_mo_reads_back_with_gettext() -> None:
    po = (
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '# a comment\nmsgid "one \\"quoted\\"\\n"\n"line"\nmsgstr "un "\n"\\"cité\\"\\nligne"\n\n'
        '#, fuzzy\nmsgid "unsure"\nmsgstr "incertain"\n\n'
        'msgid "untranslated"\nmsgstr ""\n\n'
        'msgid "{n} file"\nmsgid_plural "{n} files"\nmsgstr[0] "{n} fichier"\n'
        'msgstr[1] "{n} fichiers"\n\n'
        'msgctxt "time"\nmsgid "total"\nmsgstr "durée"\n'
    )
    entries = parse_po(po)
    catalog = gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))
    assert catalog.gettext('one "quoted"\nline') == 'un "cité"\nligne'
    assert catalog.gettext("unsure") == "unsure"  # fuzzy entries are left out, as msgfmt does
    assert catalog.gettext("untranslated") == "untranslated"
    assert catalog.ngettext("{n} file", "{n} files", 1) == "{n} fichier"
    assert catalog.ngettext("{n} file", "{n} files", 3) == "{n} fichiers"
    assert catalog.pgettext("time", "total") == "durée" and catalog.gettext("total") == "total"


def test_a_broken_po_says_where() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_po('msgid "a"\nmsgstr a\n')


# ---------------------------------------------------------------- choosing the language


@pytest.mark.parametrize(
    ("tag", "catalog"),
    [
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("zh-Hans", "zh_CN"),
        ("zh-TW", "zh_CN"),  # Simplified Chinese is the Chinese gpt-lsp has
        ("ZH_cn", "zh_CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("C", "en"),
        ("C.UTF-8", "en"),
        ("fr", None),
        ("fr_FR.UTF-8", None),
        ("", None),
        (None, None),
    ],
)
def test_catalog_for_a_tag(tag: str | None, catalog: str | None) -> None:
    assert i18n.catalog_for(tag) == catalog


def test_the_first_language_gpt_lsp_has_wins() -> None:
    assert i18n.choose(["fr", "zh-CN"]) == "zh_CN"  # a setting it lacks: the client's locale
    assert i18n.choose(["en", "zh-CN"]) == "en"  # English asked for is English
    assert i18n.choose([None, "zh-CN"]) == "zh_CN"
    assert i18n.choose(["fr", None]) == "en"
    assert i18n.choose(["fr:zh_CN:en"]) == "zh_CN"  # LANGUAGE is a list


@pytest.mark.parametrize(
    ("environ", "catalog"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_command_line_reads_the_environment(environ: dict[str, str], catalog: str) -> None:
    assert i18n.set_language_from_environ(environ) == catalog
    assert i18n.language() == catalog
    assert (i18n._("Refactor") == "重构") is (catalog == "zh_CN")


@pytest.mark.parametrize(
    ("environ", "catalog"),
    [
        ({"LANG": "C.UTF-8"}, "zh_CN"),  # C names no language: the setting decides
        ({}, "zh_CN"),
        ({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),  # the terminal asked for English
        ({"LANG": "fr_FR.UTF-8"}, "zh_CN"),  # one gpt-lsp lacks: the setting
    ],
)
def test_a_terminal_without_a_language_takes_the_setting(
    environ: dict[str, str], catalog: str
) -> None:
    assert i18n.set_language_from_environ(environ, "zh-CN") == catalog


def test_switching_back_to_english() -> None:
    i18n.set_language("zh-CN")
    assert i18n._("Explain") == "解释"
    assert i18n.set_language("fr") == "en"
    assert i18n._("Explain") == "Explain"


def test_terminal_width_counts_wide_characters_twice() -> None:
    assert i18n.width("模型") == 4
    assert i18n.width("gpt-4") == 5
    assert i18n.ljust("模型", 6) == "模型  "
    assert i18n.rjust("额度", 5) == " 额度"


# ---------------------------------------------------------------- what is translated


SOURCE = "def total(xs):\n    return sum(xs)\n"


def offer_titles(settings: Settings, span: Span | None = None) -> list[str]:
    doc = TextDoc("file:///a.py", SOURCE, 1, "python")
    span = span or Span(Pos(0, 0), Pos(1, 17))
    diagnostics = [{"range": span_json(span), "message": "bad"}]
    definition = Definition("total", 0, 1)
    offers = list_offers(doc, span, diagnostics, settings, definition=definition)
    return [offer.title for offer in offers]


def span_json(span: Span) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": span.start.line, "character": span.start.character},
        "end": {"line": span.end.line, "character": span.end.character},
    }


def test_bare_cursor_titles_name_the_definition() -> None:
    cursor = Span(Pos(1, 4), Pos(1, 4))
    assert offer_titles(Settings(), cursor)[0] == "AI: Refactor total"
    i18n.set_language("zh-CN")
    assert offer_titles(Settings(), cursor) == [
        "AI: 重构 total",
        "AI: 修复 total",
        "AI: 添加文档 total",
        "AI: 解释 total",
    ]


def test_built_in_titles_follow_the_language_user_titles_stay() -> None:
    settings = Settings.model_validate({"actions": [{"id": "t", "title": "Fix", "prompt": "x"}]})
    english = offer_titles(settings)
    i18n.set_language("zh-CN")
    chinese = offer_titles(settings)
    assert english == ["AI: Refactor", "AI: Fix", "AI: Document", "AI: Explain", "AI: Fix"]
    assert chinese == ["AI: 重构", "AI: 修复", "AI: 添加文档", "AI: 解释", "AI: Fix"]
    assert [a.label for a in BUILTIN_ACTIONS] == ["重构", "修复", "添加文档", "解释"]


def test_a_user_action_replacing_a_built_in_keeps_its_own_title() -> None:
    i18n.set_language("zh")
    actions = all_actions([ActionConfig(id="refactor", title="Refactor", prompt="my way")])
    assert actions[0].label == "Refactor"


def test_a_hint_is_chinese_and_the_relay_words_verbatim() -> None:
    words = "无效的令牌 (request id: 2024abc)"
    english = classify_status(401, words, relay="default").user_message()
    i18n.set_language("zh-CN")
    error = classify_status(401, words, relay="default")
    chinese = error.user_message()
    assert isinstance(error, AuthError)
    assert words in english and words in chinese
    assert "Check the API key" in english and "Check the API key" not in chinese
    assert chinese.startswith("中转站“default”：HTTP 401: 无效的令牌 (request id: 2024abc)。请检查")
    assert chinese.endswith("请检查该中转站的 API 密钥（apiKey / apiKeyEnv / GPT_LSP_API_KEY）。")
    connect = RelayConnectError("connection refused", relay="default").user_message()
    assert "connection refused" in connect and "请检查 baseUrl" in connect
    assert "环境变量 MY_KEY" in MissingKeyError("default", "MY_KEY").user_message()


def test_the_usage_table_lines_up_in_chinese() -> None:
    records = [
        Record(1.7e9, "default", "gpt-4o-mini", "refactor", 1200, 300, False, 0.0123, 6150, "done"),
        Record(1.7e9, "default", "deepseek-chat", "explain", 80, 20, True, None, None, "done"),
    ]
    rows, total = group(records, "model")
    english = render_table(rows, total, start=1.7e9, days=1, by="model")
    i18n.set_language("zh-CN")
    table = render_table(rows, total, start=1.7e9, days=1, by="model")
    lines = table.splitlines()
    assert "（1 天），按模型" in lines[0] and "by model" in english
    assert lines[1].split()[:3] == ["模型", "请求数", "提示"]
    assert [line.split()[0] for line in lines if line.startswith("总计")] == ["总计"]
    # Right-aligned columns: every line of the table ends in the same terminal column.
    assert len({i18n.width(line) for line in lines[1:-2]}) == 1
    assert "1 个请求所用的模型没有价格" in lines[-1]


def test_the_chinese_quick_start_config_loads_and_gives_the_chinese_ui(tmp_path: Path) -> None:
    readme = (PACKAGE.parent / "README.md").read_text("utf-8")
    section = readme.split("## 中文快速上手", 1)[1].split("\n## ", 1)[0]
    config = tmp_path / "config.toml"
    config.write_text(section.split("```toml\n", 1)[1].split("```", 1)[0], "utf-8")
    environ = {"GPT_LSP_CONFIG": str(config), "ONE_API_KEY": "sk-readme-example-key"}
    settings, problems = load_settings(environ=environ)
    assert problems == []
    assert settings.budget.daily_quota == 500_000
    assert settings.relays["default"].price_for("gpt-4o-mini") is not None
    assert i18n.set_language(settings.language) == "zh_CN"


def test_the_spending_cap_speaks_chinese() -> None:
    i18n.set_language("zh-CN")
    refusal = decide(Caps(daily_usd=0.5), Spend(1, cost_usd=0.52), Spend(1, cost_usd=0.52)).refusal
    assert refusal == (
        "已达到花费上限：今天已花 $0.5200，上限 budget.dailyUsd 为 $0.5000。"
        "本次没有发送任何请求。要继续，请在设置中调高 budget.dailyUsd。"
    )
    [(_key, warning)] = decide(
        Caps(daily_quota=10_000), Spend(3, quota=8_500, unpriced=2), Spend()
    ).warnings
    assert warning.startswith("今天已花 8,500 额度：达到 budget.dailyQuota（10,000 额度）的 85%")
    assert "未计入 2 个发往无价格模型的请求" in warning


def test_a_connect_failure_is_chinese_around_the_systems_words() -> None:
    i18n.set_language("zh-CN")
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    exc = httpx.ConnectError("All connection attempts failed", request=request)
    error = translate_httpx_error(exc, relay="default", url=str(request.url), started=False)
    assert error.user_message() == (
        "中转站“default”（127.0.0.1:9）：无法连接（All connection attempts failed）。"
        "请检查 baseUrl、网络或代理；如果中转站有备用地址，请把它加入 backupUrls。"
    )


def test_what_check_knows_of_a_relay_reads_in_chinese() -> None:
    from gpt_lsp.relay.memory import Learned

    learned = Learned(no_system_role=True, preferred_url="https://b.example/v1", model="m1")
    i18n.set_language("zh-CN")
    chinese = learned.describe()
    i18n.set_language("en")
    assert chinese[0].startswith("不接受 system 角色")
    assert "https://b.example/v1" in chinese[1] and "m1" in chinese[2]
    assert learned.describe()[0].startswith("rejects the system role")
