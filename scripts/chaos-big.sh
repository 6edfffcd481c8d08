#!/usr/bin/env bash
# The big chaos run of issue 14: 20,000 orders, 25 kill -9s, a broker bounce and a FerretDB restart per run,
# 10 seeds in a row, each on its own private Kafka + FerretDB (benchmarks/chaos). Prints each run's last line
# (`chaos: orders=... lost=... duplicated=... oversold=... drain_s=... seed=...`); the full output of every
# run is kept under $CHAOS_LOG_DIR. Exits non-zero when any run found a violated invariant.
#
#   scripts/chaos-big.sh                      # the figures for the closing note
#   CHAOS_SEEDS="7" CHAOS_ORDERS=2000 scripts/chaos-big.sh --replicas 2   # a smaller one; options go through
#
# Hours, not minutes: at CHAOS_RATE orders/s the load alone is ORDERS/RATE seconds per seed, then the drain.
source "$(dirname "$0")/bootstrap.sh"

SEEDS=${CHAOS_SEEDS:-"1 2 3 4 5 6 7 8 9 10"}
ORDERS=${CHAOS_ORDERS:-20000}
RATE=${CHAOS_RATE:-5}
KILLS=${CHAOS_KILLS:-25}
BOUNCES=${CHAOS_BOUNCES:-1}
LOG_DIR=${CHAOS_LOG_DIR:-.local/chaos-big/$(date +%Y%m%dT%H%M%S)}
mkdir -p "$LOG_DIR"
echo "chaos-big: seeds [$SEEDS], $ORDERS orders at $RATE/s, $KILLS kills, $BOUNCES bounce(s); logs in $LOG_DIR"

failed=0
for seed in $SEEDS; do
  log="$LOG_DIR/seed-$seed.log"
  if ! uv run python -m benchmarks.chaos --seed "$seed" --orders "$ORDERS" --rate "$RATE" \
      --kills "$KILLS" --bounces "$BOUNCES" "$@" >"$log" 2>&1; then
    failed=1
  fi
  tail -n 1 "$log"
done
exit "$failed"
