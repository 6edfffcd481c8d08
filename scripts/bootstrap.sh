# Sourced by the README commands: installs what is missing on a fresh machine, quietly when nothing is.
# Needs python3 (>= 3.11); java 17+, mvn and go are checked by `fulfillment-infra up` with a clear message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv (Python package manager) with pip"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
# Exactly the locked dependency versions, into .venv.
uv sync --frozen --quiet
