"""Orders and their items."""

from dataclasses import dataclass, field


@dataclass
class Item:
    """One line of an order."""

    sku: str
    price: float
    quantity: int = 1

    def subtotal(self) -> float:
        """Price times quantity."""
        return self.price * self.quantity


@dataclass
class Order:
    """A customer's order."""

    customer: str
    items: list[Item] = field(default_factory=list)
    coupon: str | None = None

    def total(self) -> float:
        """The sum of the items' subtotals, before tax and discounts."""
        amount = 0.0
        for item in self.items:
            amount += item.subtotal()
        return amount

    def add(self, item: Item) -> None:
        """Adds an item, merging it with one of the same SKU."""
        for existing in self.items:
            if existing.sku == item.sku:
                existing.quantity += item.quantity
                return
        self.items.append(item)
