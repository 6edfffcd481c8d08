"""Which shipments belong to an order: lets `OrderCancelled` and `GET /shipments?order_id=` find them."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.shipping.domain import SHIPPING_NAMESPACE


class OrderShipments(Aggregate):
    """Saved in the same commit as each shipment it lists, so it never misses one."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.shipment_ids: list[str] = []

    @staticmethod
    def create_id(order_id: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"order:{order_id}")

    def add(self, shipment_id: str) -> None:
        if shipment_id not in self.shipment_ids:
            self._shipment_added(shipment_id=shipment_id)

    @event("ShipmentAdded")
    def _shipment_added(self, shipment_id: str) -> None:
        self.shipment_ids.append(shipment_id)
