"""Typed settings: the schema, the five sources and how they merge.

Sources, lowest precedence first: built-in defaults, the user's config.toml, the environment,
LSP initializationOptions, the client's `gptLsp` configuration section. Bad values never stop
the server: each is reported once and replaced by its default.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from gpt_lsp.errors import MissingKeyError
from gpt_lsp.relay.urls import normalize_base_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_RELAY = "default"
DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_EXCLUDE = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "*secret*")
QUOTA_PER_USD = 500_000
SHORTHAND_KEYS = ("baseUrl", "apiKey", "apiKeyEnv", "model", "backupUrls")


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Price(_Model):
    """A model's price: USD per 1M tokens, or one-api ratios (500,000 quota = 1 USD)."""

    input: float | None = Field(default=None, ge=0)
    """USD per 1M prompt tokens."""
    output: float | None = Field(default=None, ge=0)
    """USD per 1M completion tokens."""
    model_ratio: float | None = Field(default=None, ge=0)
    """one-api model ratio: 1 = 0.002 USD per 1K tokens."""
    completion_ratio: float = Field(default=1.0, ge=0)
    """one-api completion ratio (completion tokens cost this many times prompt tokens)."""
    group_ratio: float = Field(default=1.0, ge=0)
    """one-api group ratio of the key's group."""

    @model_validator(mode="after")
    def _one_form(self) -> Price:
        if self.model_ratio is None and (self.input is None or self.output is None):
            raise ValueError("give either input and output (USD per 1M tokens) or modelRatio")
        return self

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Returns the cost of a request in USD."""
        if self.model_ratio is not None:
            return self.quota(prompt_tokens, completion_tokens) / QUOTA_PER_USD
        assert self.input is not None and self.output is not None
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000

    def quota(self, prompt_tokens: int, completion_tokens: int) -> int:
        """Returns the one-api quota a request costs."""
        if self.model_ratio is None:
            return math.ceil(self.cost_usd(prompt_tokens, completion_tokens) * QUOTA_PER_USD)
        weighted = prompt_tokens + completion_tokens * self.completion_ratio
        return math.ceil(weighted * self.model_ratio * self.group_ratio)


class RelayConfig(_Model):
    """One OpenAI-compatible relay."""

    base_url: str
    """The base URL as the relay's site gives it; see `normalize_base_url`."""
    backup_urls: list[str] = []
    """Other hosts of the same relay, tried in order when the main one fails."""
    api_key: SecretStr | None = None
    """The Bearer key; prefer apiKeyEnv."""
    api_key_env: str | None = None
    """Name of an environment variable holding the key."""
    model: str | None = None
    """Model used with this relay."""
    system_role: bool = True
    """False when the relay rejects the system role: its text goes into the first user message."""
    headers: dict[str, str] = {}
    """Extra HTTP headers."""
    proxy: str | None = None
    """Proxy URL for this relay (http, https or socks5); else the environment's proxy settings."""
    timeout: float = Field(default=300.0, gt=0)
    """Total seconds a request may take."""
    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to connect."""
    first_byte_timeout: float = Field(default=60.0, gt=0)
    """Seconds to wait for the first token."""
    idle_timeout: float = Field(default=60.0, gt=0)
    """Seconds of silence allowed between chunks."""
    prices: dict[str, Price] = {}
    """Per-model prices, for the cost of each job."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return normalize_base_url(value)

    @field_validator("backup_urls")
    @classmethod
    def _backup_urls(cls, value: list[str]) -> list[str]:
        return [normalize_base_url(url) for url in value]

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in ("http", "https", "socks5", "socks5h"):
            raise ValueError("must be an http://, https:// or socks5:// URL")
        return value.strip()

    @property
    def urls(self) -> list[str]:
        """Returns the main base URL then the backups."""
        return [self.base_url, *[u for u in self.backup_urls if u != self.base_url]]

    def resolve_key(self, name: str, environ: Mapping[str, str] | None = None) -> str:
        """Returns the API key; raises MissingKeyError when there is none."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        env = os.environ if environ is None else environ
        if self.api_key_env:
            value = env.get(self.api_key_env, "")
            if value:
                return value
        raise MissingKeyError(name, self.api_key_env)

    def price_for(self, model: str) -> Price | None:
        """Returns the price of a model, if configured."""
        return self.prices.get(model)


class ActionConfig(_Model):
    """A user-defined code action (or a replacement for a built-in one)."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Identifier; equal to a built-in id, it replaces that action."""
    title: str = Field(min_length=1)
    """Menu title, shown after `AI: `."""
    prompt: str = Field(min_length=1)
    """Prompt template; placeholders: {selection} {language} {fileName} {instruction}
    {diagnostics} {before} {after}."""
    kind: str = "refactor.rewrite"
    """LSP code action kind."""
    output: Literal["replace", "insert", "notes"] = "replace"
    """replace the range, insert after it, or write prose to a notes document."""
    relay: str | None = None
    """Relay name for this action."""
    model: str | None = None
    """Model for this action."""


