"""The one error tree of gpt-lsp.

    GptLspError                   anything gpt-lsp reports to the user
    ├── SettingsError             a setting is invalid (the key and the problem)
    ├── ProjectSettingsIgnored    a project-level source set keys only the user may set
    ├── MissingKeyError           no API key for the relay
    ├── RequestRefused            the request cannot be made (document excluded, too large, ...)
    └── RelayError                talking to a relay failed
        ├── RelayConnectError     could not connect (DNS, refused, TLS, proxy)
        ├── RelayTimeout          connect / first byte / silence between chunks / total
        ├── RelayStatusError      the relay answered an error (HTTP status, its own words)
        │   ├── AuthError         invalid, expired or missing key
        │   ├── QuotaError        key or account out of quota
        │   ├── ModelDeniedError  the key may not use the model, or no channel serves it
        │   ├── RateLimitError    429, with Retry-After when given
        │   └── GatewayError      a CDN/gateway page (502-504, 520-524, HTML body)
        ├── RelayProtocolError    the relay's answer is not a chat-completions stream
        └── TruncatedAnswer       the stream ended without a finish_reason

Errors from httpx are translated into this tree in exactly one place
(`gpt_lsp.relay.translate.translate_httpx_error`); user-facing text comes from
`GptLspError.user_message()` only: one line without control characters or escape sequences
(`sanitize`: relays' words reach terminals and logs), then `redact`, which removes every key
registered with `register_secret`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gpt_lsp.i18n import N_, _
from gpt_lsp.text.sanitize import sanitize

# one-api / new-api messages that classify an error whatever the HTTP status says.
_AUTH_MARKERS = (
    "无效的令牌",
    "该令牌已过期",
    "未提供令牌",
    "该令牌状态不可用",
    "invalid_api_key",
    "incorrect api key",
    "invalid api key",
    "invalid token",
)
_QUOTA_MARKERS = (
    "该令牌额度已用尽",
    "用户额度不足",
    "额度不足",
    "insufficient_user_quota",
    "insufficient_quota",
    "quota exceeded",
    "exceeded your current quota",
)
_MODEL_MARKERS = (
    "该令牌无权使用模型",
    "无可用渠道",
    "模型不存在",
    "model_not_found",
    "does not exist or you do not have access",
    "invalid model name",  # LiteLLM
    "model not found",
    "no such model",
    "unknown model",
    "not a valid model",
)
_RATE_MARKERS = ("当前分组上游负载已饱和", "rate limit", "rate_limit")

GATEWAY_STATUSES = frozenset({502, 503, 504, 520, 521, 522, 523, 524})


class GptLspError(Exception):
    """Base of every error gpt-lsp reports."""

    hint = ""

    def user_message(self) -> str:
        """Returns the one line shown to the user, with every known key removed."""
        return _shown(_with_hint(str(self), self.hint))


class SettingsError(GptLspError):
    """A setting is invalid; the server goes on with defaults."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("gpt-lsp settings: " + "; ".join(problems))

    hint = N_("Using defaults for those keys.")


class ProjectSettingsIgnored(GptLspError):
    """A project-level source (workspace settings, .dir-locals.el) set keys only the user may."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        super().__init__(
            "gpt-lsp ignored " + ", ".join(self.keys) + " from the workspace/project settings "
            "(the gptLsp section of this project, e.g. .vscode/settings.json or .dir-locals.el)"
        )

    hint = N_(
        "Where requests go, the credentials they carry and the privacy switches are taken only "
        "from your user settings (config.toml, the environment, your own editor configuration)."
    )


class MissingKeyError(GptLspError):
    """The relay has no API key."""

    def __init__(self, relay: str, key_env: str | None = None) -> None:
        self.relay = relay
        if key_env:
            text = _("No API key for relay '{relay}': set the environment variable {key_env}.")
        else:
            text = _(
                "No API key for relay '{relay}': set GPT_LSP_API_KEY, or apiKey / apiKeyEnv "
                "on the relay."
            )
        super().__init__(text.format(relay=relay, key_env=key_env))


class RequestRefused(GptLspError):
    """gpt-lsp will not send this request (excluded document, bad range, too large)."""


class RelayError(GptLspError):
    """Talking to a relay failed."""

    def __init__(self, message: str, *, relay: str = "", url: str = "") -> None:
        self.relay = relay
        self.url = url
        self.detail = message
        super().__init__(message)

    def where(self) -> str:
        """Names the relay and host for messages."""
        host = _host_of(self.url)
        if self.relay and host:
            return _("relay '{relay}' ({host})").format(relay=self.relay, host=host)
        if self.relay:
            return _("relay '{relay}'").format(relay=self.relay)
        return host or _("relay")

    def user_message(self) -> str:
        text = _("{where}: {detail}").format(where=self.where(), detail=self.detail)
        return _shown(_with_hint(text, self.hint))


class RelayConnectError(RelayError):
    """Could not connect to the relay."""

    hint = N_(
        "Check baseUrl, your network or proxy; add backupUrls if the relay has a backup host."
    )


class RelayTimeout(RelayError):
    """The relay took too long (phase: connect, first_byte, silence or total)."""

    def __init__(self, message: str, *, phase: str, relay: str = "", url: str = "") -> None:
        self.phase = phase
        super().__init__(message, relay=relay, url=url)

    hint = N_("The relay may be overloaded: try again, raise `timeout`, or add backupUrls.")


class RelayStatusError(RelayError):
    """The relay answered with an error; its own message is kept verbatim."""

    hint = N_("See the relay's message above.")

    def __init__(
        self,
        status: int,
        relay_message: str,
        *,
        relay: str = "",
        url: str = "",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.relay_message = relay_message
        self.code = code
        self.retry_after = retry_after
        head = f"HTTP {status}" if status else "error"
        super().__init__(
            f"{head}: {relay_message}" if relay_message else head, relay=relay, url=url
        )


class AuthError(RelayStatusError):
    """The key is invalid, expired or missing."""

    hint = N_("Check the API key (apiKey / apiKeyEnv / GPT_LSP_API_KEY) for this relay.")


class QuotaError(RelayStatusError):
    """The key or account has no quota left."""

    hint = N_("Top up the key's quota at the relay, or switch to another relay.")


class ModelDeniedError(RelayStatusError):
    """The key may not use this model, or no channel serves it."""

    hint = N_(
        "Choose a model this relay serves for this key: `model` in the settings, "
        "GPT_LSP_MODEL, or `gpt-lsp check --model NAME` to try one (`gpt-lsp check` lists them)."
    )
    models: list[str] | None = None
    """The relay's model list, when known (`gpt-lsp check` fetches it)."""

    def user_message(self) -> str:
        """Returns the one line, naming the models the relay lists when they are known."""
        text = super().user_message()
        if not self.models:
            return text
        shown = ", ".join(self.models[:20]) + (", ..." if len(self.models) > 20 else "")
        listed = _("The relay lists: {models}.").format(models=shown)
        return _shown(_("{message} {hint}").format(message=text, hint=listed))


