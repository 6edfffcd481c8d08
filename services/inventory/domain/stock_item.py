"""Units of one sku in one warehouse: on hand, allocated to orders, and what is left to allocate."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.inventory.domain import INVENTORY_NAMESPACE


class StockError(Exception):
    """A change that would break the stock invariants; the application never asks for one."""


class OverAllocation(StockError):
    pass


class NothingToRelease(StockError):
    pass


class NotOnHand(StockError):
    pass


class StockItem(Aggregate):
    """on_hand ≥ allocated ≥ 0 at all times, so available (on_hand - allocated) is never negative.

    Every change records the levels it leaves behind (and its sku and warehouse), so the event alone is enough
    to publish `StockLevelChanged`.
    """

    class Registered(Aggregate.Created):
        sku: str
        warehouse: str

    class LevelChanged(Aggregate.Event):
        cause: ClassVar[str]
        sku: str
        warehouse: str
        on_hand: int
        allocated: int

    class Received(LevelChanged):
        cause = "received"
        quantity: int

    class Adjusted(LevelChanged):
        cause = "adjusted"
        delta: int
        reason: str

    class OrderLevelChanged(LevelChanged):
        order_id: str
        quantity: int

    class Allocated(OrderLevelChanged):
        cause = "allocated"

    class Released(OrderLevelChanged):
        cause = "released"

    class Shipped(OrderLevelChanged):
        cause = "shipped"

    class ShippedUnallocated(OrderLevelChanged):
        """Units left the warehouse for an order that no longer held them (see `ship_unallocated`): `quantity`
        came off on hand; `short` more left too, but are counted as allocated to other orders."""

        cause = "shipped"
        short: int

    class Restocked(OrderLevelChanged):
        """Returned goods: `quantity` resellable units back on hand; damaged ones are counted apart."""

        cause = "returned"
        damaged: int

    class AdjustmentRefused(Aggregate.Event):
        sku: str
        warehouse: str
        delta: int
        reason: str
        refusal: str

    @staticmethod
    def create_id(sku: str, warehouse: str) -> UUID:
        return uuid5(INVENTORY_NAMESPACE, f"stock:{sku}@{warehouse}")

    @event(Registered)
    def __init__(self, sku: str, warehouse: str) -> None:
        self.sku = sku
        self.warehouse = warehouse
        self.on_hand = 0
        self.allocated = 0
        self.damaged = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    # Commands

    def receive(self, quantity: int) -> None:
        self._record_receipt(quantity=quantity, **self._levels(on_hand=self.on_hand + quantity))

    def adjust(self, delta: int, reason: str) -> None:
        """A count correction; one that would leave fewer units on hand than are allocated is refused."""
        if self.on_hand + delta < self.allocated:
            refusal = (
                f"on hand would be {self.on_hand + delta}, below the {self.allocated} allocated to orders "
                f"({self.available} available to remove)"
            )
            self._refuse_adjustment(sku=self.sku, warehouse=self.warehouse, delta=delta, reason=reason, refusal=refusal)
            return
        self._record_adjustment(delta=delta, reason=reason, **self._levels(on_hand=self.on_hand + delta))

    def allocate(self, order_id: str, quantity: int) -> None:
        self.check_available(quantity)
        self._record_allocation(
            order_id=order_id, quantity=quantity, **self._levels(allocated=self.allocated + quantity)
        )

    def release(self, order_id: str, quantity: int) -> None:
        self.check_allocated(quantity)
        self._record_release(order_id=order_id, quantity=quantity, **self._levels(allocated=self.allocated - quantity))

    def ship(self, order_id: str, quantity: int) -> None:
        """Allocated units left the warehouse: they are neither on hand nor allocated any more."""
        self.check_allocated(quantity)
        self._record_shipment(
            order_id=order_id,
            quantity=quantity,
            **self._levels(on_hand=self.on_hand - quantity, allocated=self.allocated - quantity),
        )

    def ship_unallocated(self, order_id: str, quantity: int) -> None:
        """A parcel left with units not allocated to the order (any more): stock follows the goods, so on hand drops.

        Shipping decides cancellations, so this should not happen (a cancelled order's shipments cannot be
        dispatched); if it does, leaving on hand as it was would promise units that are gone. They come out of what
        is available. Units beyond that are allocated to other orders: taking them from those orders is not
        inventory's call (nor can on hand go below allocated), so they stay counted and are recorded as `short`
        on the event, for the warehouse's count (StockAdjusted) and the stock planners to settle.
        """
        taken = min(quantity, self.available)
        self._record_unallocated_shipment(
            order_id=order_id, quantity=taken, short=quantity - taken, **self._levels(on_hand=self.on_hand - taken)
        )

    def restock(self, order_id: str, resellable: int, damaged: int) -> None:
        self._record_restock(
            order_id=order_id, quantity=resellable, damaged=damaged, **self._levels(on_hand=self.on_hand + resellable)
        )

    # Invariants

    def check_available(self, quantity: int) -> None:
        if quantity > self.available:
            raise OverAllocation(f"{self.sku}@{self.warehouse}: {quantity} asked, {self.available} available")

    def check_allocated(self, quantity: int) -> None:
        if quantity > self.allocated:
            raise NothingToRelease(f"{self.sku}@{self.warehouse}: {quantity} asked, {self.allocated} allocated")

    def _levels(self, on_hand: int | None = None, allocated: int | None = None) -> dict[str, Any]:
        """The levels after a change, checked: on hand ≥ allocated ≥ 0."""
        on_hand = self.on_hand if on_hand is None else on_hand
        allocated = self.allocated if allocated is None else allocated
        if not on_hand >= allocated >= 0:
            raise NotOnHand(f"{self.sku}@{self.warehouse}: would leave {on_hand} on hand, {allocated} allocated")
        return {"sku": self.sku, "warehouse": self.warehouse, "on_hand": on_hand, "allocated": allocated}

    # Events: each body is the state change.

    @event(Received)
    def _record_receipt(self, sku: str, warehouse: str, on_hand: int, allocated: int, quantity: int) -> None:
        self.on_hand = on_hand

    @event(Adjusted)
    def _record_adjustment(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, delta: int, reason: str
    ) -> None:
        self.on_hand = on_hand

    @event(AdjustmentRefused)
    def _refuse_adjustment(self, sku: str, warehouse: str, delta: int, reason: str, refusal: str) -> None:
        pass  # nothing changes: the refusal is on record

    @event(Allocated)
    def _record_allocation(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, order_id: str, quantity: int
    ) -> None:
        self.allocated = allocated

    @event(Released)
    def _record_release(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, order_id: str, quantity: int
    ) -> None:
        self.allocated = allocated

    @event(Shipped)
    def _record_shipment(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, order_id: str, quantity: int
    ) -> None:
        self.on_hand = on_hand
        self.allocated = allocated

    @event(ShippedUnallocated)
    def _record_unallocated_shipment(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, order_id: str, quantity: int, short: int
    ) -> None:
        self.on_hand = on_hand

    @event(Restocked)
    def _record_restock(
        self, sku: str, warehouse: str, on_hand: int, allocated: int, order_id: str, quantity: int, damaged: int
    ) -> None:
        self.on_hand = on_hand
        self.damaged += damaged
