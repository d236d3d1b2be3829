"""Settings: merging the five sources, validation that never crashes, shorthand, prices."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gpt_lsp.errors import MissingKeyError
from gpt_lsp.settings import (
    DEFAULT_EXCLUDE,
    Price,
    Settings,
    env_source,
    load_settings,
    merge_sources,
    validate,
)


def load(tmp_path: Path, toml: str = "", **kwargs: object) -> tuple[Settings, list[str]]:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    environ = kwargs.pop("environ", {})
    return load_settings(config_path=path, environ=environ, **kwargs)  # type: ignore[arg-type]


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings, problems = load(tmp_path)
    assert problems == []
    assert settings.relays == {}
    assert settings.default_relay_name() is None
    assert settings.exclude_globs == list(DEFAULT_EXCLUDE)


def test_shorthand_defines_the_default_relay(tmp_path: Path) -> None:
    settings, problems = load(
        tmp_path,
        'baseUrl = "https://host/api/blog/free/v1/"\napiKey = "k1"\nmodel = "gpt-4"\n',
    )
    assert problems == []
    relay = settings.relays["default"]
    assert relay.base_url == "https://host/api/blog/free/v1"
    assert relay.resolve_key("default", {}) == "k1"
    assert settings.model_for("default") == "gpt-4"


def test_precedence_file_env_init_client(tmp_path: Path) -> None:
    toml = (
        'model = "from-file"\ntemperature = 0.1\n'
        '[relays.default]\nbaseUrl = "https://file.example"\nsystemRole = false\n'
    )
    env = {"GPT_LSP_BASE_URL": "https://env.example/v1", "GPT_LSP_API_KEY": "envkey"}
    settings, problems = load(
        tmp_path,
        toml,
        environ=env,
        init_options={"temperature": 0.5, "model": "from-init"},
        client_config={"temperature": 0.9},
    )
    assert problems == []
    relay = settings.relays["default"]
    assert relay.base_url == "https://env.example/v1"  # env beats file
    assert relay.system_role is False  # file value survives a deep merge
    assert relay.model == "from-init"  # init beats file
    assert settings.temperature == 0.9  # client config beats init
    assert relay.resolve_key("default", env) == "envkey"


def test_openai_env_is_used_only_when_no_gpt_lsp_env_is_set() -> None:
    assert env_source({"OPENAI_BASE_URL": "https://o", "OPENAI_API_KEY": "ok"}) == {
        "baseUrl": "https://o",
        "apiKey": "ok",
    }
    # An OpenAI key must never be paired with a GPT_LSP relay URL (it would go to that host).
    assert env_source({"GPT_LSP_BASE_URL": "https://r", "OPENAI_API_KEY": "ok"}) == {
        "baseUrl": "https://r"
    }


def test_gpt_lsp_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('baseUrl = "https://named.example"\n', encoding="utf-8")
    settings, problems = load_settings(environ={"GPT_LSP_CONFIG": str(path)})
    assert problems == []
    assert settings.relays["default"].base_url == "https://named.example/v1"


def test_api_key_env_is_read_at_use(tmp_path: Path) -> None:
    settings, _ = load(tmp_path, '[relays.paid]\nbaseUrl = "https://h/v1"\napiKeyEnv = "PAID"\n')
    relay = settings.relays["paid"]
    assert relay.resolve_key("paid", {"PAID": "secret"}) == "secret"
    with pytest.raises(MissingKeyError, match="PAID"):
        relay.resolve_key("paid", {})


def test_broken_toml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    settings, problems = load(tmp_path, "baseUrl = [unclosed\n")
    assert settings == Settings()
    assert len(problems) == 1 and "config file" in problems[0]


def test_bad_values_are_named_and_replaced_by_defaults() -> None:
    settings, problems = validate(
        merge_sources(
            {
                "baseUrl": "https://ok.example",
                "temperature": "hot",
                "maxTokens": -1,
                "relays": {"bad": {"baseUrl": "not a url"}},
                "relay": "nope",
            }
        )
    )
    text = "\n".join(problems)
    assert "temperature" in text and "maxTokens" in text
    assert "relays.bad.baseUrl" in text and "relays.bad ignored" in text
    assert "relay: 'nope' is not defined" in text
    assert settings.temperature is None and settings.max_tokens is None
    assert settings.relay is None
    assert list(settings.relays) == ["default"]


def test_unknown_keys_are_reported_with_a_suggestion() -> None:
    settings, problems = validate(
        merge_sources({"relays": {"r": {"baseURL": "https://x", "baseUrl": "https://x"}}})
    )
    assert problems == ["unknown key 'relays.r.baseURL' ignored (did you mean 'baseUrl'?)"]
    assert "r" in settings.relays


def test_bad_action_is_dropped_and_good_ones_kept() -> None:
    settings, problems = validate(
        {"actions": [{"id": "x"}, {"id": "ok", "title": "Tests", "prompt": "Write tests"}]}
    )
    assert [a.id for a in settings.actions] == ["ok"]
    assert any("actions[0]" in p for p in problems)


def test_exclude_adds_to_defaults_unless_switched_off() -> None:
    settings, _ = validate({"exclude": ["*.sqlite"]})
    assert settings.exclude_globs == [*DEFAULT_EXCLUDE, "*.sqlite"]
    settings, _ = validate({"exclude": ["*.sqlite"], "excludeDefaults": False})
    assert settings.exclude_globs == ["*.sqlite"]


def test_one_api_ratio_pricing() -> None:
    # gpt-3.5-turbo: ratio 0.25, completion x3 -> (1000 + 1000 * 3) * 0.25 = 1000 quota.
    price = Price(model_ratio=0.25, completion_ratio=3)
    assert price.quota(1000, 1000) == 1000
    assert price.cost_usd(1000, 1000) == pytest.approx(0.002)
    # gpt-4: ratio 15, x2 -> (100 + 50 * 2) * 15 = 3000 quota = 0.006 USD.
    assert Price(model_ratio=15, completion_ratio=2).cost_usd(100, 50) == pytest.approx(0.006)


def test_usd_per_million_pricing() -> None:
    price = Price(input=10, output=30)
    assert price.cost_usd(1_000_000, 0) == pytest.approx(10)
    assert price.cost_usd(1000, 1000) == pytest.approx(0.04)
    assert price.quota(1000, 1000) == 20_000


def test_key_is_not_in_repr_or_dump() -> None:
    settings, _ = validate({"apiKey": "sk-hidden-123456789", "baseUrl": "https://h"})
    assert "sk-hidden" not in repr(settings)
    assert "sk-hidden" not in settings.model_dump_json()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "relays",
                    "default",
                    "baseUrl",
                    "apiKey",
                    "model",
                    "actions",
                    "id",
                    "title",
                    "prompt",
                    "temperature",
                    "maxTokens",
                    "prices",
                    "input",
                    "modelRatio",
                    "relay",
                    "exclude",
                    "timeout",
                    "headers",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=4) | json_values)
def test_any_json_gives_settings_and_never_raises(raw: object) -> None:
    source = raw if isinstance(raw, dict) else {"relays": raw}
    settings, problems = validate(merge_sources(source))
    assert isinstance(settings, Settings)
    assert all(isinstance(p, str) for p in problems)


def test_a_missing_named_config_file_is_a_problem_that_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    _, problems = load_settings(environ={"GPT_LSP_CONFIG": str(missing)})
    assert problems == [f"GPT_LSP_CONFIG names {missing}, which does not exist"]


def test_a_base_url_without_a_scheme_says_what_to_write() -> None:
    _, problems = validate(merge_sources({"baseUrl": "127.0.0.1:4000", "apiKey": "sk-x-12345678"}))
    assert "write 'https://127.0.0.1:4000', or 'http://' for a local proxy" in problems[0]


def test_a_mistyped_shorthand_key_is_the_only_problem(tmp_path: Path) -> None:
    # `baseURL` at the top: `model` alone went to relays.default, which lacks baseUrl; the
    # user never wrote a relays.default, so only the typo is worth saying.
    _, problems = load(tmp_path, 'baseURL = "https://x.example"\nmodel = "gpt-4"\n')
    assert problems == ["unknown key 'baseURL' ignored (did you mean 'baseUrl'?)"]
    _, problems = load(tmp_path, 'model = "gpt-4"\napiKey = "sk-x-12345678"\n')
    assert problems == ["apiKey, model: ignored (baseUrl is required)"]
    _, problems = load(tmp_path, 'baseUrl = "x.example"\nmodel = "gpt-4"\n')
    assert problems == [
        "baseUrl: must start with http:// or https:// (got 'x.example'): write "
        "'https://x.example', or 'http://' for a local proxy; model ignored"
    ]
    _, problems = load(tmp_path, '[relays.default]\nmodel = "gpt-4"\n')
    assert problems == ["relays.default: ignored (relays.default.baseUrl is required)"]
    _, problems = load(tmp_path, '[relays.r]\nbaseURL = "https://x.example"\n')
    assert problems == [
        "unknown key 'relays.r.baseURL' ignored (did you mean 'baseUrl'?); relays.r ignored"
    ]


def test_problems_read_in_the_ui_language() -> None:
    from gpt_lsp.i18n import set_language

    source = {"baseUrl": "api.example.com", "temperature": "hot", "baseURL": "x"}
    set_language("zh-CN")
    try:
        _, problems = validate(merge_sources(source), folded=True)
    finally:
        set_language("en")
    assert sorted(problems) == [
        "baseUrl：必须以 http:// 或 https:// 开头（当前为 'api.example.com'）："
        "改写为“https://api.example.com”，本地代理则用“http://”",
        "temperature：必须是数字；使用默认值",
        "未知的键“baseURL”已忽略（是否想写“baseUrl”？）",
    ]
