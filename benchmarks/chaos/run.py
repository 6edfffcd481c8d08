"""One chaos run, start to end: private servers, the services, the opening stock, the play under faults, the
drain, the settling, the checks, and the report."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from benchmarks.chaos.api import Pace, SystemApi, Unavailable
from benchmarks.chaos.carriers import Carriers
from benchmarks.chaos.cluster import PrivateCluster
from benchmarks.chaos.dead_letters import read_dead_letters
from benchmarks.chaos.faults import Nemesis
from benchmarks.chaos.fleet import SERVICES, Fleet
from benchmarks.chaos.invariants import Verdict, check_all, totals
from benchmarks.chaos.ledger import Cell, Ledger
from benchmarks.chaos.narrator import Narrator
from benchmarks.chaos.play import Play
from benchmarks.chaos.scenario import Scenario, plan
from benchmarks.chaos.snapshot import Final, patiently, read_order, read_orders, read_stock
from benchmarks.chaos.stock_watch import StockWatch
from benchmarks.chaos.storefront import MALFORMED, Storefront, malformed_order_id
from benchmarks.chaos.warehouse import Warehouse
from benchmarks.chaos.wire import Wire
from deploy.local.kafka_users import ADMIN
from deploy.local.layout import REPO_ROOT

PROGRESS_EVERY_S = 10.0
OPENING_WITHIN_S = 180.0
OPENING_AT_REST_S = 10.0
# Every order has ended and no stock level moved for this long: inventory has nothing left to apply.
STOCK_AT_REST_S = 30.0
# Nothing moved at all this long after the faults ended: waiting out the drain bound would show no more.
STALLED_AFTER_S = 240.0


@dataclass(frozen=True)
class ChaosOptions:
    seed: int
    orders: int = 150
    rate: float = 2.0
    kills: int = 6
    bounces: int = 1
    store_restarts: int = 1
    replicas: int = 1
    malformed: int = 12
    duplicates: float = 0.05  # share of storefront, scan and carrier records sent twice, byte for byte
    receipt_duplicates: float = 0.2  # share of StockReceived / ReturnReceived sent twice, byte for byte
    drain_timeout_s: float | None = None  # default: derived from the number of orders
    settle_timeout_s: float = 180.0
    poll_rate_s: float | None = None  # HTTP reads per second while orders flow; default: from the order rate
    service_env: dict[str, str] = field(default_factory=dict)
    cache_dir: Path = REPO_ROOT / ".local" / "cache"
    checkout: Path = REPO_ROOT  # whose services/ and shared/ run
    work_dir: Path | None = None
    keep: bool = False

    def poll_rate(self) -> float:
        """Enough reads for the dozen or so looks an order's life takes, and not so many that the harness takes
        the CPU the system needs (it shares the machine)."""
        return self.poll_rate_s if self.poll_rate_s is not None else max(25.0, 12.0 * self.rate)

    def drain_timeout(self) -> float:
        """Bounded, and generous: the system manages a few orders per second on a small machine."""
        return self.drain_timeout_s if self.drain_timeout_s is not None else 300.0 + 2.0 * self.orders


@dataclass(frozen=True)
class ChaosReport:
    options: ChaosOptions
    verdicts: list[Verdict]
    kills: int
    bounces: int
    store_restarts: int
    drain_s: float
    work_dir: Path

    @property
    def holds(self) -> bool:
        return all(verdict.holds for verdict in self.verdicts)

    def last_line(self) -> str:
        return (
            f"chaos: orders={self.options.orders} kills={self.kills} bounces={self.bounces} "
            f"lost={totals(self.verdicts, lambda v: v.lost)} "
            f"duplicated={totals(self.verdicts, lambda v: v.duplicated)} "
            f"oversold={totals(self.verdicts, lambda v: v.oversold)} "
            f"drain_s={self.drain_s:.1f} seed={self.options.seed}"
        )


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    narrator = Narrator()
    work_dir = options.work_dir or Path(tempfile.mkdtemp(prefix="chaos-"))
    scenario = plan(
        options.seed,
        options.orders,
        options.rate,
        options.kills,
        options.bounces,
        options.store_restarts,
        options.malformed,
        SERVICES,
    )
    narrator.say(
        f"chaos seed={options.seed}: {options.orders} orders at {options.rate}/s, {len(scenario.faults)} faults, "
        f"{options.replicas} replica(s) per service"
    )
    narrator.say(f"work dir {work_dir} (servers' data and logs, services' logs)")
    _log_kafka_clients_to(work_dir / "kafka-clients.log")
    cluster = PrivateCluster.under(work_dir / "infra", options.cache_dir)
    fleet: Fleet | None = None
    try:
        await asyncio.to_thread(cluster.start)
        narrator.say(f"private kafka at {cluster.bootstrap}, ferretdb at {cluster.mongodb_url}")
        fleet = Fleet(
            _service_env(cluster, options),
            work_dir / "services",
            options.replicas,
            options.checkout,
            kafka_user=cluster.client_env,
        )
        await fleet.start()
        narrator.say(f"{len(fleet.replicas)} service processes ready: " + ", ".join(r.name for r in fleet.replicas))
        report = await _exercise(options, scenario, cluster, fleet, narrator, work_dir)
    finally:
        if fleet is not None:
            fleet.stop()
        await asyncio.to_thread(cluster.stop)
    if report.holds and not options.keep and options.work_dir is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    return report


def _log_kafka_clients_to(path: Path) -> None:
    """The harness's Kafka clients complain loudly while the broker is down, which is the point: to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    clients = logging.getLogger("aiokafka")
    clients.handlers = [handler]
    clients.propagate = False


