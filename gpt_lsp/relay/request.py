"""What one request is (chat, or fill-in-the-middle), what is learned of a relay from its
refusals, and how it went."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

FimEndpoint = Literal["completions", "fim/completions"]
"""Where a fill-in-the-middle request goes under the base: the legacy completions endpoint,
or Codestral's (answered in chat-completion chunks)."""

# 400s that say the relay rejects one request feature; each is retried once without it.
_STREAM_OPTIONS_MARKERS = ("stream_options", "include_usage")
_MAX_TOKENS_MARKERS = ("max_completion_tokens",)
_SYSTEM_ROLE_MARKERS = ("system role", "system message", "role 'system'", 'role "system"', "system")


@dataclass
class ChatRequest:
    """What one chat request sends; None parameters are left out of the body."""

    messages: list[dict[str, str]]
    model: str
    temperature: float | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None


@dataclass
class FimRequest:
    """What one fill-in-the-middle request sends (legacy `/completions`: `prompt` + `suffix`)."""

    prompt: str
    suffix: str
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    endpoint: FimEndpoint = "completions"  # "fim/completions": Codestral's form


Request = ChatRequest | FimRequest


@dataclass
class RelayQuirks:
    """What this session learned about the relay; each flag is set by a 400 it answered."""

    no_stream_options: bool = False
    max_completion_tokens: bool = False
    no_system_role: bool = False
    # Per model: whether the relay keeps `suffix` on /completions (absent: not known yet).
    fim: dict[str, bool] = field(default_factory=dict)


@dataclass
class Attempt:
    """The outcome of the request: which URL answered and when."""

    url: str = ""
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    retries: int = 0
    failovers: int = 0


def adapt(
    quirks: RelayQuirks, relay_message: str, request: Request, adapted: set[str]
) -> str | None:
    """Learns from a 400 that names a request feature (once each per request); returns what
    the relay rejects when a retry without it may help, else None."""
    text = relay_message.lower()
    if (
        "stream_options" not in adapted
        and not quirks.no_stream_options
        and any(marker in text for marker in _STREAM_OPTIONS_MARKERS)
    ):
        quirks.no_stream_options = True
        adapted.add("stream_options")
        return "stream_options"
    if not isinstance(request, ChatRequest):
        return None  # the legacy endpoint takes max_tokens and has no roles
    if (
        "max_tokens" not in adapted
        and request.max_tokens is not None
        and any(marker in text for marker in _MAX_TOKENS_MARKERS)
    ):
        quirks.max_completion_tokens = not quirks.max_completion_tokens
        adapted.add("max_tokens")
        return "max_tokens"
    if "system" not in adapted and not quirks.no_system_role:
        has_system = any(m.get("role") == "system" for m in request.messages)
        if has_system and any(marker in text for marker in _SYSTEM_ROLE_MARKERS):
            quirks.no_system_role = True
            adapted.add("system")
            return "the system role (folding it into the prompt)"
    return None
