"""Topic `storefront.orders`: what the storefront sends (fixed by CONTRACT.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, EmailStr, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.contracts.envelope import Contract, IsoDate, OrderId, Quantity, Sku
from shared.contracts.money import MoneyText, amount_problem, is_known_currency

Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _country(code: str) -> str:
    if len(code) != 2 or pycountry.countries.get(alpha_2=code.upper()) is None or code != code.upper():
        raise ValueError(f"unknown country code {code!r}; expected ISO 3166-1 alpha-2 such as 'PT'")
    return code


def _currency(code: str) -> str:
    if not is_known_currency(code):
        raise ValueError(f"unknown currency {code!r}; expected an ISO 4217 currency code such as 'EUR'")
    return code


class Customer(Contract):
    id: Text
    email: EmailStr
    name: Text | None = None


class Address(Contract):
    name: Text
    line1: Text
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Text
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    country: Annotated[str, AfterValidator(_country)]


class OrderLine(Contract):
    sku: Sku
    quantity: Quantity
    unit_price: MoneyText


class Payment(Contract):
    reference: Text
    amount: MoneyText
    status: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class OrderPlacedV1(Contract):
    order_id: OrderId
    customer: Customer
    shipping_address: Address
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=200)]
    currency: Annotated[str, AfterValidator(_currency)]
    shipping_method: Literal["standard", "express"]
    # `YYYY-MM-DD` only: pydantic's own `date` would also take a unix time such as 1700000000.
    promised_delivery_by: IsoDate
    payment: Payment

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> OrderPlacedV1:
        skus = [line.sku for line in self.lines]
        duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
        if duplicates:
            raise ValueError(f"lines: each sku at most once, repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _money_adds_up(self) -> OrderPlacedV1:
        """Every price is a price in the order's currency, and the payment is exactly what the lines cost.

        The contract has no shipping fee, tax or discount fields: unit prices are what the customer pays per
        unit (tax included, shipping included or free), so the payment covers the lines and nothing else.
        """
        problems: list[tuple[tuple[str | int, ...], str, object]] = []
        for index, line in enumerate(self.lines):
            problem = amount_problem(line.unit_price, self.currency)
            if line.unit_price <= 0:
                problem = f"{line.unit_price} is not a price: a unit price must be above 0"
            if problem:
                problems.append((("lines", index, "unit_price"), problem, str(line.unit_price)))
        total = self.total
        if not problems:
            problem = amount_problem(total, self.currency)
            if problem:
                problems.append((("lines",), f"the order total {problem}", len(self.lines)))
            elif (problem := amount_problem(self.payment.amount, self.currency)) is not None:
                problems.append((("payment", "amount"), problem, str(self.payment.amount)))
            elif self.payment.amount != total:
                problems.append(
                    (
                        ("payment", "amount"),
                        f"{self.payment.amount} {self.currency} paid, but the lines cost {total} {self.currency} "
                        "(the sum of quantity times unit_price; shipping and tax are part of the unit prices)",
                        str(self.payment.amount),
                    )
                )
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("money", "{message}", {"message": message}), loc=loc, input=value
                    )
                    for loc, message, value in problems
                ],
            )
        return self

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


class OrderCancellationRequestedV1(Contract):
    order_id: OrderId
    reason: Reason


class ReturnLine(Contract):
    sku: Sku
    quantity: Quantity


class ReturnRequestedV1(Contract):
    order_id: OrderId
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=200)]
    reason: Reason


STOREFRONT_TYPES: dict[str, type[Contract]] = {
    "OrderPlaced": OrderPlacedV1,
    "OrderCancellationRequested": OrderCancellationRequestedV1,
    "ReturnRequested": ReturnRequestedV1,
}
