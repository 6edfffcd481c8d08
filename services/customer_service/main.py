"""`customer-service`: run the customer_service service until SIGTERM."""

from __future__ import annotations

import sys

from services.customer_service.bootstrap import create_customer_service_app
from services.customer_service.config import CustomerServiceSettings
from shared.runtime import run_service


def main() -> None:
    sys.exit(run_service(create_customer_service_app, CustomerServiceSettings))


if __name__ == "__main__":
    main()
