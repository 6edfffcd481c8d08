# Sourced by the README commands: installs what is missing on a fresh machine, quietly when nothing is.
# Needs python3 (>= 3.11); java 17+, mvn and go are checked by `fulfillment-infra up` with a clear message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv (Python package manager) with pip"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
# Exactly the locked dependency versions, into .venv, and every module compiled to bytecode once, here: where
# PYTHONDONTWRITEBYTECODE is set (this project's machines set it) a process never writes the bytecode it compiles,
# so every service start compiled ~940 modules from source again (measured: 4.7 of the 6.2 s a customer_service
# took from exec to ready on an idle machine were imports, 2.7 s of them compiling; with bytecode 2.3 s to ready).
# A kill -9'd replica under load took a minute to be back, mostly that. Both steps skip what is up to date.
uv sync --frozen --quiet --compile-bytecode
uv run --no-sync python -m compileall -q -j 0 services shared deploy benchmarks console cli demo tests >/dev/null
