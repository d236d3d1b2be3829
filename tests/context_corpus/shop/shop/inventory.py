"""Stock kept per SKU."""


class OutOfStock(Exception):
    """Raised when a reservation asks for more than is left."""


class Stock:
    """Units on hand per SKU."""

    def __init__(self) -> None:
        self._units: dict[str, int] = {}

    def receive(self, sku: str, units: int) -> None:
        """Adds units of a SKU."""
        self._units[sku] = self._units.get(sku, 0) + units

    def reserve(self, sku: str, units: int) -> None:
        """Takes units out of stock; raises OutOfStock when there are not enough."""
        left = self._units.get(sku, 0)
        if left < units:
            raise OutOfStock(sku)
        self._units[sku] = left - units

    def total(self) -> int:
        """All units on hand."""
        return sum(self._units.values())
