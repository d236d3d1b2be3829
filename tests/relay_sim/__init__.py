"""Relay simulator: a real aiohttp chat-completions server with one-api / new-api wire quirks
(and the legacy /completions of fill-in-the-middle, as `sim.fim` says).

with RelaySim(prefix="/v1", api_key="sk-test") as sim:
    sim.enqueue(Scenario(split_writes=True), QUOTA_EXHAUSTED)
    ...  # point the client at sim.base_url
    sim.requests[-1].client_disconnected
"""

from tests.relay_sim.scenario import (
    CF_524,
    HANG_CAP,
    INVALID_TOKEN,
    MODEL_DENIED,
    MSG_INVALID_TOKEN,
    MSG_MODEL_DENIED,
    MSG_NO_CHANNEL,
    MSG_NO_TOKEN,
    MSG_QUOTA_EXHAUSTED,
    MSG_SATURATED,
    MSG_TOKEN_EXPIRED,
    MSG_USER_QUOTA,
    NO_CHANNEL,
    QUOTA_EXHAUSTED,
    SATURATED,
    TOKEN_EXPIRED,
    USER_QUOTA,
    LineEnding,
    RecordedRequest,
    Scenario,
    UsageMode,
)
from tests.relay_sim.server import DEFAULT_MODELS, BillingLimitMode, FimMode, RelaySim

__all__ = [
    "CF_524",
    "DEFAULT_MODELS",
    "HANG_CAP",
    "INVALID_TOKEN",
    "MODEL_DENIED",
    "MSG_INVALID_TOKEN",
    "MSG_MODEL_DENIED",
    "MSG_NO_CHANNEL",
    "MSG_NO_TOKEN",
    "MSG_QUOTA_EXHAUSTED",
    "MSG_SATURATED",
    "MSG_TOKEN_EXPIRED",
    "MSG_USER_QUOTA",
    "NO_CHANNEL",
    "QUOTA_EXHAUSTED",
    "SATURATED",
    "TOKEN_EXPIRED",
    "USER_QUOTA",
    "BillingLimitMode",
    "FimMode",
    "LineEnding",
    "RecordedRequest",
    "RelaySim",
    "Scenario",
    "UsageMode",
]
