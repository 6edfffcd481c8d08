"""`reporting-service`: run the reporting service until SIGTERM."""

from __future__ import annotations

import sys

from services.reporting.bootstrap import create_reporting_app
from services.reporting.config import ReportingSettings
from services.reporting.projections.heap import tune_collector
from shared.runtime import run_service


def main() -> None:
    tune_collector()
    sys.exit(run_service(create_reporting_app, ReportingSettings))


if __name__ == "__main__":
    main()
