"""Chaos harness: hurts the running system on purpose and then checks, from the outside, that nothing was
lost, duplicated or oversold (issue 14; in the spirit of Kafka's system tests and Jepsen).

Black-box: it talks to the system only as the outside world does — records on the contract topics
(`storefront.orders`, `warehouse.events`, `carrier.tracking`), their `<topic>.dlq`s, and the documented HTTP
endpoints — and hurts it only through processes: kill -9 of service replicas, of the broker, of FerretDB.
It runs its own Kafka and FerretDB (private ports and data dir under a temp dir, the shared download cache),
so nobody else's servers are touched.

A run: plan from the seed (scenario) → start the private servers and the services (fleet) → opening stock →
the storefront places orders at a steady rate while open orders are visited and the warehouse and carriers
act on what the HTTP API shows (play), and the nemesis strikes (faults) → drain until every order ended
(bounded) → settle → read everything back (snapshot) and check every invariant (invariants) → report.

`uv run python -m benchmarks.chaos --help`; the big run: `scripts/chaos-big.sh`.
"""
