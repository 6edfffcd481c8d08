#!/usr/bin/env bash
# The system's main job: install what is missing, start Kafka + FerretDB and the four services, then play the
# storefront, warehouse and carriers against them (seeded stock, a stream of orders — some cancelled, some
# returned, a few malformed) and end with a table of order statuses.
# The services keep running afterwards; stop everything with `uv run fulfillment-infra down`.
# Options go to the simulator, e.g. ./run-system.sh --orders 100 --rate 10
source "$(dirname "$0")/scripts/bootstrap.sh"
uv run fulfillment-infra up --services
echo
uv run fulfillment-infra status
echo "Console: http://127.0.0.1:${CONSOLE_HTTP_PORT:-8010} (sign in with a role; README, Console)"
echo
uv run python -m demo "$@"
