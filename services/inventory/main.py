"""`inventory-service`: run the inventory service until SIGTERM."""

from __future__ import annotations

import sys

from services.inventory.bootstrap import create_inventory_app
from services.inventory.config import InventorySettings
from shared.runtime import run_service


def main() -> None:
    sys.exit(run_service(create_inventory_app, InventorySettings))


if __name__ == "__main__":
    main()
