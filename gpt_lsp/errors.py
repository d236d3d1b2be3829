"""The one error tree of gpt-lsp.

    GptLspError                   anything gpt-lsp reports to the user
    ├── SettingsError             a setting is invalid (the key and the problem)
    ├── ProjectSettingsIgnored    a project-level source set keys only the user may set
    ├── MissingKeyError           no API key for the relay
    ├── RequestRefused            the request cannot be made (document excluded, too large, ...)
    │   └── AnswerTooLong         the answer passed its limit (maxAnswerChars): reading stopped
    ├── AnswerWithoutCode         a code-writing job's answer held no code (prose, apology)
    └── RelayError                talking to a relay failed
        ├── RelayConnectError     could not connect (DNS, refused, TLS, proxy)
        ├── RelayTimeout          connect / first byte / silence between chunks / total
        ├── RelayStatusError      the relay answered an error (HTTP status, its own words)
        │   ├── AuthError         invalid, expired or missing key
        │   ├── QuotaError        key or account out of quota
        │   ├── ModelDeniedError  the key may not use the model, or no channel serves it
        │   ├── RateLimitError    429, with Retry-After when given
        │   └── GatewayError      a CDN/gateway page (502-504, 520-524, HTML body)
        ├── ConnectionsBusy       every local connection to the relay stayed taken (jobs)
        ├── RelayProtocolError    the relay's answer is not a chat-completions stream
        │   └── StreamTooLarge    a stream line or event past its limit (one never ending)
        └── TruncatedAnswer       the stream ended without a finish_reason

Errors from httpx are translated into this tree in exactly one place
(`gpt_lsp.relay.translate.translate_httpx_error`), a relay's refusal is classified in
`gpt_lsp.relay.classify`; user-facing text comes from `GptLspError.user_message()` only: one
line without control characters or escape sequences (`sanitize`: relays' words reach terminals
and logs), then `gpt_lsp.redaction.redact`, which removes every key the process has seen. A
hint says what to do; where the command line's advice differs from the editor's (the model
picker there, `--model` here), `cli_hint` is the command line's.
"""

from __future__ import annotations

from collections.abc import Iterable

from gpt_lsp.i18n import N_, _
from gpt_lsp.redaction import redact
from gpt_lsp.text.sanitize import sanitize
from gpt_lsp.urls import host_of


class GptLspError(Exception):
    """Base of every error gpt-lsp reports."""

    hint = ""
    cli_hint = ""
    """The hint on the command line, when it differs from the editor's."""

    def user_message(self, *, cli: bool = False) -> str:
        """Returns the one line shown to the user (in the editor, or with `cli` in a
        terminal), with every known key removed."""
        return _shown(_with_hint(str(self), self._hint(cli)))

    def _hint(self, cli: bool) -> str:
        return self.cli_hint if cli and self.cli_hint else self.hint


class SettingsError(GptLspError):
    """A setting is invalid; the server goes on with defaults."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(_("gpt-lsp settings: {problems}").format(problems=_("; ").join(problems)))

    hint = N_("Using defaults for those keys.")


class ProjectSettingsIgnored(GptLspError):
    """A project-level source (workspace settings, .dir-locals.el) set keys only the user may."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        text = _(
            "gpt-lsp ignored {keys} from the workspace/project settings (the gptLsp section of "
            "this project, e.g. .vscode/settings.json or .dir-locals.el)"
        )
        super().__init__(text.format(keys=", ".join(self.keys)))

    hint = N_(
        "Where requests go, the credentials they carry, what they may cost and the privacy "
        "switches are taken only from your user settings (config.toml, the environment, your "
        "own editor configuration)."
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


class AnswerTooLong(RequestRefused):
    """The answer passed its limit (a job's maxAnswerChars): its stream was closed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        text = _(
            "The answer passed maxAnswerChars ({limit}); the job was "
            "stopped and the document restored."
        )
        super().__init__(text.format(limit=limit))


class AnswerWithoutCode(GptLspError):
    """The model answered a code-writing action without any code: nothing is written."""

    def __init__(self, answer: str, notes: str | None = None) -> None:
        start = " ".join(answer.split())
        quoted = start if len(start) <= 120 else start[:117] + "..."
        self.answer = answer
        self.hint = f"Its whole answer is in {notes}." if notes else "Try again."
        super().__init__(
            f'The model answered without code, so the document was left as it was: "{quoted}"'
            if quoted
            else "The model's answer was empty, so the document was left as it was."
        )


class RelayError(GptLspError):
    """Talking to a relay failed."""

    def __init__(self, message: str, *, relay: str = "", url: str = "") -> None:
        self.relay = relay
        self.url = url
        self.detail = message
        super().__init__(message)

    def where(self) -> str:
        """Names the relay and host for messages."""
        host = host_of(self.url)
        if self.relay and host:
            return _("relay '{relay}' ({host})").format(relay=self.relay, host=host)
        if self.relay:
            return _("relay '{relay}'").format(relay=self.relay)
        return host or _("relay")

    def user_message(self, *, cli: bool = False) -> str:
        text = _("{where}: {detail}").format(where=self.where(), detail=self.detail)
        return _shown(_with_hint(text, self._hint(cli)))


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

    hint = N_("Those are the relay's own words: try again, or ask its operator if it persists.")

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
        if not relay_message and type(self).hint == RelayStatusError.hint:
            self.hint = N_(
                "The relay gave no reason: try again, or ask its operator if it persists."
            )
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
        "Pick a model this relay serves for this key with the editor's model picker "
        "(VS Code: GPT LSP: Select Model; Neovim: :GptModel; Emacs: M-x gpt-lsp-select-model), "
        "or set `model` in the settings."
    )
    cli_hint = N_(
        "Choose a model this relay serves for this key: `model` in the settings, "
        "GPT_LSP_MODEL, or `gpt-lsp check --model NAME` to try one (`gpt-lsp check` lists them)."
    )
    models: list[str] | None = None
    """The relay's model list, when known (`gpt-lsp check` fetches it)."""

    def user_message(self, *, cli: bool = False) -> str:
        """Returns the one line, naming the models the relay lists when they are known."""
        text = super().user_message(cli=cli)
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


class ConnectionsBusy(RelayError):
    """Every connection gpt-lsp keeps to the relay stayed taken by its other requests."""

    hint = N_("Too many AI requests at once: let some finish (or cancel some), then try again.")


class RelayProtocolError(RelayError):
    """The relay's answer is not a chat-completions stream."""

    hint = N_("Check that baseUrl points at an OpenAI-compatible API.")


class StreamTooLarge(RelayProtocolError):
    """A line or event of the stream grew past its limit: one that never ends, or a bomb."""

    hint = N_("The relay (or a proxy before it) sent a broken stream: try again.")


class TruncatedAnswer(RelayError):
    """The stream ended without a finish_reason: the answer is incomplete."""

    hint = N_("The relay dropped the answer: try again.")


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
