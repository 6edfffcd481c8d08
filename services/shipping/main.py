"""`shipping-service`: run the shipping service until SIGTERM."""

from __future__ import annotations

import sys

from services.shipping.bootstrap import create_shipping_app
from services.shipping.config import ShippingSettings
from shared.runtime import run_service


def main() -> None:
    sys.exit(run_service(create_shipping_app, ShippingSettings))


if __name__ == "__main__":
    main()
