"""Topic `shipping.events.v1`: what the shipping service publishes (key: order_id)."""

from __future__ import annotations

from datetime import date, datetime

from shared.contracts.carrier import CarrierStatus
from shared.contracts.envelope import Contract, OrderId, WarehouseCode
from shared.contracts.orders import SkuQuantity


class ShipmentCreatedV1(Contract):
    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode
    lines: list[SkuQuantity]
    promised_delivery_by: date


class ShipmentProgressedV1(Contract):
    """Picked or packed in the warehouse."""

    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode


class ShipmentDispatchedV1(Contract):
    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode
    lines: list[SkuQuantity]
    carrier: str
    tracking_number: str


class ShipmentTrackingUpdatedV1(Contract):
    shipment_id: str
    order_id: OrderId
    tracking_number: str
    carrier: str
    status: CarrierStatus
    location: str | None
    detail: str | None
    reported_at: datetime
    # False when the update is history only: older than the latest applied one, or after delivery or return
    # to sender. Consumers deriving the current tracking status should skip those.
    applied: bool = True


class ShipmentDeliveredV1(Contract):
    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode
    lines: list[SkuQuantity]
    delivered_at: datetime
    promised_delivery_by: date
    late: bool


class ShipmentReturnedToSenderV1(Contract):
    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode
    lines: list[SkuQuantity]


class ShipmentCancelledV1(Contract):
    shipment_id: str
    order_id: OrderId
    warehouse: WarehouseCode
    reason: str


class ShipmentCancellationRefusedV1(Contract):
    shipment_id: str
    order_id: OrderId
    refusal: str


class OrderShipmentsCancelledV1(Contract):
    """Shipping's yes to a pending cancellation: no shipment of the order has left, none ever will.

    `shipment_ids` are the shipments stopped now (each also has its `ShipmentCancelled`); a shipment of the
    order requested later is cancelled on arrival.
    """

    order_id: OrderId
    cancellation_id: str
    shipment_ids: list[str]


class OrderShipmentsCancellationRefusedV1(Contract):
    """Shipping's no to a pending cancellation: `dispatched` already left; no shipment of the order was changed."""

    order_id: OrderId
    cancellation_id: str
    refusal: str
    dispatched: list[str]


SHIPPING_TYPES: dict[str, type[Contract]] = {
    "ShipmentCreated": ShipmentCreatedV1,
    "ShipmentPicked": ShipmentProgressedV1,
    "ShipmentPacked": ShipmentProgressedV1,
    "ShipmentDispatched": ShipmentDispatchedV1,
    "ShipmentTrackingUpdated": ShipmentTrackingUpdatedV1,
    "ShipmentDelivered": ShipmentDeliveredV1,
    "ShipmentReturnedToSender": ShipmentReturnedToSenderV1,
    "ShipmentCancelled": ShipmentCancelledV1,
    "ShipmentCancellationRefused": ShipmentCancellationRefusedV1,
    "OrderShipmentsCancelled": OrderShipmentsCancelledV1,
    "OrderShipmentsCancellationRefused": OrderShipmentsCancellationRefusedV1,
}
