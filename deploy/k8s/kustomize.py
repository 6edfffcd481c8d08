"""A small, offline kustomize: renders this project's base and overlays without a kustomize binary.

Why our own: no kustomize-rendering package on PyPI runs on Python 3.11 without downloading a binary at run
time, and tests here must work offline. So this implements exactly the part of kustomize that
`deploy/k8s` uses, and refuses everything else loudly instead of rendering it wrong:

- `resources`: YAML files and directories holding a `kustomization.yaml` (no URLs);
- `patches`: strategic-merge patches (identified by their kind and name, or applied to every `target`
  match) and JSON 6902 patches (a list of `add` / `replace` / `remove` operations, with a `target`);
- `namespace`, `labels` (`pairs`, `includeSelectors: false`, `includeTemplates`), `images`.

Transformers run in kustomize's order: patches, namespace, labels, images. Where `kubectl` is installed,
tests/deploy compares this renderer's output with `kubectl kustomize`.

    uv run python -m deploy.k8s.kustomize deploy/k8s/overlays/prod   # print the rendered YAML
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import yaml

Resource = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches", "namespace", "labels", "images"})
# Kinds that live outside namespaces: the namespace transformer leaves them alone.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "IngressClass",
        "RuntimeClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
    }
)
# Kustomize's own keys for merging list items when no schema says otherwise (kyaml's associative keys).
ASSOCIATIVE_KEYS = ("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort")


class KustomizeError(Exception):
    """The kustomization cannot be rendered: it is wrong, or uses something this renderer does not do."""


def load_yaml_documents(path: Path) -> list[Resource]:
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise KustomizeError(f"{path}: {error}") from None
    resources: list[Resource] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise KustomizeError(f"{path}: a document is not a mapping")
        resources.append(cast(Resource, document))
    return resources


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def resource_id(resource: Resource) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name): what kustomize considers the same object."""
    api_version = str(resource.get("apiVersion", ""))
    group = api_version.rpartition("/")[0]
    metadata = resource.get("metadata") or {}
    return (group, str(resource.get("kind", "")), str(metadata.get("namespace", "")), str(metadata.get("name", "")))


def describe(resource: Resource) -> str:
    _group, kind, namespace, name = resource_id(resource)
    return f"{kind}/{name}" + (f" (namespace {namespace})" if namespace else "")


def build(directory: Path) -> list[Resource]:
    """Render the kustomization in `directory`, as `kubectl kustomize directory` would."""
    directory = directory.resolve()
    path = kustomization_file(directory)
    documents = load_yaml_documents(path)
    if len(documents) != 1:
        raise KustomizeError(f"{path}: expected one document")
    kustomization = documents[0]
    unsupported = sorted(set(kustomization) - SUPPORTED_FIELDS)
    if unsupported:
        raise KustomizeError(f"{path}: unsupported field(s) {', '.join(unsupported)}: render with `kubectl kustomize`")

    resources: list[Resource] = []
    seen: dict[tuple[str, str, str, str], Path] = {}
    for entry in _list(kustomization, "resources", path):
        if not isinstance(entry, str) or "://" in entry or entry.startswith(("github.com/", "git@")):
            raise KustomizeError(f"{path}: resource {entry!r}: only local files and directories are supported")
        target = (directory / entry).resolve()
        loaded = build(target) if target.is_dir() else load_yaml_documents(target) if target.is_file() else None
        if loaded is None:
            raise KustomizeError(f"{path}: resource {entry!r} does not exist")
        for resource in loaded:
            _check_resource(resource, target)
            key = resource_id(resource)
            if key in seen:
                raise KustomizeError(f"{path}: {describe(resource)} is defined twice ({seen[key]} and {target})")
            seen[key] = target
            resources.append(resource)

    for patch in _list(kustomization, "patches", path):
        _apply_patch_entry(resources, patch, directory, path)
    if "namespace" in kustomization:
        _set_namespace(resources, str(kustomization["namespace"]), path)
    for labels in _list(kustomization, "labels", path):
        _add_labels(resources, labels, path)
    for image in _list(kustomization, "images", path):
        _set_image(resources, image, path)
    return resources


def dump(resources: Iterable[Resource]) -> str:
    return "---\n".join(yaml.safe_dump(resource, sort_keys=False) for resource in resources)


def _list(kustomization: Resource, field: str, path: Path) -> list[Any]:
    value = kustomization.get(field) or []
    if not isinstance(value, list):
        raise KustomizeError(f"{path}: `{field}` must be a list")
    return value


