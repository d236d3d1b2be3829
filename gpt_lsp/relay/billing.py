"""Optional relay extras: the model list and the one-api balance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from gpt_lsp.relay.urls import billing_urls, models_url
from gpt_lsp.settings import QUOTA_PER_USD

log = logging.getLogger(__name__)
_EXTRAS_TIMEOUT = 10.0


@dataclass(frozen=True)
class Balance:
    """A relay balance in USD, as one-api's OpenAI-style billing endpoints report it."""

    limit_usd: float
    used_usd: float | None

    @property
    def remaining_usd(self) -> float | None:
        """Returns what is left, when usage is known."""
        return None if self.used_usd is None else self.limit_usd - self.used_usd

    @staticmethod
    def quota(usd: float) -> int:
        """Returns USD in one-api quota."""
        return round(usd * QUOTA_PER_USD)


async def fetch_models(http: httpx.AsyncClient, base: str) -> list[str] | None:
    """Returns the relay's model ids, or None when it offers no list."""
    body = await _get_json(http, models_url(base))
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    return sorted({i for i in ids if isinstance(i, str) and i})


async def fetch_balance(http: httpx.AsyncClient, base: str) -> Balance | None:
    """Returns the balance, or None when the relay does not serve the billing endpoints."""
    subscription_url, usage_url = billing_urls(base)
    subscription = await _get_json(http, subscription_url)
    if not isinstance(subscription, dict):
        return None
    limit = subscription.get("hard_limit_usd", subscription.get("system_hard_limit_usd"))
    if not isinstance(limit, (int, float)):
        return None
    usage = await _get_json(http, usage_url)
    used: float | None = None
    if isinstance(usage, dict) and isinstance(usage.get("total_usage"), (int, float)):
        used = float(usage["total_usage"]) / 100  # reported in cents, as OpenAI did
    return Balance(float(limit), used)


async def _get_json(http: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await http.get(url, timeout=_EXTRAS_TIMEOUT)
    except httpx.HTTPError as exc:
        log.debug("GET %s failed: %s", url, type(exc).__name__)
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None
