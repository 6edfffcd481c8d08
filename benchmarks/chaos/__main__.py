"""`uv run python -m benchmarks.chaos [--orders N --rate R --kills K --bounces B --replicas 2 --seed X]`

Runs the chaos harness (see benchmarks/chaos/__init__.py) once and exits non-zero when an invariant fails.
The last line is `chaos: orders=N kills=K bounces=B lost=L duplicated=D oversold=O drain_s=S seed=X`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
from pathlib import Path

from benchmarks.chaos.run import ChaosOptions, run_chaos


def parse(argv: list[str]) -> ChaosOptions:
    defaults = ChaosOptions(seed=0)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (default: a random seed, printed)")
    parser.add_argument("--orders", type=int, default=defaults.orders)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="orders per second")
    parser.add_argument("--kills", type=int, default=defaults.kills, help="kill -9 of a service replica")
    parser.add_argument("--bounces", type=int, default=defaults.bounces, help="kill -9 and restart of the broker")
    parser.add_argument("--store-restarts", type=int, default=defaults.store_restarts, help="of FerretDB")
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=defaults.replicas, help="per service")
    parser.add_argument("--malformed", type=int, default=defaults.malformed, help="malformed records to send")
    parser.add_argument("--duplicates", type=float, default=defaults.duplicates, help="share resent byte for byte")
    parser.add_argument(
        "--receipt-duplicates",
        type=float,
        default=defaults.receipt_duplicates,
        help="share of StockReceived and ReturnReceived resent byte for byte",
    )
    parser.add_argument("--drain-timeout", type=float, default=None, help="seconds (default 300 + 2 per order)")
    parser.add_argument("--settle-timeout", type=float, default=defaults.settle_timeout_s)
    parser.add_argument("--poll-rate", type=float, default=None, help="HTTP reads/s while orders flow (25, 12 x rate)")
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every service process (e.g. UNSAFE_DISABLE_DEDUP=true); repeatable",
    )
    parser.add_argument("--cache-dir", type=Path, default=defaults.cache_dir, help="Kafka jars and FerretDB build")
    parser.add_argument(
        "--checkout", type=Path, default=defaults.checkout, help="run the services of this checkout of the repo"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="where data and logs go (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir even when every invariant holds")
    args = parser.parse_args(argv)
    return ChaosOptions(
        seed=args.seed if args.seed is not None else random.randrange(1_000_000),
        orders=args.orders,
        rate=args.rate,
        kills=args.kills,
        bounces=args.bounces,
        store_restarts=args.store_restarts,
        replicas=args.replicas,
        malformed=args.malformed,
        duplicates=args.duplicates,
        receipt_duplicates=args.receipt_duplicates,
        drain_timeout_s=args.drain_timeout,
        settle_timeout_s=args.settle_timeout,
        poll_rate_s=args.poll_rate,
        service_env=dict(_setting(item) for item in args.service_env),
        cache_dir=args.cache_dir,
        checkout=args.checkout.resolve(),
        work_dir=args.work_dir,
        keep=args.keep,
    )


def _setting(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name:
        raise SystemExit(f"--service-env: expected NAME=VALUE, got {item!r}")
    return name, value


async def main(options: ChaosOptions) -> int:
    # SIGTERM (a CI timeout) ends the run like Ctrl-C does, so the servers and services it started are stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        report = await run_chaos(options)
    except asyncio.CancelledError:
        print(f"chaos: interrupted, no verdict seed={options.seed}", flush=True)
        return 128 + signal.SIGTERM
    if not report.holds:
        print(f"\nsome invariants failed; data and logs kept in {report.work_dir}")
    print(report.last_line(), flush=True)
    return 0 if report.holds else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