def _check_resource(resource: Resource, source: Path) -> None:
    metadata = resource.get("metadata")
    if not resource.get("apiVersion") or not resource.get("kind"):
        raise KustomizeError(f"{source}: a resource lacks apiVersion or kind")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise KustomizeError(f"{source}: {resource.get('kind')} lacks metadata.name")


# --- patches -------------------------------------------------------------------------------------------------


def _apply_patch_entry(resources: list[Resource], entry: Any, directory: Path, path: Path) -> None:
    if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target"}:
        raise KustomizeError(f"{path}: a patch may only have `path` or `patch`, and `target`: {entry!r}")
    if "path" in entry:
        patch_file = (directory / str(entry["path"])).resolve()
        if not patch_file.is_file():
            raise KustomizeError(f"{path}: patch {entry['path']!r} does not exist")
        source = str(patch_file)
        text = patch_file.read_text(encoding="utf-8")
    elif "patch" in entry:
        source, text = f"{path} (inline patch)", str(entry["patch"])
    else:
        raise KustomizeError(f"{path}: a patch needs `path` or `patch`")
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise KustomizeError(f"{source}: {error}") from None
    target = entry.get("target")
    if len(documents) == 1 and isinstance(documents[0], list):
        if target is None:
            raise KustomizeError(f"{source}: a JSON 6902 patch needs a `target`")
        for resource in _select(resources, target, source):
            _json6902(resource, documents[0], source)
        return
    for document in documents:
        if not isinstance(document, dict):
            raise KustomizeError(f"{source}: a strategic-merge patch must be a mapping")
        patch = cast(Resource, document)
        matches = (
            _select(resources, target, source) if target is not None else [_find_patched(resources, patch, source)]
        )
        for resource in matches:
            body = copy.deepcopy(patch)
            if target is not None:
                # With a target, the patch's own name is a placeholder: each match keeps its name.
                body.pop("metadata", None)
            merged = _strategic_merge(resource, body)
            resource.clear()
            resource.update(merged)


def _find_patched(resources: list[Resource], patch: Resource, source: str) -> Resource:
    kind = patch.get("kind")
    name = (patch.get("metadata") or {}).get("name")
    namespace = (patch.get("metadata") or {}).get("namespace")
    group = str(patch.get("apiVersion", "")).rpartition("/")[0]
    found = [
        r
        for r in resources
        if r.get("kind") == kind
        and r["metadata"].get("name") == name
        and resource_id(r)[0] == group
        and (namespace is None or r["metadata"].get("namespace") == namespace)
    ]
    if len(found) != 1:
        raise KustomizeError(f"{source}: patch for {kind}/{name} matches {len(found)} resources, not 1")
    return found[0]


