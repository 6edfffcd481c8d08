"""Topic `storefront.orders`: what the storefront sends (fixed by CONTRACT.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, BeforeValidator, EmailStr, Field, StringConstraints, model_validator

from shared.contracts.envelope import Contract, IsoDate, OrderId, Quantity, Sku


def _decimal_string(value: object) -> object:
    # Floats lose cents; CONTRACT.md sends money as decimal strings.
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "19.90"')
    return value


Money = Annotated[Decimal, BeforeValidator(_decimal_string), Field(ge=0, max_digits=14, decimal_places=2)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _country(code: str) -> str:
    if len(code) != 2 or pycountry.countries.get(alpha_2=code.upper()) is None or code != code.upper():
        raise ValueError(f"unknown country code {code!r}; expected ISO 3166-1 alpha-2 such as 'PT'")
    return code


def _currency(code: str) -> str:
    if len(code) != 3 or code != code.upper() or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"unknown currency {code!r}; expected ISO 4217 such as 'EUR'")
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
    unit_price: Money


class Payment(Contract):
    reference: Text
    amount: Money
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
