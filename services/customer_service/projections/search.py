"""Search over orders and the customer view, on the lookup documents and per-order summaries.

Search by a key (order id, customer, email, tracking number, sku) is a point lookup per key: candidate ids are
intersected, then their summaries fetched by `_id`. Only a search by status and/or placement dates alone has to
scan the summaries (FerretDB scans and decodes the collection for any non-`_id` filter): it reads the status and
placement time of each, pages on those, and reads and opens the page's summaries only. Its cost still grows with
the number of orders (benchmarks/history.py has the figure).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.customer_service.projections.store import ProjectionStore


@dataclass(frozen=True)
class OrderSearch:
    order_id: str | None = None
    customer_id: str | None = None
    email: str | None = None
    tracking_number: str | None = None
    sku: str | None = None
    status: str | None = None
    placed_from: str | None = None
    placed_to: str | None = None
    page: int = 1
    page_size: int = 20

    def lookup_keys(self) -> list[str]:
        keys = [
            f"customer:{self.customer_id}" if self.customer_id else None,
            f"email:{self.email.lower()}" if self.email else None,
            f"tracking:{self.tracking_number}" if self.tracking_number else None,
            f"sku:{self.sku}" if self.sku else None,
        ]
        return [key for key in keys if key]

    def matches(self, summary: dict[str, Any]) -> bool:
        placed = summary.get("placed_at") or ""
        return (
            (self.status is None or summary["status"] == self.status)
            and (self.placed_from is None or placed >= self.placed_from)
            and (self.placed_to is None or placed <= self.placed_to)
        )


async def search_orders(store: ProjectionStore, search: OrderSearch) -> dict[str, Any]:
    candidates: set[str] | None = {search.order_id} if search.order_id else None
    for key in search.lookup_keys():
        found = set(await store.lookup(key))
        candidates = found if candidates is None else candidates & found
    start = (search.page - 1) * search.page_size
    if candidates is None:
        # No key: every summary's status and placement time, paged on those; only the page's summaries are read
        # and opened (each an AES-GCM message, and maybe a key read), not every match's.
        query: dict[str, Any] = {}
        if search.status:
            query["status"] = search.status
        matching = _newest_first(key for key in await store.scan_summary_keys(query) if search.matches(key))
        page = matching[start : start + search.page_size]
        read = {summary["_id"]: summary for summary in await store.summaries_of([key["_id"] for key in page])}
        # A summary that changed since the scan and no longer matches is left out of the page it was listed on.
        orders = [read[key["_id"]] for key in page if key["_id"] in read and search.matches(read[key["_id"]])]
    else:
        summaries = await store.summaries_of(sorted(candidates))
        if search.email:
            # An erased customer's email leads nowhere, even through a lookup written while the erasure ran.
            summaries = [s for s in summaries if str(s.get("email") or "").lower() == search.email.lower()]
        matching = _newest_first(s for s in summaries if search.matches(s))
        orders = matching[start : start + search.page_size]
    return {
        "page": search.page,
        "page_size": search.page_size,
        "total": len(matching),
        "orders": [_public(summary) for summary in orders],
    }


def _newest_first(summaries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(summaries, key=lambda s: (s.get("placed_at") or "", s["_id"]), reverse=True)


async def customer_view(store: ProjectionStore, customer_id: str) -> dict[str, Any] | None:
    summaries = await store.summaries_of(await store.lookup(f"customer:{customer_id}"))
    if not summaries:
        return None
    summaries = _newest_first(summaries)
    latest = summaries[0]
    totals: dict[str, dict[str, Decimal]] = {}
    for summary in summaries:
        if summary["status"] == "rejected" or summary["total"] is None:
            continue  # nothing was bought
        money = totals.setdefault(summary["currency"], {"ordered": Decimal("0"), "refunded": Decimal("0")})
        money["ordered"] += Decimal(summary["total"])
        money["refunded"] += Decimal(summary["refunded"])
    return {
        "customer_id": customer_id,
        "email": latest["email"],
        "name": latest.get("customer_name"),
        "lifetime": {
            "orders": len(summaries),
            "by_status": _count(s["status"] for s in summaries),
            "open_cases": sum(int(s.get("open_cases", 0)) for s in summaries),
            "totals": [
                {
                    "currency": currency,
                    "ordered": str(money["ordered"]),
                    "refunded": str(money["refunded"]),
                    "net": str(money["ordered"] - money["refunded"]),
                }
                for currency, money in sorted(totals.items())
            ],
        },
        "orders": [_public(summary) for summary in summaries],
    }


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key != "_id"}