def _service_env(cluster: PrivateCluster, options: ChaosOptions) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap,
        "MONGODB_URL": cluster.mongodb_url,
        "TOPIC_PREFIX": "",
        "DATABASE_PREFIX": "",
        # A replica restarted while the broker is being bounced must wait for it rather than give up.
        "STARTUP_TIMEOUT_S": "120",
        **options.service_env,
    }


async def _exercise(
    options: ChaosOptions,
    scenario: Scenario,
    cluster: PrivateCluster,
    fleet: Fleet,
    narrator: Narrator,
    work_dir: Path,
) -> ChaosReport:
    # Separate streams of chance, so that how the system's timing interleaves the actors does not change
    # what the plan (orders, faults) is.
    actors_rng, nemesis_rng = random.Random(options.seed + 1), random.Random(options.seed + 2)
    ledger = Ledger()
    # One producer plays the storefront, the warehouse and the carriers: as the admin (the integration tests check
    # that each of those users may write only its own topic).
    wire = Wire(cluster.bootstrap, client_kwargs=cluster.client_kwargs(ADMIN))
    await wire.start()
    api = SystemApi(fleet, Pace(options.poll_rate()))
    watch = StockWatch(api)
    play = Play(
        scenario,
        api,
        Storefront(wire, ledger, actors_rng, options.duplicates),
        Warehouse(wire, ledger, actors_rng, options.duplicates, options.receipt_duplicates),
        Carriers(wire, ledger, actors_rng, options.duplicates),
        watch,
        ledger,
        narrator,
        actors_rng,
    )
    nemesis = Nemesis(fleet, cluster, narrator, nemesis_rng)
    try:
        await _open_stock(play, scenario, narrator)
        drain_s = await _play_under_faults(options, play, nemesis, narrator)
        final = await _settle(options, play, api, narrator)
        final.dead_letters = await read_dead_letters(cluster.bootstrap, cluster.client_kwargs(ADMIN))
        narrator.say(f"read {len(final.dead_letters)} dead letters")
    finally:
        await wire.stop()
        await api.close()
    verdicts = check_all(final, ledger, watch)
    _print_figures(play, ledger, wire, api, nemesis, verdicts)
    return ChaosReport(options, verdicts, nemesis.kills, nemesis.bounces, nemesis.store_restarts, drain_s, work_dir)


async def _open_stock(play: Play, scenario: Scenario, narrator: Narrator) -> None:
    """Opening stock, then wait until inventory shows it (orders placed before would only backorder). Levels
    that come to rest elsewhere are already a violation: the run goes on, the final balance will tell."""
    await play.warehouse.open_with(scenario.opening_stock, scenario.opening_adjustments)
    expected = play.ledger.received.copy()
    expected.update(play.ledger.adjusted)
    deadline = time.monotonic() + OPENING_WITHIN_S
    last: dict[Cell, int] = {}
    at_rest_since = time.monotonic()
    while time.monotonic() < deadline:
        levels = await _on_hand(play.api)
        if all(levels.get(cell) == units for cell, units in expected.items()):
            narrator.say(f"opening stock on hand: {sum(expected.values())} units in {len(expected)} sku x warehouse")
            return
        if levels != last:
            last, at_rest_since = levels, time.monotonic()
        elif set(expected) <= set(levels) and time.monotonic() - at_rest_since > OPENING_AT_REST_S:
            off = sum(levels[cell] != units for cell, units in expected.items())
            narrator.say(f"opening stock at rest, but {off} sku x warehouse differ from the receipts; going on")
            return
        await asyncio.sleep(1)
    raise RuntimeError(f"opening stock not on hand after {OPENING_WITHIN_S:.0f}s: inventory does not take receipts")


async def _on_hand(api: SystemApi) -> dict[Cell, int]:
    stock = await read_stock(api)
    return {
        (sku, level["warehouse"]): int(level["on_hand"])
        for sku, view in stock.items()
        for level in (view or {}).get("warehouses", [])
    }


