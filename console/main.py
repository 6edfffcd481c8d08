"""`fulfillment-console` (or `python -m console.main`): the web console on CONSOLE_HTTP_PORT (8010)."""

from __future__ import annotations

import sys

import uvicorn

from console.app import create_console_app
from console.config import BadSetting, ConsoleSettings


def main() -> None:
    try:
        settings = ConsoleSettings.from_env()
    except BadSetting as bad:
        sys.exit(f"console: {bad}")
    app = create_console_app(settings)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    except OSError as error:
        sys.exit(f"console: cannot listen on {settings.host}:{settings.port} ({error.strerror})")


if __name__ == "__main__":
    main()
