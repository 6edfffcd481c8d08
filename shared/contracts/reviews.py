"""Topic `reviews.events`: what the review platform sends (key: order_id), in the envelope of CONTRACT.md."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.contracts.envelope import Contract, OrderId

ReviewId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class ReviewSubmittedV1(Contract):
    """A customer reviewed an order. The same `review_id` again (a re-send under a new event id) is the same
    review: it opens no second complaint."""

    review_id: ReviewId
    order_id: OrderId
    rating: Annotated[int, Field(ge=1, le=5, strict=True, description="Stars, 1 (worst) to 5")]
    text: Annotated[str, StringConstraints(max_length=5000)] = ""


REVIEWS_TYPES: dict[str, type[Contract]] = {"ReviewSubmitted": ReviewSubmittedV1}
