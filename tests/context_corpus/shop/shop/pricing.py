"""Prices: tax, discounts, rounding."""

from decimal import ROUND_HALF_UP, Decimal

TAX_RATE = 0.2
COUPONS = {"WELCOME": 0.1, "VIP": 0.25}


def round_money(amount: float) -> float:
    """Rounds to cents, halves up."""
    return float(Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def apply_discount(amount: float, coupon: str | None) -> float:
    """Takes the coupon's share off an amount; an unknown coupon takes nothing."""
    if coupon is None:
        return amount
    rate = COUPONS.get(coupon.upper(), 0.0)
    return amount * (1 - rate)


def with_tax(amount: float, rate: float = TAX_RATE) -> float:
    """Adds tax."""
    return amount * (1 + rate)
