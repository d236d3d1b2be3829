"""The spending cap: whether a request may start, given what was spent today and this month."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpt_lsp.accounting.ledger import Spend
from gpt_lsp.i18n import N_, _, ngettext

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
        ("dailyUsd", N_("today"), caps.daily_usd, today.cost_usd, _usd),
        ("monthlyUsd", N_("this month"), caps.monthly_usd, month.cost_usd, _usd),
        ("dailyQuota", N_("today"), caps.daily_quota, float(today.quota), _quota),
    ]
    warnings: list[tuple[str, str]] = []
    for key, period, cap, spent, show in checks:
        if cap is None:
            continue
        unknown = _unknown(today if period == "today" else month)
        words = {"spent": show(spent), "period": _(period), "key": key, "cap": show(cap)}
        if spent >= cap:
            refusal = _(
                "Spending cap reached: {spent} spent {period} of budget.{key} {cap}{unknown}. "
                "Nothing was sent. Raise budget.{key} in the settings to go on."
            )
            return Decision(refusal=refusal.format(**words, unknown=unknown))
        if spent >= WARN_AT * cap:
            warning = _("{spent} spent {period}: {share} of budget.{key} {cap}{unknown}.")
            share = f"{spent / cap:.0%}"
            warnings.append((key, warning.format(**words, share=share, unknown=unknown)))
    return Decision(warnings=warnings)


def _unknown(spend: Spend) -> str:
    if not spend.unpriced:
        return ""
    text = ngettext(
        " (not counting {count} request to models without a price: set `prices` for them)",
        " (not counting {count} requests to models without a price: set `prices` for them)",
        spend.unpriced,
    )
    return text.format(count=spend.unpriced)


def _usd(value: float) -> str:
    return f"${value:.4f}"


def _quota(value: float) -> str:
    return _("{count} quota").format(count=f"{int(value):,}")
