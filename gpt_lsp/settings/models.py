"""The settings schema: pydantic models with camelCase aliases, and the keys a project may set."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from typing import Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from gpt_lsp.errors import MissingKeyError
from gpt_lsp.urls import normalize_base_url

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on 3.10 only
    pass  # type: ignore[import-not-found,unused-ignore]


DEFAULT_RELAY = "default"
DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_EXCLUDE = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "*secret*")
QUOTA_PER_USD = 500_000
SHORTHAND_KEYS = ("baseUrl", "apiKey", "apiKeyEnv", "model", "backupUrls")

PROTECTED_KEYS: Final = (
    "baseUrl",
    "backupUrls",
    "relays",
    "relay",
    "apiKey",
    "apiKeyEnv",
    "headers",
    "proxy",
    "budget",  # the user's money: a project may not raise (or drop) a spending cap
)
"""Keys that decide where requests go, what they carry and what they may cost: taken from
user-level sources only."""
PRIVACY_SWITCHES: Final[Mapping[str, bool]] = {
    "logContent": False,
    "excludeDefaults": True,
    "maskSecrets": True,
}
"""Privacy switches, each with the one value a project-level source may set (the private one)."""
PROJECT_KEYS: Final = (
    "model",
    "temperature",
    "presencePenalty",
    "maxTokens",
    "actions",
    "exclude",
    "language",
    "contextChars",
    "maxSelectionChars",
    "maxAnswerChars",
    "completion",  # only its COMPLETION_PROJECT_KEYS
    "context",  # lower budgets, sources off: never more (CONTEXT_LOWER_ONLY)
)
"""Keys a project-level source may set; `exclude` and `actions` add to the user's."""
COMPLETION_PROJECT_KEYS: Final = ("multiline", "exclude", "excludeLanguages")
COMPLETION_PROJECT_SWITCHES: Final[Mapping[str, str]] = {"fim": "off"}
"""Keys of `completion` a project-level source may set to one value only: `fim` picks the
endpoint of the user's own relay, so a project may turn it off, nothing more."""
"""Keys of `completion` a project-level source may set (its lists add to the user's): whether
completion runs, where it goes, with which model and how often or how much it asks are the
user's, as they decide what is sent and what it costs."""
CONTEXT_LOWER_ONLY: Final = "context"
"""A project-level `context` may lower each budget and turn sources off, never raise them: what
is read and sent (and what it costs) is the user's to allow."""
USER_ONLY_KEYS: Final = (*PROTECTED_KEYS, *PRIVACY_SWITCHES, "completion")
"""Top-level keys a shim sends only as user settings (initializationOptions,
gptLsp/didChangeUserSettings), never in the gptLsp section it answers: the server ignores them
there (a privacy switch but at its private value, `completion` but for COMPLETION_PROJECT_KEYS)
and says so. The shims' lists are generated from this one (scripts/shim_settings.py), and VS
Code's package.json scopes them application or machine (checked against this schema)."""


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


FimSetting = Literal["off", "auto", "completions", "fim/completions"]
"""Fill-in-the-middle for completion: never, tried once per model and remembered, or always
(`POST <base>/completions` with `prompt` and `suffix`; `POST <base>/fim/completions`, the form
of Codestral's API, which "auto" never tries)."""


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
    fim: FimSetting = "auto"
    """Fill-in-the-middle completion on this relay: off, auto (tried once per model, then
    remembered), completions (always /completions with prompt and suffix) or fim/completions
    (always /fim/completions, Codestral's form)."""

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