def _select(resources: list[Resource], target: Any, source: str) -> list[Resource]:
    if not isinstance(target, dict):
        raise KustomizeError(f"{source}: `target` must be a mapping")
    unknown = set(target) - {"group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"}
    if unknown:
        raise KustomizeError(f"{source}: unsupported target field(s) {sorted(unknown)}")

    def matches(resource: Resource) -> bool:
        api_version = str(resource.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        metadata = resource["metadata"]
        checks = [
            ("group", group),
            ("version", version),
            ("kind", str(resource.get("kind"))),
            ("name", str(metadata.get("name"))),
            ("namespace", str(metadata.get("namespace", ""))),
        ]
        for field, value in checks:
            if field in target and not re.fullmatch(str(target[field]), value):
                return False
        return _selector_matches(target.get("labelSelector"), metadata.get("labels"), source) and _selector_matches(
            target.get("annotationSelector"), metadata.get("annotations"), source
        )

    selected = [resource for resource in resources if matches(resource)]
    if not selected:
        raise KustomizeError(f"{source}: patch target {target!r} matches no resource")
    return selected


def _selector_matches(selector: Any, values: Any, source: str) -> bool:
    if selector is None:
        return True
    present = values or {}
    for term in str(selector).split(","):
        key, sep, wanted = term.strip().partition("=")
        if not sep or not key or "!" in key:
            raise KustomizeError(f"{source}: only `key=value` selectors are supported, not {term!r}")
        if str(present.get(key)) != wanted.lstrip("="):
            return False
    return True


def _strategic_merge(base: Any, patch: Any) -> Any:
    """Maps merge key by key (null deletes); lists of maps merge item by item when every item carries the same
    associative key (`name`, `containerPort`, …); any other list is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        if patch.get("$patch") is not None:
            raise KustomizeError("`$patch` directives are not supported")
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        key = _associative_key(base + patch)
        if key is None:
            return copy.deepcopy(patch)
        result = [copy.deepcopy(item) for item in base]
        for item in patch:
            index = next((i for i, existing in enumerate(result) if existing[key] == item[key]), None)
            if index is None:
                result.append(copy.deepcopy(item))
            else:
                result[index] = _strategic_merge(result[index], item)
        return result
    return copy.deepcopy(patch)


def _associative_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in ASSOCIATIVE_KEYS:
        if all(key in item for item in items):
            return key
    return None


def _json6902(resource: Resource, operations: list[Any], source: str) -> None:
    for operation in operations:
        if not isinstance(operation, dict) or operation.get("op") not in ("add", "replace", "remove"):
            raise KustomizeError(f"{source}: only add, replace and remove operations are supported: {operation!r}")
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in str(operation.get("path", "")).split("/")[1:]]
        if not tokens:
            raise KustomizeError(f"{source}: an operation needs a non-empty `path`")
        parent: Any = resource
        for token in tokens[:-1]:
            parent = _step(parent, token, source, describe(resource))
        last = tokens[-1]
        op = operation["op"]
        if isinstance(parent, list):
            index = len(parent) if (last == "-" and op == "add") else _index(parent, last, source, op == "add")
            if op == "add":
                parent.insert(index, copy.deepcopy(operation.get("value")))
            elif op == "replace":
                parent[index] = copy.deepcopy(operation.get("value"))
            else:
                del parent[index]
        elif isinstance(parent, dict):
            if op != "add" and last not in parent:
                raise KustomizeError(f"{source}: {describe(resource)} has no {operation['path']}")
            if op == "remove":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(operation.get("value"))
        else:
            raise KustomizeError(f"{source}: {operation['path']} does not lead into a map or list")


def _step(node: Any, token: str, source: str, what: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, token, source)]
    if isinstance(node, dict) and token in node:
        return node[token]
    raise KustomizeError(f"{source}: {what} has no `{token}` on the patch path")


def _index(items: list[Any], token: str, source: str, insert: bool = False) -> int:
    if not token.isdigit() or int(token) > len(items) - (0 if insert else 1):
        raise KustomizeError(f"{source}: list index {token!r} is out of range")
    return int(token)


# --- namespace, labels, images -------------------------------------------------------------------------------


def _set_namespace(resources: list[Resource], namespace: str, path: Path) -> None:
    for resource in resources:
        kind = resource.get("kind")
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            # kustomize rewrites their subjects' namespaces too; we do not, so we refuse instead.
            raise KustomizeError(f"{path}: `namespace` with a {kind} is not supported: render with kubectl")
        if kind not in CLUSTER_SCOPED_KINDS:
            resource["metadata"]["namespace"] = namespace


def _add_labels(resources: list[Resource], entry: Any, path: Path) -> None:
    if not isinstance(entry, dict) or set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
        raise KustomizeError(f"{path}: `labels` entries may have pairs, includeSelectors, includeTemplates only")
    if entry.get("includeSelectors"):
        # Selectors are immutable on a live Deployment; changing them is what this project never wants.
        raise KustomizeError(f"{path}: `includeSelectors: true` is not supported")
    pairs = {str(k): str(v) for k, v in (entry.get("pairs") or {}).items()}
    for resource in resources:
        resource["metadata"].setdefault("labels", {}).update(pairs)
        template = (resource.get("spec") or {}).get("template")
        if entry.get("includeTemplates") and isinstance(template, dict):
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def split_image(image: str) -> tuple[str, str]:
    """('registry:5000/name', ':tag' or '@digest' or '')."""
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def _set_image(resources: list[Resource], entry: Any, path: Path) -> None:
    if not isinstance(entry, dict) or "name" not in entry or set(entry) - {"name", "newName", "newTag", "digest"}:
        raise KustomizeError(f"{path}: `images` entries need `name` and may have newName, newTag, digest")

    def rewrite(image: str) -> str:
        name, suffix = split_image(image)
        if name != entry["name"]:
            return image
        if "digest" in entry:
            suffix = "@" + str(entry["digest"])
        elif "newTag" in entry:
            suffix = ":" + str(entry["newTag"])
        return str(entry.get("newName", name)) + suffix

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers") and isinstance(value, list):
                    for container in value:
                        if isinstance(container, dict) and isinstance(container.get("image"), str):
                            container["image"] = rewrite(container["image"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for resource in resources:
        walk(resource)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deploy.k8s.kustomize <directory with kustomization.yaml>", file=sys.stderr)
        return 2
    try:
        print(dump(build(Path(args[0]))), end="")
    except KustomizeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
