from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.orders.application import OrdersApplication


@pytest.fixture
def app() -> Iterator[OrdersApplication]:
    application = OrdersApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()
