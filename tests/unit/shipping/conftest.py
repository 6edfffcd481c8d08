from __future__ import annotations

import pytest

from services.shipping.application import ShippingApplication
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f


@pytest.fixture
def app() -> ShippingApplication:
    return ShippingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def dispatched_app(app: ShippingApplication) -> ShippingApplication:
    """The default shipment, requested and dispatched with tracking number f.TRACKING_NUMBER."""
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))
    return app
