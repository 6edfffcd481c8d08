from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.unit.cli.stub import Stub, serving


@pytest.fixture(scope="session")
def stub_server() -> Iterator[Stub]:
    with serving() as stub:
        yield stub


@pytest.fixture
def stub(stub_server: Stub) -> Stub:
    stub_server.requests.clear()
    stub_server.rebuild_states.clear()
    stub_server.authorizations.clear()
    return stub_server


class Cli:
    def __init__(self, stub: Stub) -> None:
        self.env = {"SHIPPING_URL": stub.url, "CUSTOMER_SERVICE_URL": stub.url, "COLUMNS": "200"}

    def __call__(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env | env)


@pytest.fixture
def cli(stub: Stub) -> Cli:
    return Cli(stub)
