"""The shipping service's domain events as `shipping.events.v1` messages, keyed by order id.

Every carrier update the shipment recorded is published as `ShipmentTrackingUpdated`, with `applied` telling
whether it set the shipment's status (an older update arriving late, or anything after delivery or return,
is history only). Index and inbox events are not published. An early message given up (expired, or refused when
finally applied) goes to the DLQ of the topic it came on.
"""

from __future__ import annotations

from typing import cast

from services.shipping.domain.early_arrivals import EarlyArrivals, WaitingMessage
from services.shipping.domain.order_shipments import OrderShipments
from services.shipping.domain.shipment import Shipment, ShipmentLine
from shared.contracts.carrier import CarrierStatus
from shared.contracts.envelope import Contract
from shared.contracts.orders import SkuQuantity
from shared.contracts.shipping import (
    OrderShipmentsCancellationRefusedV1,
    OrderShipmentsCancelledV1,
    ShipmentCancellationRefusedV1,
    ShipmentCancelledV1,
    ShipmentCreatedV1,
    ShipmentDeliveredV1,
    ShipmentDispatchedV1,
    ShipmentProgressedV1,
    ShipmentReturnedToSenderV1,
    ShipmentTrackingUpdatedV1,
)
from shared.contracts.topics import CARRIER_TRACKING, SHIPPING_EVENTS, WAREHOUSE_EVENTS
from shared.messaging.outbound import DeadLetter, Outbound


def to_outbound(event: object) -> Outbound | DeadLetter | list[DeadLetter] | None:
    match event:
        case Shipment.Created():
            return _message(
                event.order_id,
                "ShipmentCreated",
                ShipmentCreatedV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    warehouse=event.warehouse,
                    lines=_lines(event.lines),
                    promised_delivery_by=event.promised_delivery_by,
                ),
                # Warehouse scans arrive keyed by shipment id: they join the order's trace.
                trace_aliases=(event.shipment_id,),
            )
        case Shipment.Picked() | Shipment.Packed():
            return _message(
                event.order_id,
                "ShipmentPicked" if isinstance(event, Shipment.Picked) else "ShipmentPacked",
                ShipmentProgressedV1(shipment_id=event.shipment_id, order_id=event.order_id, warehouse=event.warehouse),
            )
        case Shipment.Dispatched():
            return _message(
                event.order_id,
                "ShipmentDispatched",
                ShipmentDispatchedV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    warehouse=event.warehouse,
                    lines=_lines(event.lines),
                    carrier=event.carrier,
                    tracking_number=event.tracking_number,
                ),
                # Carrier updates arrive keyed by tracking number, days later: they join the order's trace.
                trace_aliases=(event.tracking_number,),
            )
        case Shipment.TrackingRecorded():
            return _message(
                event.order_id,
                "ShipmentTrackingUpdated",
                ShipmentTrackingUpdatedV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    tracking_number=event.tracking_number,
                    carrier=event.carrier,
                    status=cast(CarrierStatus, event.status),  # recorded from a validated TrackingUpdated
                    location=event.location,
                    detail=event.detail,
                    reported_at=event.reported_at,
                    applied=event.applied,
                ),
            )
        case Shipment.Delivered():
            return _message(
                event.order_id,
                "ShipmentDelivered",
                ShipmentDeliveredV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    warehouse=event.warehouse,
                    lines=_lines(event.lines),
                    delivered_at=event.delivered_at,
                    promised_delivery_by=event.promised_delivery_by,
                    late=event.late,
                ),
            )
        case Shipment.ReturnedToSender():
            return _message(
                event.order_id,
                "ShipmentReturnedToSender",
                ShipmentReturnedToSenderV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    warehouse=event.warehouse,
                    lines=_lines(event.lines),
                ),
            )
        case Shipment.Cancelled():
            return _message(
                event.order_id,
                "ShipmentCancelled",
                ShipmentCancelledV1(
                    shipment_id=event.shipment_id,
                    order_id=event.order_id,
                    warehouse=event.warehouse,
                    reason=event.reason,
                ),
            )
        # Shipping's answer to orders' pending cancellation, for the whole order (in the commit that cancelled its
        # shipments, which publish their own ShipmentCancelled).
        case OrderShipments.ShipmentsCancelled():
            return _message(
                event.order_id,
                "OrderShipmentsCancelled",
                OrderShipmentsCancelledV1(
                    order_id=event.order_id, cancellation_id=event.cancellation_id, shipment_ids=event.shipment_ids
                ),
            )
        case OrderShipments.CancellationRefused():
            return _message(
                event.order_id,
                "OrderShipmentsCancellationRefused",
                OrderShipmentsCancellationRefusedV1(
                    order_id=event.order_id,
                    cancellation_id=event.cancellation_id,
                    refusal=event.refusal,
                    dispatched=event.dispatched,
                ),
            )
        case EarlyArrivals.Expired():
            return [_dead_letter(event.key, message, event.reason, "expired") for message in event.messages]
        case EarlyArrivals.GivenUp():
            return _dead_letter(event.key, event.message, event.reason, "refused_when_applied")
        case Shipment.CancellationRefused():
            return _message(
                event.order_id,
                "ShipmentCancellationRefused",
                ShipmentCancellationRefusedV1(
                    shipment_id=event.shipment_id, order_id=event.order_id, refusal=event.refusal
                ),
            )
    return None


def _message(order_id: str, type_: str, data: Contract, trace_aliases: tuple[str, ...] = ()) -> Outbound:
    return Outbound(topic=SHIPPING_EVENTS, key=order_id, type=type_, data=data, trace_aliases=trace_aliases)


def _dead_letter(key: str, message: WaitingMessage, reason: str, error_type: str) -> DeadLetter:
    """The waiting message as its sender wrote it: what it named is in the key (`tracking:<n>`, `shipment:<id>`)."""
    kind, _, name = key.partition(":")
    topic, field = (CARRIER_TRACKING, "tracking_number") if kind == "tracking" else (WAREHOUSE_EVENTS, "shipment_id")
    return DeadLetter(
        topic=topic,
        key=name,
        message_id=message.message_id,
        type=message.type,
        occurred_at=message.at,
        data={field: name, **message.fields},
        reason=f"data.{field}: {reason}",
        error_type=error_type,
    )


def _lines(lines: list[ShipmentLine]) -> list[SkuQuantity]:
    return [SkuQuantity(sku=line.sku, quantity=line.quantity) for line in lines]
