"""Optional relay extras: the model list and the one-api balance."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx

from gpt_lsp.relay.reads import byte_chunks
from gpt_lsp.settings import QUOTA_PER_USD
from gpt_lsp.urls import billing_urls, models_url

log = logging.getLogger(__name__)
_EXTRAS_TIMEOUT = 10.0
# Bodies are read up to these sizes and dropped beyond: a relay (or whatever answers at its
# address) must not make `gpt-lsp check` hold gigabytes. Large relays list ~1,000 models.
MODELS_BODY_LIMIT = 4 * 1024 * 1024
BILLING_BODY_LIMIT = 64 * 1024


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
    body = await _get_json(http, models_url(base), MODELS_BODY_LIMIT)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    return sorted({i for i in ids if isinstance(i, str) and i})


async def fetch_balance(http: httpx.AsyncClient, base: str) -> Balance | None:
    """Returns the balance, or None when the relay does not serve the billing endpoints."""
    subscription_url, usage_url = billing_urls(base)
    subscription = await _get_json(http, subscription_url, BILLING_BODY_LIMIT)
    if not isinstance(subscription, dict):
        return None
    limit = subscription.get("hard_limit_usd", subscription.get("system_hard_limit_usd"))
    if not isinstance(limit, (int, float)):
        return None
    usage = await _get_json(http, usage_url, BILLING_BODY_LIMIT)
    used: float | None = None
    if isinstance(usage, dict) and isinstance(usage.get("total_usage"), (int, float)):
        used = float(usage["total_usage"]) / 100  # reported in cents, as OpenAI did
    return Balance(float(limit), used)


async def _get_json(http: httpx.AsyncClient, url: str, limit: int) -> Any:
    """Returns the JSON body of a GET, or None: failed, not 200, too large, slow or not JSON."""
    try:
        # One deadline for the whole exchange: httpx's timeout is per read, and a relay
        # dripping a byte every few seconds would never hit it.
        body = await asyncio.wait_for(_read_body(http, url, limit), _EXTRAS_TIMEOUT)
    except (httpx.HTTPError, asyncio.TimeoutError) as exc:
        log.debug("GET %s failed: %s", url, type(exc).__name__)
        return None
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


async def _read_body(http: httpx.AsyncClient, url: str, limit: int) -> bytes | None:
    """Returns the body of a 200 answer, or None when it is another status or over limit."""
    async with http.stream("GET", url, timeout=_EXTRAS_TIMEOUT) as response:
        if response.status_code != 200:
            return None
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        body = bytearray()
        # Decoded bytes are counted, a bounded piece at a time: a compressed body cannot
        # expand past the limit, nor a piece of it balloon on the way.
        chunks = byte_chunks(response)
        async with aclosing(chunks):
            async for chunk in chunks:
                body += chunk
                if len(body) > limit:
                    log.debug("GET %s: body over %d bytes, dropped", url, limit)
                    return None
        return bytes(body)
