"""Topics and ACLs of one stack on the local broker, made by its admin user.

`fulfillment-infra up` provisions the production names (no prefix); a test session, the chaos harness and the
benchmarks provision their own `TOPIC_PREFIX`. Nothing else can: the services' users may not create topics or
grant themselves anything.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest

from shared.contracts.kafka_access import AclEntry, all_acl_entries
from shared.messaging.broker import ensure_topics
from shared.messaging.kafka_security import KafkaSecurity

ANY_HOST = "*"
ALLOW = 3


async def create_acls(bootstrap: str, admin_security: KafkaSecurity, entries: list[AclEntry]) -> None:
    """Add `entries` (existing ones are left as they are: an ACL is a set member)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **admin_security.client_kwargs())
    await admin.start()
    try:
        responses = await asyncio.gather(
            *(
                admin._send_request(
                    CreateAclsRequest(
                        int(entry.resource),
                        entry.name,
                        int(entry.pattern),
                        entry.principal,
                        ANY_HOST,
                        int(entry.operation),
                        ALLOW,
                    )
                )
                for entry in entries
            )
        )
    finally:
        await admin.close()
    for entry, response in zip(entries, responses, strict=True):
        for error_code, message in response.creation_responses:
            if error_code:
                raise for_code(error_code)(f"creating the ACL {entry}: {message}")


async def provision(
    bootstrap: str,
    admin_security: KafkaSecurity,
    prefix: str = "",
    partitions: int | None = None,
    replication_factor: int = 1,
) -> None:
    """Every topic and DLQ of the system under `prefix`, and every user's ACLs on them."""
    await ensure_topics(bootstrap, partitions, replication_factor, prefix=prefix, security=admin_security)
    await create_acls(bootstrap, admin_security, all_acl_entries(prefix))


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.local.kafka_acls --bootstrap HOST:PORT --prefix P`, as the admin named by KAFKA_SASL_*."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default="")
    args = parser.parse_args(argv)
    asyncio.run(provision(args.bootstrap, KafkaSecurity.from_env(), args.prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
