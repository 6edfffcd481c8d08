#!/usr/bin/env bash
# Install what is missing, start the infrastructure, run linters and the whole test suite, stop what we started.
source "$(dirname "$0")/scripts/bootstrap.sh"

if uv run fulfillment-infra status >/dev/null 2>&1; then
  echo "run-tests: using the infrastructure that is already running"
else
  uv run fulfillment-infra up
  trap 'uv run fulfillment-infra down' EXIT
fi

uv run ruff check .
uv run ruff format --check .
uv run mypy .
uv run lint-imports
uv run pytest "$@"
