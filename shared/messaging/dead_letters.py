"""The DLQ writer: copies a record byte for byte (key, value, every header) to `<topic>.dlq`, adding why.

A producer of its own, not the broker's publish path: that one adds its own trace and content headers and
would replace the sender's `traceparent`, and it only takes text header values.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, ConsumerRecord

DLQ_SUFFIX = ".dlq"


class DeadLetters:
    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = f"{client_id}-dlq"
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Built here, not in __init__: aiokafka binds to the running event loop.
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, client_id=self.client_id, enable_idempotence=True, acks="all"
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(
        self, record: ConsumerRecord[bytes, bytes], consumer_group: str, reason: str, error_type: str
    ) -> None:
        why = {
            "error": reason,
            "error-type": error_type,
            "error-consumer": consumer_group,
            "original-topic": record.topic,
            "original-partition": str(record.partition),
            "original-offset": str(record.offset),
        }
        headers = [(key, value) for key, value in record.headers or () if key not in why]
        headers += [(key, value.encode()) for key, value in why.items()]
        if self._producer is None:
            raise RuntimeError("the dead-letter producer is not started")
        await self._producer.send_and_wait(record.topic + DLQ_SUFFIX, record.value, key=record.key, headers=headers)