class Budget(_Model):
    """Spending caps, checked against the usage ledger before every relay request."""

    daily_usd: float | None = Field(default=None, gt=0)
    """USD a day (local time)."""
    monthly_usd: float | None = Field(default=None, gt=0)
    """USD a calendar month."""
    daily_quota: int | None = Field(default=None, gt=0)
    """one-api quota a day (500,000 = 1 USD)."""


class Settings(_Model):
    """Everything gpt-lsp can be configured with."""

    relays: dict[str, RelayConfig] = {}
    """Relays by name."""
    relay: str | None = None
    """Name of the relay used by default."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature; omitted from requests when unset."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Presence penalty; omitted when unset."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Answer token limit; omitted when unset."""
    actions: list[ActionConfig] = []
    """User-defined actions."""
    exclude: list[str] = []
    """Globs of documents never sent to a relay (added to the defaults)."""
    exclude_defaults: bool = True
    """False drops the built-in exclude globs (.env, *.pem, *.key, id_rsa*, *secret*)."""
    language: str | None = None
    """Language for prose (explanations, comments), e.g. zh-CN."""
    log_content: bool = False
    """Log prompts and answers (off: they are never logged)."""
    mask_secrets: bool = True
    """Mask keys and private keys found in a selection before sending it."""
    context_chars: int = Field(default=4000, ge=0, le=200_000)
    """Characters of surrounding code sent as context, centred on the range."""
    max_selection_chars: int = Field(default=40_000, gt=0)
    """Largest selection sent; larger ones are refused with a message."""
    max_answer_chars: int = Field(default=200_000, gt=0)
    """Largest answer written; the job stops there."""
    budget: Budget = Budget()
    """Spending caps; none by default."""
    # Models chosen in the session (gptLsp.selectModel), by relay name: not a setting.
    _chosen_models: dict[str, str] = PrivateAttr(default_factory=dict)

    def with_chosen_models(self, chosen: Mapping[str, str]) -> Settings:
        """Returns a copy whose model_for honours the session's chosen models."""
        copy = self.model_copy()
        copy._chosen_models = dict(chosen)
        return copy

    @property
    def exclude_globs(self) -> list[str]:
        """Returns the effective exclude globs."""
        base = list(DEFAULT_EXCLUDE) if self.exclude_defaults else []
        return base + [g for g in self.exclude if g not in base]

    def default_relay_name(self) -> str | None:
        """Returns the relay used when an action names none."""
        if self.relay is not None:
            return self.relay
        if DEFAULT_RELAY in self.relays:
            return DEFAULT_RELAY
        return next(iter(self.relays), None)

    def model_for(self, relay_name: str, override: str | None = None) -> str:
        """Returns the model to use with a relay."""
        if override:
            return override
        if relay_name in self._chosen_models:
            return self._chosen_models[relay_name]
        relay = self.relays.get(relay_name)
        return (relay.model if relay else None) or DEFAULT_MODEL


# ---------------------------------------------------------------- sources


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the user config file path (GPT_LSP_CONFIG, else the platform config dir)."""
    env = os.environ if environ is None else environ
    named = env.get("GPT_LSP_CONFIG")
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("gpt-lsp", appauthor=False)) / "config.toml"


def file_source(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Reads a TOML config file; a missing file is empty, a broken one a problem."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), []
    except FileNotFoundError:
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"config file {path}: {exc}"]


def env_source(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Reads GPT_LSP_* variables, or OPENAI_* when no GPT_LSP_* one is set."""
    env = os.environ if environ is None else environ
    names = {"baseUrl": "BASE_URL", "apiKey": "API_KEY", "model": "MODEL"}
    # All or nothing: never pair a GPT_LSP_ relay URL with an OpenAI key meant for another host.
    prefix = "GPT_LSP_" if any(env.get("GPT_LSP_" + v) for v in names.values()) else "OPENAI_"
    out: dict[str, Any] = {}
    for key, suffix in names.items():
        value = env.get(prefix + suffix)
        if value and not (prefix == "OPENAI_" and key == "model"):
            out[key] = value
    return out


# ---------------------------------------------------------------- merging


