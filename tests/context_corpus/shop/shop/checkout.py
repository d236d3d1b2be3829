"""Checkout: from a cart to a charged order."""

from shop.inventory import OutOfStock, Stock
from shop.models import Item, Order
from shop.pricing import apply_discount, round_money, with_tax
from shop.reports import format_amount


def order_total(order: Order) -> float:
    """What the customer pays."""
    amount = apply_discount(order.total(), order.coupon)
    return round_money(with_tax(amount))


def reserve_all(order: Order, stock: Stock) -> list[str]:
    """Reserves every item; returns the SKUs that are out of stock."""
    missing = []
    for item in order.items:
        try:
            stock.reserve(item.sku, item.quantity)
        except OutOfStock:
            missing.append(item.sku)
    return missing


def receipt_line(item: Item) -> str:
    """One line of the receipt."""
    return f"{item.sku} x{item.quantity}: {format_amount(item.subtotal())}"
