"""Stored digests: one document per report (`daily-2026-11-08`, `weekly-2026-W45`, or an on-demand one), written
once. The scheduled id is deterministic per period and the write is an insert, so with N replicas only the first
to produce a period's report stores (and mails) it; the others get a duplicate-key error and move on."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.reporting.projections.blobs import pack, unpack
from services.reporting.projections.store import REPORTS


class ReportStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.reports = database[REPORTS]

    async def insert(self, content: dict[str, Any]) -> bool:
        """Store `content` under its report id; False if that report exists already (someone else was first)."""
        document = {
            "_id": content["report_id"],
            "kind": content["kind"],
            "from": content["from"],
            "to": content["to"],
            "generated_at": content["generated_at"],
            "has_data": content["has_data"],
            "mailed": False,
            "blob": pack(content),
        }
        try:
            await self.reports.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def exists(self, report_id: str) -> bool:
        return await self.reports.find_one({"_id": report_id}, {"_id": 1}) is not None

    async def get(self, report_id: str) -> dict[str, Any] | None:
        found = await self.reports.find_one({"_id": report_id})
        if found is None:
            return None
        content: dict[str, Any] = unpack(found["blob"])
        return content | {"mailed": found.get("mailed", False)}

    async def mark_mailed(self, report_id: str) -> None:
        await self.reports.update_one({"_id": report_id}, {"$set": {"mailed": True}})

    async def list(self, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        found = [
            {k: d.get(k) for k in ("_id", "kind", "from", "to", "generated_at", "has_data", "mailed")}
            async for d in self.reports.find({} if kind is None else {"kind": kind})
        ]
        found.sort(key=lambda d: (d["to"], d["generated_at"]), reverse=True)
        return [{"report_id": d.pop("_id"), **d} for d in found[:limit]]
