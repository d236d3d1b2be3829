"""Which error a relay's refusal is: one-api / new-api words first, then the HTTP status."""

from __future__ import annotations

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    ModelDeniedError,
    QuotaError,
    RateLimitError,
    RelayStatusError,
)

__all__ = ["GATEWAY_STATUSES", "classify_status"]

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
