"""Token counts and cost: from the relay's usage, or estimated locally when it sends none."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gpt_lsp.i18n import _
from gpt_lsp.relay.events import Usage
from gpt_lsp.settings import Price

# CJK ideographs, kana and hangul: roughly one token each in GPT tokenizers.
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SPACES = re.compile(r"\s{2,}")


def local_token_count(text: str) -> int:
    """Estimates tokens: one per CJK character, one per four other characters."""
    if not text:
        return 0
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 4)


def format_cost(price: Price | None, usage: Usage) -> str:
    """Returns cost as "$0.0012 (600 quota)", or "" without a price."""
    if price is None:
        return ""
    usd = price.cost_usd(usage.prompt_tokens, usage.completion_tokens)
    quota = price.quota(usage.prompt_tokens, usage.completion_tokens)
    return _("{usd} ({quota} quota)").format(usd=f"${usd:.4f}", quota=f"{quota:,}")


@dataclass
class UsageTotals:
    """Session totals across jobs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    jobs: int = 0

    def add(self, model: str, usage: Usage, price: Price | None) -> None:
        """Adds one job's usage."""
        self.jobs += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if price is not None:
            self.cost_usd += price.cost_usd(usage.prompt_tokens, usage.completion_tokens)


def chunk_tokens(text: str) -> int:
    """Estimates the tokens of one streamed piece: relays mostly send one token per chunk.

    A piece counts one token until it is clearly several: one per two CJK characters (CJK
    tokenizers merge words), one per four other characters, rounded down, a whitespace run
    counting as one character. One-token pieces such as "    return" or "修改" stay at one.
    """
    if not text:
        return 0
    if len(text) < 8 and text.isascii():
        return 1  # the usual piece, and at most 7 narrow characters: one token, said at once
    wide = len(_WIDE.findall(text))
    narrow = len(_SPACES.sub(" ", text)) - wide
    return max(1, wide // 2 + narrow // 4)
