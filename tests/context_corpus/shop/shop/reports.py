"""Reports over many orders."""

from shop.models import Order


def format_amount(amount: float) -> str:
    """Formats an amount as money."""
    return f"${amount:,.2f}"


def revenue(orders: list[Order]) -> float:
    """Revenue over orders."""
    return sum(order.total() for order in orders)


def slugify(text: str) -> str:
    """Lower case, dashes for spaces."""
    return "-".join(text.lower().split())