class RateLimitError(RelayStatusError):
    """The relay is rate limiting."""

    hint = N_("Wait a moment and try again.")


class GatewayError(RelayStatusError):
    """A CDN or gateway answered instead of the relay."""

    hint = N_("The relay's origin did not answer: try again, or add its backup host to backupUrls.")


class RelayProtocolError(RelayError):
    """The relay's answer is not a chat-completions stream."""

    hint = N_("Check that baseUrl points at an OpenAI-compatible API.")


class TruncatedAnswer(RelayError):
    """The stream ended without a finish_reason: the answer is incomplete."""

    hint = N_("The relay dropped the answer: try again.")


def classify_status(
    status: int,
    relay_message: str,
    *,
    relay: str = "",
    url: str = "",
    code: str | None = None,
    error_type: str | None = None,
    retry_after: float | None = None,
    html: bool = False,
) -> RelayStatusError:
    """Builds the right RelayStatusError subclass from status and message."""
    probe = " ".join(filter(None, (relay_message, code, error_type))).lower()
    cls: type[RelayStatusError]
    if any(m.lower() in probe for m in _QUOTA_MARKERS):
        cls = QuotaError
    elif any(m.lower() in probe for m in _AUTH_MARKERS) or status == 401:
        cls = AuthError
    elif any(m.lower() in probe for m in _MODEL_MARKERS):
        cls = ModelDeniedError
    elif status == 429 or any(m.lower() in probe for m in _RATE_MARKERS):
        cls = RateLimitError
    elif html or (status in GATEWAY_STATUSES and not relay_message):
        cls = GatewayError
    else:
        cls = RelayStatusError
    return cls(status, relay_message, relay=relay, url=url, code=code, retry_after=retry_after)


def _shown(text: str) -> str:
    # Sanitise first: a key split by an escape sequence must be whole again when redacted.
    return redact(sanitize(text))


def _with_hint(text: str, hint: str) -> str:
    """Joins a message and its hint (in the UI language) as two sentences."""
    text = text.strip()
    if not hint:
        return text
    # Relay messages end however they like ("... (request id: 1)", Chinese without a stop).
    if text.endswith((".", "!", "?", "。", "！", "？")):
        return _("{message} {hint}").format(message=text, hint=_(hint))
    return _("{message}. {hint}").format(message=text, hint=_(hint))


def _host_of(url: str) -> str:
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]+)", url)
    if not match:
        return ""
    return match.group(1).rsplit("@", 1)[-1]


_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+[A-Za-z0-9._\-~+/=*]{6,})", re.IGNORECASE
)
# A key inside a logged settings object: "apiKey": "...", 'api_key': '...', apiKey=...
_KEY_FIELDS = re.compile(
    r"""(["']?api_?key["']?\s*[:=]\s*)(["'])(?:(?!\2).){1,500}\2""", re.IGNORECASE
)
# Every API key the process has seen; user messages and log lines are scrubbed of them.
_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    """Remembers a key so that `redact` removes it (and pieces of it) everywhere."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Removes API keys, and any 6+ character piece of a known key, from text."""
    for secret in (*secrets, *_SECRETS):
        if not secret:
            continue
        text = text.replace(secret, "[redacted]")
        # Relays echo keys in part ("sk-abc***xyz"): drop every 6-char window too.
        if len(secret) >= 12:
            for start in range(0, len(secret) - 5):
                piece = secret[start : start + 6]
                if piece in text:
                    text = text.replace(piece, "[redacted]")
    text = _KEY_FIELDS.sub(r"\1\2[redacted]\2", text)
    return _KEY_PATTERNS.sub("[redacted]", text)
