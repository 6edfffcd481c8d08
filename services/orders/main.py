"""`orders-service`: run the orders service until SIGTERM."""

from __future__ import annotations

import sys

from services.orders.bootstrap import create_orders_app
from services.orders.config import OrdersSettings
from shared.runtime import run_service


def main() -> None:
    sys.exit(run_service(create_orders_app, OrdersSettings))


if __name__ == "__main__":
    main()