def fold_shorthand(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Moves top-level baseUrl/apiKey/apiKeyEnv/model/backupUrls into relays.default."""
    out = dict(raw)
    short = {k: out.pop(k) for k in SHORTHAND_KEYS if k in out}
    if short:
        relays = out.get("relays")
        relays = dict(relays) if isinstance(relays, Mapping) else {}
        current = relays.get(DEFAULT_RELAY)
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged.update(short)
        relays[DEFAULT_RELAY] = merged
        out["relays"] = relays
    return out


def deep_merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """Merges mappings recursively; values of `high` win, lists are replaced whole."""
    out = dict(low)
    for key, value in high.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def merge_sources(*sources: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merges raw sources, lowest precedence first, after folding each one's shorthand."""
    merged: dict[str, Any] = {}
    for source in sources:
        if isinstance(source, Mapping):
            merged = deep_merge(merged, fold_shorthand(source))
    return merged


# ---------------------------------------------------------------- validation


def validate(raw: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Returns settings from a merged dict, dropping each bad value with a problem line."""
    data: Any = copy.deepcopy(dict(raw))
    problems: list[str] = []
    # One repair per round: deleting list items shifts the locations of later errors.
    for _ in range(200):
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            if not _repair_one(data, exc, problems):
                break
            continue
        if settings.relay is not None and settings.relay not in settings.relays:
            known = ", ".join(sorted(settings.relays)) or "none defined"
            problems.append(
                f"relay: '{settings.relay}' is not defined (relays: {known}); using the default"
            )
            settings = settings.model_copy(update={"relay": None})
        return settings, problems
    problems.append("settings: could not be repaired; using built-in defaults")
    return Settings(), problems


def _repair_one(data: Any, exc: ValidationError, problems: list[str]) -> bool:
    # Bad and unknown keys first, so a relay is dropped for a missing key only as a last resort.
    errors = sorted(exc.errors(), key=lambda e: e["type"] == "missing")
    for error in errors:
        loc = tuple(error["loc"])
        path = _removable_path(data, loc)
        if path is None:
            continue
        if error["type"] == "missing":
            parent = path[:-1] if len(path) > 1 else path
            if parent and _delete(data, parent):
                prefix = _dotted(loc) + ":"
                earlier = [i for i, text in enumerate(problems) if text.startswith(prefix)]
                if earlier:
                    text = problems[earlier[0]].removesuffix("; using the default")
                    problems[earlier[0]] = f"{text}; {_dotted(parent)} ignored"
                else:
                    problems.append(f"{_dotted(parent)}: ignored ({_dotted(loc)} is required)")
                return True
            continue
        if _delete(data, path):
            problems.append(_describe(loc, error, data))
            return True
    return False


def load_settings(
    *,
    init_options: Mapping[str, Any] | None = None,
    client_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> tuple[Settings, list[str]]:
    """Loads settings from all five sources, returning them and the problems found."""
    path = config_path if config_path is not None else config_file_path(environ)
    from_file, problems = file_source(path)
    merged = merge_sources(from_file, env_source(environ), init_options, client_config)
    settings, more = validate(merged)
    return settings, problems + more


def _describe(loc: tuple[Any, ...], error: Mapping[str, Any], data: Any) -> str:
    where = _dotted(loc)
    if error["type"] == "extra_forbidden":
        hint = _suggest(loc, data)
        return f"unknown key '{where}' ignored{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}; using the default"


def _suggest(loc: tuple[Any, ...], data: Any) -> str:
    known = _known_keys(loc[:-1], data)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        match = lowered.get(str(loc[-1]).lower())
        close = [match] if match else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_keys(parent: tuple[Any, ...], data: Any) -> list[str]:
    model: type[BaseModel] = Settings
    walk = list(parent)
    while walk:
        step = walk.pop(0)
        if model is Settings and step == "relays" and walk:
            walk.pop(0)
            model = RelayConfig
        elif model is RelayConfig and step == "prices" and walk:
            walk.pop(0)
            model = Price
        elif model is Settings and step == "actions" and walk:
            walk.pop(0)
            model = ActionConfig
        elif model is Settings and step == "budget":
            model = Budget
    fields = [f.alias or name for name, f in model.model_fields.items()]
    return fields + (list(SHORTHAND_KEYS) if model is Settings else [])


def _removable_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    # pydantic appends validator names and union tags to locations; keep the real keys.
    path: list[Any] = []
    node = data
    for step in loc:
        if (isinstance(node, Mapping) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        ):
            path.append(step)
            node = node[step]
        else:
            if isinstance(node, Mapping) and isinstance(step, str) and not path:
                return (step,)
            if isinstance(node, Mapping) and isinstance(step, str):
                path.append(step)
            break
    return tuple(path) if path else None


def _delete(data: Any, path: tuple[Any, ...]) -> bool:
    node = data
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node.pop(last)
        return True
    return False


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
