"""What sealing personal data costs per event: the orders service's OrderPlaced (customer + address) stored and
loaded through the plain library mapper and through the sealing one, and the key vault's round trips on FerretDB.

- encode / decode µs per event, plain vs sealed, with the customer's key in the vault's memory (a batch: every
  event of an order after its first, every reload): the cost of AES-GCM plus the extra JSON;
- a customer's first sight (a new key: one insert) and a cold key read (one point lookup), ms, on the local
  FerretDB (`uv run fulfillment-infra up`), in a database of its own that is dropped afterwards.

    uv run python -m benchmarks.personal_data [--events 20000] [--customers 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper
from pymongo import MongoClient

from deploy.local.layout import LocalLayout
from services.orders.application import OrdersApplication
from services.orders.domain.order import Order
from shared.contracts.storefront import OrderPlacedV1
from shared.messaging.application import Delivery
from shared.personal_data import KEYS_COLLECTION, KeyVault, Sealer
from shared.personal_data.mapper import PersonalDataMapper
from tests.factories import order_placed


def placed_event(customer_id: str) -> Any:
    """The storefront's OrderPlaced as the orders service stores it: its use case run on in-memory persistence."""
    app = OrdersApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    placed = OrderPlacedV1.model_validate(order_placed(f"SO-{uuid.uuid4().hex[:10]}", customer_id=customer_id))
    processed = app.process([Delivery(uuid.uuid4().hex, lambda: app.place_order(placed))])
    return next(event for event in processed.events if isinstance(event, Order.Placed))


def per_call_us(call: Callable[[], object], count: int, rounds: int = 5) -> float:
    """The median over rounds of the mean time per call, in µs."""
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            call()
        means.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=300)
    args = parser.parse_args()

    layout = LocalLayout.from_env()
    url = os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{layout.mongo_port}")
    client: MongoClient[dict[str, Any]] = MongoClient(url, uuidRepresentation="standard")
    database = f"bench_personal_{uuid.uuid4().hex[:8]}"
    try:
        vault = KeyVault(client[database][KEYS_COLLECTION])
        transcoder = JSONTranscoder()
        OrdersApplication.register_transcodings(OrdersApplication.__new__(OrdersApplication), transcoder)
        plain: Mapper[Any] = Mapper(transcoder)
        sealing = PersonalDataMapper(transcoder, Sealer(vault), OrdersApplication.personal_data)
        event = placed_event("C-bench")
        sealing.to_stored_event(event)  # the key, created and then in memory
        stored_plain, stored_sealed = plain.to_stored_event(event), sealing.to_stored_event(event)

        figures = {
            "encode plain": per_call_us(lambda: plain.to_stored_event(event), args.events),
            "encode sealed": per_call_us(lambda: sealing.to_stored_event(event), args.events),
            "decode plain": per_call_us(lambda: plain.to_domain_event(stored_plain), args.events),
            "decode sealed": per_call_us(lambda: sealing.to_domain_event(stored_sealed), args.events),
        }
        print(f"OrderPlaced, {args.events} events x 5 rounds (median of the rounds' means), key in memory:")
        for what in ("encode", "decode"):
            base, sealed = figures[f"{what} plain"], figures[f"{what} sealed"]
            print(f"  {what}: plain {base:7.1f} µs, sealed {sealed:7.1f} µs, +{sealed - base:6.1f} µs per event")
        print(f"  stored state: plain {len(stored_plain.state)} B, sealed {len(stored_sealed.state)} B")

        creating, reading = [], []
        for index in range(args.customers):
            start = time.perf_counter()
            key = vault.current(f"C-new-{index}")
            creating.append((time.perf_counter() - start) * 1000)
            cold = KeyVault(client[database][KEYS_COLLECTION])
            start = time.perf_counter()
            cold.secret(key.kid)
            reading.append((time.perf_counter() - start) * 1000)
        print(f"Key vault on FerretDB ({url}), {args.customers} customers:")
        for name, values in (("first sight (create a key)", creating), ("cold key read", reading)):
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(f"  {name}: p50 {statistics.median(values):.2f} ms, p99 {p99:.2f} ms")
    finally:
        client.drop_database(database)
        client.close()


if __name__ == "__main__":
    main()
