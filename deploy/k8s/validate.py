"""Offline validation of rendered manifests.

Built-in kinds are checked against the Kubernetes OpenAPI schemas that `kubernetes-validate` ships (strict:
an unknown or misspelt field is an error). That package has no schemas for custom resources, so the operator
kinds we use are skipped there by name and checked here against a hand-written shape of the fields we rely on
(Strimzi `kafka.strimzi.io/v1beta2`, MongoDB `mongodbcommunity.mongodb.com/v1`). Any other kind without a
schema is an error, so a new custom resource cannot slip through unchecked.

    uv run python -m deploy.k8s.validate deploy/k8s/overlays/dev deploy/k8s/overlays/prod
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from deploy.k8s.kustomize import KustomizeError, Resource, build, describe

# The oldest Kubernetes minor these manifests are meant for, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

_NAME = {"type": "string", "pattern": _DNS_SUBDOMAIN.pattern, "maxLength": 253}
_QUANTITY = {"type": ["string", "integer", "number"]}
_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
    },
}
_CONFIG = {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}}


def _metadata(*, cluster_label: bool = False, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    labels: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
    if cluster_label:
        labels = {**labels, "required": ["strimzi.io/cluster"]}
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["name", *(["labels"] if cluster_label else [])],
        "properties": {"name": _NAME, "namespace": _NAME, "labels": labels},
    }
    if annotations:
        schema["required"] = [*schema["required"], "annotations"]
        schema["properties"]["annotations"] = {
            "type": "object",
            "required": list(annotations),
            "properties": annotations,
        }
    return schema


def _custom(api_version: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec,
        },
    }


_STORAGE_VOLUME = {
    "type": "object",
    "required": ["id", "type"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["persistent-claim", "ephemeral"]},
        "size": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"},
        "class": {"type": "string"},
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"enum": ["shared"]},
    },
}

CUSTOM_RESOURCE_SHAPES: dict[str, dict[str, Any]] = {
    "Kafka": _custom(
        "kafka.strimzi.io/v1beta2",
        "Kafka",
        # Without both annotations Strimzi expects ZooKeeper, which Kafka 4 no longer has.
        _metadata(
            annotations={"strimzi.io/kraft": {"const": "enabled"}, "strimzi.io/node-pools": {"const": "enabled"}}
        ),
        {
            "type": "object",
            "required": ["kafka"],
            "additionalProperties": False,
            "properties": {
                "kafka": {
                    "type": "object",
                    "required": ["listeners"],
                    "additionalProperties": False,
                    "properties": {
                        "version": {"type": "string"},
                        "metadataVersion": {"type": "string"},
                        "listeners": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "port", "type", "tls"],
                                "properties": {
                                    "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
                                    "port": {"type": "integer", "minimum": 9092},
                                    "type": {
                                        "enum": [
                                            "internal",
                                            "route",
                                            "loadbalancer",
                                            "nodeport",
                                            "ingress",
                                            "cluster-ip",
                                        ]
                                    },
                                    "tls": {"type": "boolean"},
                                },
                            },
                        },
                        "config": _CONFIG,
                        "resources": _RESOURCES,
                        "template": {"type": "object"},
                        "rack": {"type": "object"},
                        "authorization": {"type": "object"},
                    },
                },
                "entityOperator": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"topicOperator": {"type": "object"}, "userOperator": {"type": "object"}},
                },
                "cruiseControl": {"type": "object"},
                "kafkaExporter": {"type": "object"},
            },
        },
    ),
    "KafkaNodePool": _custom(
        "kafka.strimzi.io/v1beta2",
        "KafkaNodePool",
        _metadata(cluster_label=True),
        {
            "type": "object",
            "required": ["replicas", "roles", "storage"],
            "additionalProperties": False,
            "properties": {
                "replicas": {"type": "integer", "minimum": 0},
                "roles": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": ["controller", "broker"]},
                },
                "storage": {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"enum": ["jbod", "ephemeral", "persistent-claim"]},
                        "volumes": {"type": "array", "minItems": 1, "items": _STORAGE_VOLUME},
                    },
                },
                "resources": _RESOURCES,
                "jvmOptions": {"type": "object"},
                "template": {"type": "object"},
            },
        },
    ),
    "KafkaTopic": _custom(
        "kafka.strimzi.io/v1beta2",
        "KafkaTopic",
        _metadata(cluster_label=True),
        {
            "type": "object",
            "required": ["partitions", "replicas"],
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,249}$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": _CONFIG,
            },
        },
    ),
    "KafkaUser": _custom(
        "kafka.strimzi.io/v1beta2",
        "KafkaUser",
        _metadata(cluster_label=True),
        {
            "type": "object",
            "required": ["authentication", "authorization"],
            "additionalProperties": False,
            "properties": {
                "authentication": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["scram-sha-512", "tls", "tls-external"]}},
                },
                "authorization": {
                    "type": "object",
                    "required": ["type", "acls"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "simple"},
                        "acls": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["resource", "operations"],
                                "additionalProperties": False,
                                "properties": {
                                    "resource": {
                                        "type": "object",
                                        "required": ["type"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                                            "name": {"type": "string", "minLength": 1},
                                            "patternType": {"enum": ["literal", "prefix"]},
                                        },
                                    },
                                    "operations": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {
                                            "enum": [
                                                "Read",
                                                "Write",
                                                "Create",
                                                "Delete",
                                                "Alter",
                                                "Describe",
                                                "ClusterAction",
                                                "AlterConfigs",
                                                "DescribeConfigs",
                                                "IdempotentWrite",
                                                "All",
                                            ]
                                        },
                                    },
                                    "host": {"type": "string"},
                                    "type": {"enum": ["allow", "deny"]},
                                },
                            },
                        },
                    },
                },
                "quotas": {"type": "object"},
                "template": {"type": "object"},
            },
        },
    ),
    "MongoDBCommunity": _custom(
        "mongodbcommunity.mongodb.com/v1",
        "MongoDBCommunity",
        _metadata(),
        {
            "type": "object",
            "required": ["type", "members", "version", "security", "users"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "ReplicaSet"},
                "members": {"type": "integer", "minimum": 1},
                "arbiters": {"type": "integer", "minimum": 0},
                "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
                "security": {
                    "type": "object",
                    "properties": {
                        "authentication": {
                            "type": "object",
                            "required": ["modes"],
                            "properties": {
                                "modes": {
                                    "type": "array",
                                    "items": {"enum": ["SCRAM", "SCRAM-SHA-1", "SCRAM-SHA-256", "X509"]},
                                }
                            },
                        },
                        "tls": {"type": "object"},
                    },
                },
                "users": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "db", "passwordSecretRef", "roles", "scramCredentialsSecretName"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "db": {"type": "string", "minLength": 1},
                            "passwordSecretRef": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {"name": _NAME, "key": {"type": "string"}},
                            },
                            "roles": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["name", "db"],
                                    "additionalProperties": False,
                                    "properties": {"name": {"type": "string"}, "db": {"type": "string"}},
                                },
                            },
                            "scramCredentialsSecretName": _NAME,
                            "connectionStringSecretName": _NAME,
                            "additionalConnectionStringConfig": {"type": "object"},
                        },
                    },
                },
                "additionalMongodConfig": {"type": "object"},
                "statefulSet": {
                    "type": "object",
                    "properties": {"spec": {"type": "object"}, "metadata": {"type": "object"}},
                    "additionalProperties": False,
                },
                "replicaSetHorizons": {"type": "array"},
                "prometheus": {"type": "object"},
            },
        },
    ),
}


def validate_resource(resource: Resource, versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[str]:
    """Human-readable problems with one object; empty when it is valid."""
    what = describe(resource)
    name = (resource.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not _DNS_SUBDOMAIN.match(name):
        return [f"{what}: metadata.name {name!r} is not a valid Kubernetes name"]
    shape = CUSTOM_RESOURCE_SHAPES.get(str(resource.get("kind")))
    if shape is not None:
        validator = jsonschema.Draft202012Validator(shape)
        return [
            f"{what}: {'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(resource), key=lambda e: list(map(str, e.absolute_path)))
        ]
    problems: list[str] = []
    for version in versions:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            return [f"{what}: no Kubernetes schema for {resource.get('apiVersion')} {resource.get('kind')}"]
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.absolute_path) or "<root>"
            problems.append(f"{what}: {path}: {error.message} (Kubernetes {version})")
    return problems


def validate_resources(resources: Iterable[Resource], versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[str]:
    versions = tuple(versions)
    return [problem for resource in resources for problem in validate_resource(resource, versions)]


def main(argv: list[str] | None = None) -> int:
    directories = sys.argv[1:] if argv is None else argv
    if not directories:
        print("usage: python -m deploy.k8s.validate <kustomization directory>...", file=sys.stderr)
        return 2
    failed = False
    for directory in directories:
        try:
            resources = build(Path(directory))
        except KustomizeError as error:
            print(f"{directory}: cannot render: {error}", file=sys.stderr)
            failed = True
            continue
        problems = validate_resources(resources)
        for problem in problems:
            print(f"{directory}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        print(f"{directory}: {len(resources)} objects, {len(problems)} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
