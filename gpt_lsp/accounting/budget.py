"""The spending cap: whether a request may start, given what was spent today and this month."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpt_lsp.accounting.ledger import Spend

WARN_AT = 0.8  # share of a cap at which the user is warned once


@dataclass(frozen=True)
class Caps:
    """The caps a user set (None: no cap of that kind)."""

    daily_usd: float | None = None
    monthly_usd: float | None = None
    daily_quota: int | None = None

    @property
    def any(self) -> bool:
        """True when some cap is set."""
        return any(v is not None for v in (self.daily_usd, self.monthly_usd, self.daily_quota))


@dataclass(frozen=True)
class Decision:
    """What the cap says: a refusal message, or warnings to show once each."""

    refusal: str | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (key, message)


def decide(caps: Caps, today: Spend, month: Spend) -> Decision:
    """Returns whether a request may start under the caps."""
    checks = [
        ("dailyUsd", "today", caps.daily_usd, today.cost_usd, _usd),
        ("monthlyUsd", "this month", caps.monthly_usd, month.cost_usd, _usd),
        ("dailyQuota", "today", caps.daily_quota, float(today.quota), _quota),
    ]
    warnings: list[tuple[str, str]] = []
    for key, period, cap, spent, show in checks:
        if cap is None:
            continue
        unknown = _unknown(today if period == "today" else month)
        if spent >= cap:
            return Decision(
                refusal=f"Spending cap reached: {show(spent)} spent {period} of "
                f"budget.{key} {show(cap)}{unknown}. Nothing was sent. Raise budget.{key} in "
                "the settings to go on."
            )
        if spent >= WARN_AT * cap:
            warnings.append(
                (
                    key,
                    f"{show(spent)} spent {period}: {spent / cap:.0%} of budget.{key} "
                    f"{show(cap)}{unknown}.",
                )
            )
    return Decision(warnings=warnings)


def _unknown(spend: Spend) -> str:
    if not spend.unpriced:
        return ""
    plural = "s" if spend.unpriced > 1 else ""
    return (
        f" (not counting {spend.unpriced} request{plural} to models without a price: "
        "set `prices` for them)"
    )


def _usd(value: float) -> str:
    return f"${value:.4f}"


def _quota(value: float) -> str:
    return f"{int(value):,} quota"
