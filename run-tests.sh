#!/usr/bin/env bash
# Install what is missing, start the infrastructure, run linters and the whole test suite, stop what we started.
source "$(dirname "$0")/scripts/bootstrap.sh"

# The browser tests (tests/browser) drive Debian's Chromium: installed once when missing, nothing done otherwise.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "run-tests: installing chromium (Debian) for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "run-tests: the browser tests need Chromium at /usr/bin/chromium (Debian: sudo apt-get install chromium)" >&2
  fi
fi

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
