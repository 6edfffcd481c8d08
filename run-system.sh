#!/usr/bin/env bash
# The system's main job: install what is missing, start Kafka + FerretDB and the four services, show them up.
# They keep running in the background; stop everything with `uv run fulfillment-infra down`.
source "$(dirname "$0")/scripts/bootstrap.sh"
uv run fulfillment-infra up --services
echo
uv run fulfillment-infra status
