"""The spending cap's decisions (gpt_lsp/accounting/budget.py): none without a cap, a refusal that
names the cap, the spend and how to raise it, a warning at 80 %."""

from __future__ import annotations

from gpt_lsp.accounting.budget import Caps, decide
from gpt_lsp.accounting.ledger import Spend


def test_no_cap_no_decision() -> None:
    assert decide(Caps(), Spend(cost_usd=99), Spend(cost_usd=99)).refusal is None
    assert not Caps().any


def test_a_reached_cap_refuses_naming_cap_spend_and_how_to_raise_it() -> None:
    decision = decide(Caps(daily_usd=0.5), Spend(1, cost_usd=0.52), Spend(1, cost_usd=0.52))
    assert decision.refusal is not None
    assert "$0.5200 spent today" in decision.refusal
    assert "budget.dailyUsd $0.5000" in decision.refusal
    assert "Raise budget.dailyUsd" in decision.refusal and "Nothing was sent" in decision.refusal
    monthly = decide(Caps(monthly_usd=3), Spend(), Spend(cost_usd=3.0))
    assert monthly.refusal is not None and "this month" in monthly.refusal
    quota = decide(Caps(daily_quota=10_000), Spend(quota=12_000), Spend(quota=12_000))
    assert quota.refusal is not None and "12,000 quota" in quota.refusal


def test_eighty_percent_warns_and_unpriced_requests_are_named() -> None:
    decision = decide(Caps(daily_usd=1.0), Spend(3, cost_usd=0.85, unpriced=2), Spend())
    assert decision.refusal is None
    [(key, message)] = decision.warnings
    assert key == "dailyUsd"
    assert "85% of budget.dailyUsd" in message
    assert "not counting 2 requests to models without a price" in message
    assert decide(Caps(daily_usd=1.0), Spend(cost_usd=0.5), Spend()).warnings == []
