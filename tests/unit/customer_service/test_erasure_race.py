"""A batch that seals an erased customer's data raced with the erasure: the store forgets the plaintext it kept,
so the batch run again reads the erased values from the store (single documents and batches alike)."""

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.customer_service.projections.history import new_history
from services.customer_service.projections.store import ProjectionStore
from shared.personal_data import ErasureRaced


class ErasedMeanwhile:
    """Personal documents whose vault finds, as it seals, that a customer was erased since it last looked."""

    def prepare(self, values: Any) -> None:
        pass  # the keys the batch needs exist: the race shows when one is used

    def seal_history(self, document: dict[str, Any]) -> dict[str, Any]:
        raise ErasureRaced("erased while in memory")

    seal_summary = seal_history


@pytest.mark.parametrize("many", [False, True])
def test_sealing_that_raced_an_erasure_forgets_the_kept_histories(many: bool) -> None:
    async def run() -> ProjectionStore:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient("mongodb://127.0.0.1:1", connect=False)
        store = ProjectionStore(client["unused"], personal=ErasedMeanwhile())  # type: ignore[arg-type]
        history = new_history("SO-1")
        store._remember("u0", history)
        with pytest.raises(ErasureRaced):
            await (store.sealed_many("histories", [history]) if many else store.sealed("histories", history))
        return store

    assert asyncio.run(run())._written == {}
