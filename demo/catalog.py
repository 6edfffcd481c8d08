"""What the simulated shop sells and to whom."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    price: str
    # Opening stock per warehouse; some are short on purpose so that backorders happen.
    stock: dict[str, int]


PRODUCTS = (
    Product("TSHIRT-RED-M", "19.90", {"LIS-1": 40, "MAD-1": 20}),
    Product("TSHIRT-BLUE-L", "19.90", {"LIS-1": 30}),
    Product("HOODIE-GREY-M", "49.00", {"MAD-1": 15}),
    Product("MUG-LOGO", "8.50", {"LIS-1": 25, "MAD-1": 25}),
    Product("CAP-BLACK", "14.00", {"MAD-1": 10}),
    Product("SNEAKER-WHITE-42", "89.00", {"LIS-1": 3}),
)

CUSTOMERS = (
    ("C-881", "ana@example.com", "Ana Silva", "Lisboa", "1100-053", "PT"),
    ("C-214", "joao@example.com", "João Costa", "Porto", "4000-322", "PT"),
    ("C-530", "lucia@example.com", "Lucía García", "Madrid", "28013", "ES"),
    ("C-077", "pierre@example.com", "Pierre Martin", "Lyon", "69002", "FR"),
    ("C-902", "mia@example.com", "Mia Schulz", "Berlin", "10115", "DE"),
)


def random_lines(rng: random.Random) -> list[tuple[Product, int]]:
    products = rng.sample(PRODUCTS, k=rng.choice((1, 1, 2, 3)))
    return [(product, rng.choice((1, 1, 1, 2, 3))) for product in products]