async def _play_under_faults(options: ChaosOptions, play: Play, nemesis: Nemesis, narrator: Narrator) -> float:
    """Orders flow while faults strike; then, bounded, until every order ended. Returns the drain time."""
    stop = asyncio.Event()
    started = time.monotonic()
    placing = asyncio.create_task(play.place_orders())
    faults = asyncio.create_task(nemesis.run(play.scenario.faults, started))
    background = [
        asyncio.create_task(play.visit_orders(stop)),
        asyncio.create_task(play.restock(stop)),
        asyncio.create_task(play.stock.run(stop)),
    ]
    try:
        while not (placing.done() and faults.done()):
            await asyncio.wait({placing, faults}, timeout=PROGRESS_EVERY_S)
            narrator.say(play.progress())
        placing.result()  # raise what failed there
        faults.result()
        faults_over = nemesis.last_fault_over or time.monotonic()
        narrator.say(f"faults over ({nemesis.kills} kills, {nemesis.bounces} broker bounces); draining")
        deadline = faults_over + options.drain_timeout()
        while not play.all_done() and time.monotonic() < deadline:
            await asyncio.sleep(PROGRESS_EVERY_S / 2)
            waited = time.monotonic() - faults_over
            narrator.say(f"drain {waited:.0f}s of at most {options.drain_timeout():.0f}s: {play.progress()}")
            if time.monotonic() - max(play.last_moved, faults_over) > STALLED_AFTER_S:
                narrator.say(f"no order moved for {STALLED_AFTER_S:.0f}s: the system is stuck; checking what there is")
                break
        drain_s = time.monotonic() - faults_over
        if not play.all_done():
            narrator.say(f"drain timed out after {drain_s:.0f}s; checking what there is")
        return drain_s
    finally:
        stop.set()
        for task in (placing, faults):
            task.cancel()
        await asyncio.gather(*background, placing, faults, return_exceptions=True)


async def _settle(options: ChaosOptions, play: Play, api: SystemApi, narrator: Narrator) -> Final:
    """Read the final state; while the history or inventory still trails orders, read those parts again
    (bounded): the services converge independently, the check is about where they end up."""
    api.pace = Pace(max(options.poll_rate(), 100.0))  # the system is idle now
    orders = await read_orders(api, list(play.plays.values()))
    final = Final(orders, await read_stock(api), [], await _malformed_orders_known(api, play))
    deadline = time.monotonic() + options.settle_timeout_s
    unchanged_since = time.monotonic()
    while time.monotonic() < deadline:
        behind = [order for order in final.orders if not order.history_agrees()]
        off = final.stock_off(play.ledger)
        if not behind and (not off or time.monotonic() - unchanged_since > STOCK_AT_REST_S):
            break  # balanced, or at rest where it is: waiting longer would not change the verdict
        narrator.say(f"settling: {len(behind)} histories behind orders, {len(off)} stock levels not balanced yet")
        await asyncio.sleep(5)
        refreshed = {o.play.order_id: o for o in await asyncio.gather(*(read_order(api, o.play) for o in behind))}
        final.orders = [refreshed.get(order.play.order_id, order) for order in final.orders]
        stock = await read_stock(api)
        if stock != final.stock:
            final.stock, unchanged_since = stock, time.monotonic()
    return final


async def _malformed_orders_known(api: SystemApi, play: Play) -> list[str]:
    ids = [malformed_order_id(n) for n in range(play.storefront.malformed_sent)]
    try:
        found = await asyncio.gather(*(patiently(api, "orders", partial(api.order, order_id)) for order_id in ids))
    except Unavailable:
        return []  # orders does not answer: every order is reported unreadable already
    return [order_id for order_id, order in zip(ids, found, strict=True) if order is not None]


def _print_figures(
    play: Play, ledger: Ledger, wire: Wire, api: SystemApi, nemesis: Nemesis, verdicts: list[Verdict]
) -> None:
    print()
    print(
        f"sent: {len(play.plays)} orders, {ledger.cancellations_sent} cancellations, "
        f"{ledger.returns_requested} returns asked, {ledger.returns_received} received, "
        f"{ledger.carrier_updates} carrier updates ({ledger.out_of_order_updates} out of order), "
        f"{len(ledger.malformed)} malformed ({len(MALFORMED)} kinds); {wire.sent} records acknowledged, "
        f"{wire.retries} sends retried"
    )
    copies = ", ".join(f"{type_} {count}" for type_, count in sorted(ledger.duplicates_sent.items()))
    print(f"copies sent (byte for byte, or under a new event id): {copies}")
    print(
        f"faults: {nemesis.kills} kill -9, {nemesis.bounces} broker bounces, {nemesis.store_restarts} ferretdb "
        f"restarts; {api.requests} HTTP reads ({api.failures} unanswered); visits that failed: "
        f"{dict(play.visit_errors)}"
    )
    print()
    for verdict in verdicts:
        for line in verdict.lines():
            print(line)