class CompletionSettings(_Model):
    """Inline completion (ghost text): off until the user turns it on."""

    enabled: bool = False
    """Suggest code as you type; nothing is sent to a relay while this is false."""
    relay: str | None = None
    """Relay for completion; default: the relay of the settings."""
    model: str | None = None
    """Model for completion (a cheap, fast one); default: the relay's model."""
    debounce_ms: int = Field(default=150, ge=0, le=5000)
    """Least quiet time after a change before a request goes to the relay (0: at once)."""
    max_tokens: int = Field(default=64, gt=0, le=1024)
    """Answer token limit of a completion (one-api reserves prompt + this per request)."""
    prefix_chars: int = Field(default=3000, ge=0, le=50_000)
    """Characters before the cursor sent."""
    suffix_chars: int = Field(default=1000, ge=0, le=50_000)
    """Characters after the cursor sent."""
    multiline: Literal["auto", "always", "never"] = "auto"
    """auto: one line with text after the cursor, a block at a blank line or after an opener."""
    exclude: list[str] = []
    """Globs of documents never completed (besides the top-level `exclude`)."""
    exclude_languages: list[str] = []
    """Language ids never completed (e.g. markdown, plaintext)."""
    fim: FimSetting = "auto"
    """Fill-in-the-middle: off (always the chat prompt), auto (tried once per relay and model,
    then remembered), completions (always /completions with prompt and suffix) or
    fim/completions (always /fim/completions, Codestral's form)."""


class ContextSettings(_Model):
    """Context beyond the selection: each source's token budget (0 turns it off)."""

    definitions: int = Field(default=1000, ge=0, le=20_000)
    """Tokens of definitions the selection uses (from this file, open files, the workspace)."""
    documents: int = Field(default=300, ge=0, le=20_000)
    """Tokens of outlines of the open files most related to the selection."""
    edits: int = Field(default=200, ge=0, le=20_000)
    """Tokens of your recent edits in other places."""
    instructions: int = Field(default=400, ge=0, le=20_000)
    """Tokens of the project's instructions file (AGENTS.md, .github/copilot-instructions.md,
    .gpt-lsp/instructions.md: the first found)."""
    completion: int = Field(default=150, ge=0, le=4_000)
    """Tokens of definitions in an inline completion's prompt."""
    index: bool = True
    """Read the workspace folders' source files for definitions (in the background)."""
    max_file_kb: int = Field(default=256, ge=1, le=4096)
    """Larger files are never read."""
    max_files: int = Field(default=5000, ge=0, le=100_000)
    """Files indexed at most."""


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
    """Language for prose (explanations, comments) and the UI (gpt_lsp.i18n), e.g. zh-CN."""
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
    completion: CompletionSettings = CompletionSettings()
    """Inline completion; off by default."""
    context: ContextSettings = ContextSettings()
    """Context beyond the selection, with a token budget per source."""
    # Models chosen in the session (gptLsp.selectModel), by relay name: not a setting.
    _chosen_models: dict[str, str] = PrivateAttr(default_factory=dict)

    def with_chosen_models(self, chosen: Mapping[str, str]) -> Settings:
        """Returns a copy whose model_for honours the session's chosen models."""
        copy = self.model_copy()
        copy._chosen_models = dict(chosen)
        return copy

    def chosen_model(self, relay_name: str) -> str | None:
        """Returns the model chosen for a relay in this session, if any."""
        return self._chosen_models.get(relay_name)

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

    def completion_fim(self, relay_name: str) -> FimSetting:
        """Returns completion's fill-in-the-middle setting on a relay: off if `completion.fim`
        or the relay's `fim` is off, else the endpoint form either names (the relay's first:
        it says what the relay serves), else auto."""
        relay = self.relays.get(relay_name)
        both = (relay.fim if relay else "auto", self.completion.fim)
        if "off" in both:
            return "off"
        return next((form for form in both if form != "auto"), "auto")

    def model_for(self, relay_name: str, override: str | None = None) -> str:
        """Returns the model to use with a relay."""
        if override:
            return override
        if relay_name in self._chosen_models:
            return self._chosen_models[relay_name]
        relay = self.relays.get(relay_name)
        return (relay.model if relay else None) or DEFAULT_MODEL


_ALL_KEYS: Final = frozenset(
    [f.alias or name for name, f in Settings.model_fields.items()]
    + list(SHORTHAND_KEYS)
    + list(PROTECTED_KEYS)
)
"""Every key a settings object may hold (those of no list above are protected too)."""
