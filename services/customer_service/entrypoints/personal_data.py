"""HTTP API of customer_service: erasing a customer's personal data (admin only)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.customer_service.application import SupportApplication
from shared.http.auth import requires
from shared.http.tokens import Principal

CustomerId = Annotated[str, Path(min_length=1, max_length=200)]


def personal_data_router(app: SupportApplication) -> APIRouter:
    router = APIRouter(tags=["personal data"])

    @router.delete(
        "/customers/{customer_id}/personal-data",
        status_code=202,
        summary="Erase a customer's names, emails and addresses everywhere (their data keys are destroyed)",
        description=(
            "Records the erasure and publishes `PersonalDataErased`; each service holding personal data destroys "
            "its key for the customer when it consumes it, so the effect follows within moments. Orders stay, "
            "with their personal fields reading `[erased]`, and still count in KPIs. A new order of the same "
            "customer id afterwards gets a new key."
        ),
    )
    async def erase_personal_data(
        customer_id: CustomerId, admin: Annotated[Principal, requires("personal_data:erase")]
    ) -> dict[str, Any]:
        recorded = await asyncio.to_thread(app.record_erasure, customer_id, admin.subject)
        return {**recorded, "status": "recorded"}

    return router
