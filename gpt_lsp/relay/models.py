"""Which model to use when none is configured: one the relay lists, cheap chat models first."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

# Well-known inexpensive chat models, best first; globs match dated and provider variants.
PREFERRED = (
    "gpt-4o-mini*",
    "gpt-4.1-mini*",
    "gpt-4.1-nano*",
    "deepseek-chat*",
    "deepseek-v3*",
    "qwen-turbo*",
    "qwen*-plus*",
    "glm-4-flash*",
    "claude-3-5-haiku*",
    "claude-3-haiku*",
    "gemini-*flash*",
    "gpt-3.5-turbo*",
    "gpt-4o*",
    "*/gpt-4o-mini*",
    "*mini*",
)
# Not chat models: never picked.
_NOT_CHAT = ("*embed*", "*whisper*", "*tts*", "*dall-e*", "*image*", "*moderation*", "*rerank*")


def pick_model(models: Sequence[str]) -> str | None:
    """Returns the model to use from a relay's list, or None when nothing fits."""
    candidates = [
        m
        for m in models
        if _plain_name(m) and not any(fnmatch.fnmatch(m.lower(), p) for p in _NOT_CHAT)
    ]
    for pattern in PREFERRED:
        for model in candidates:
            if fnmatch.fnmatch(model.lower(), pattern):
                return model
    return candidates[0] if candidates else None


def _plain_name(model: str) -> bool:
    """True for a name fit to send and show: printable, one word, not too long."""
    return 0 < len(model) <= 200 and model.isprintable() and not any(c.isspace() for c in model)
