"""What completion did in a session, for gptLsp.status (light: read before the service is
built, so that a status asks nothing of completion's other modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Counts:
    """What completion did in this session (gptLsp.status)."""

    requests: int = 0  # relay requests
    fim: int = 0  # ... of which fill-in-the-middle (POST /completions)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0
    debounced: int = 0  # requests that gave way (a change, a newer one) before the relay
    cancelled: int = 0  # relay requests closed before their end (a change, a newer one)
    dropped: int = 0  # answers that came after the user moved on
    errors: int = 0
    shown: int = 0
    context_tokens: int = 0  # definitions from other files sent with the requests (estimated)

    def as_json(self) -> dict[str, Any]:
        """Returns the counts for gptLsp.status."""
        return {
            "requests": self.requests,
            "fimRequests": self.fim,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "costUsd": round(self.cost_usd, 6),
            "cacheHits": self.cache_hits,
            "debounced": self.debounced,
            "cancelled": self.cancelled,
            "dropped": self.dropped,
            "errors": self.errors,
            "shown": self.shown,
            "contextTokens": self.context_tokens,
        }
