"""What the deploy tests share: the rendered overlays, and what the code says about each service."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from deploy.k8s.kustomize import Resource, build
from shared.contracts import topics as topics_module
from shared.contracts.topics import ALL_TOPICS, Topic

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@cache
def _rendered(directory: Path) -> tuple[Resource, ...]:
    return tuple(build(directory))


def rendered(directory: Path) -> list[Resource]:
    return list(_rendered(directory))


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


@dataclass(frozen=True)
class ServiceCode:
    """A service as the code defines it: its console script, package and runtime name."""

    script: str
    package: str  # services.<package>
    runtime_name: str  # SERVICE_NAME in bootstrap.py: also its database name (DATABASE_PREFIX is empty)
    port_env: str
    default_port: int

    @property
    def directory(self) -> Path:
        return ROOT / "services" / self.package


def _module_constant(path: Path, name: str) -> Any:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} defines no {name}")


def _http_port_field(path: Path) -> tuple[str, int]:
    """The <SERVICE>_HTTP_PORT alias and default of `http_port` in the service's config.py."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "http_port":
            call = node.value
            assert isinstance(call, ast.Call)
            default = ast.literal_eval(call.args[0])
            alias = next(
                ast.literal_eval(a)
                for k in call.keywords
                if k.arg == "validation_alias" and isinstance(k.value, ast.Call)
                for a in k.value.args[:1]
            )
            return str(alias), int(default)
    raise AssertionError(f"{path} has no http_port field")


@cache
def services_in_code() -> tuple[ServiceCode, ...]:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    found = []
    for script, target in sorted(scripts.items()):
        module = str(target).split(":")[0]
        parts = module.split(".")
        if parts[0] != "services":
            continue
        directory = ROOT / "services" / parts[1]
        port_env, default_port = _http_port_field(directory / "config.py")
        runtime_name = str(_module_constant(directory / "bootstrap.py", "SERVICE_NAME"))
        found.append(ServiceCode(script, parts[1], runtime_name, port_env, default_port))
    return tuple(found)


def _topics_named(name: str) -> list[Topic]:
    value = getattr(topics_module, name, None)
    if isinstance(value, Topic):
        return [value]
    if isinstance(value, tuple) and all(isinstance(t, Topic) for t in value):
        return list(value)
    # A helper (topic_names_with_dlqs, topic_by_name, …) may reach any topic.
    return list(ALL_TOPICS) if callable(value) else []


def topics_used_by(directory: Path) -> set[Topic]:
    """Every topic the code under `directory` names through shared.contracts.topics (consumed or produced: a
    superset of what it consumes, so a bound that holds for these holds for the consumed ones)."""
    used: set[Topic] = set()
    for path in sorted(directory.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "shared.contracts.topics":
                for alias in node.names:
                    used.update(_topics_named(alias.name))
            elif isinstance(node, ast.ImportFrom) and node.module == "shared.contracts":
                if any(alias.name == "topics" for alias in node.names):
                    used.update(ALL_TOPICS)
            elif isinstance(node, ast.Import) and any(a.name == "shared.contracts.topics" for a in node.names):
                used.update(ALL_TOPICS)
    return used
