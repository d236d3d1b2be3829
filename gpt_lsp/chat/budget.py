"""The conversation cut to its budget: the oldest turns dropped first (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Message = dict[str, str]


@dataclass(frozen=True)
class Cut:
    """The messages that fit, and how many earlier ones were left out."""

    messages: list[Message]
    dropped: int


def cut(messages: Sequence[Message], budget_chars: int) -> Cut:
    """Keeps the newest messages whose characters fit the budget; the last one (the
    question) is always kept, and what is kept starts with a user message."""
    kept: list[Message] = []
    total = 0
    for message in reversed(messages):
        size = len(message["content"])
        if kept and total + size > budget_chars:
            break
        kept.append(message)
        total += size
    kept.reverse()
    while len(kept) > 1 and kept[0]["role"] != "user":
        kept.pop(0)  # an answer without its question reads as the model's own words
    return Cut(kept, len(messages) - len(kept))
