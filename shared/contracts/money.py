"""Money as the storefront writes it: decimal strings in a currency we know, within a sane range.

The one place where amounts from outside are judged. Two steps, because one needs the order's currency:
- `parse_money` (each amount field, alone): a plain decimal string — digits, optionally a point and decimals.
  No exponent (`"1e10"` was once taken for ten billion), no sign, no `NaN`/`Infinity`, no JSON numbers
  (floats lose cents), no spaces, underscores or thousands separators.
- `check_amount` (with the currency): no more decimals than the currency's minor unit allows (ISO 4217:
  EUR 2, JPY 0, KWD 3), and not above `max_order_total(currency)`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# ISO 4217 minor units of the circulating currencies (funds, metals and test codes such as XAU or XTS are no
# currency a customer pays in). Every code not listed here has 2.
_NO_MINOR_UNIT = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMALS = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CNY COP "
    "CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR "
    "IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN "
    "NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP "
    "STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD XCG YER ZAR ZMW ZWG"
)
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(_NO_MINOR_UNIT.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}

# The largest order total taken as a real storefront order, in major units. It is an absurdity bound, not a
# fraud rule (that is the payment matching its lines): ten million euros, dollars or pounds. Currencies whose
# unit is worth a fiftieth of a euro or less get ten billion, so that a large order in yen, rupees or dong is
# still far below it. Stale exchange rates move these classes by far less than their 1,000-fold margin.
MAX_ORDER_TOTAL = Decimal(10) ** 7
MAX_ORDER_TOTAL_SMALL_UNIT = Decimal(10) ** 10
_SMALL_UNIT_CODES = (
    "AFN ALL AMD AOA ARS BDT BIF CDF CLP COP CRC CVE DJF DZD ETB GNF GYD HTG HUF IDR INR IQD IRR ISK JMD JPY "
    "KES KGS KHR KMF KPW KRW KZT LAK LBP LKR LRD MGA MKD MMK MNT MUR MWK MZN NGN NPR PHP PKR PYG RSD RUB RWF "
    "SDG SOS SSP SYP TZS UGX UZS VES VND VUV XAF XOF XPF YER"
)
_SMALL_UNIT = frozenset(_SMALL_UNIT_CODES.split())

# Long enough for any amount the ceilings allow (11 integer digits and 3 decimals); anything longer is refused
# before Decimal sees it.
_MAX_TEXT = 24
_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
EXAMPLE = '"19.90"'


def _money_error(message: str) -> PydanticCustomError:
    # A custom error type: pydantic would otherwise prefix "Value error, " to the reason.
    return PydanticCustomError("money", "{message}", {"message": message})


def parse_money(value: object) -> Decimal:
    """A plain decimal string as a Decimal; anything else refused with what is wrong with it."""
    if isinstance(value, Decimal):
        text = str(value)  # built in code (tests, our own events): held to the same rules as text
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        raise _money_error(f"must be a decimal string such as {EXAMPLE}, not {str(value).lower()}")
    elif isinstance(value, int | float):
        raise _money_error(f"must be a decimal string such as {EXAMPLE}, not the number {value!r}")
    else:
        raise _money_error(f"must be a decimal string such as {EXAMPLE}")
    shown = repr(text if len(text) <= 30 else text[:30] + "...")
    if len(text) > _MAX_TEXT:
        raise _money_error(f"{shown} is too long for an amount ({_MAX_TEXT} characters at most)")
    if _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)
    lowered = text.strip().lower()
    if lowered.lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise _money_error(f"{shown} is not a finite amount")
    if "e" in lowered:
        raise _money_error(f"{shown}: exponent notation is not accepted; write the amount in full, such as {EXAMPLE}")
    if lowered.startswith("-"):
        raise _money_error(f"{shown} is negative; amounts are never below 0")
    raise _money_error(f"{shown} is not a plain decimal amount such as {EXAMPLE} (digits, a point, decimals)")


MoneyText = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_PLAIN_DECIMAL.pattern}$",
            "examples": ["19.90"],
            "description": "A decimal string with at most the currency's minor-unit decimals (EUR 2, JPY 0).",
        }
    ),
]


def is_known_currency(code: str) -> bool:
    return code in MINOR_UNITS


def decimals(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def max_order_total(currency: str) -> Decimal:
    return MAX_ORDER_TOTAL_SMALL_UNIT if currency in _SMALL_UNIT else MAX_ORDER_TOTAL


def amount_problem(amount: Decimal, currency: str) -> str | None:
    """Why `amount` cannot be an amount in `currency` (a known one), else None."""
    allowed = MINOR_UNITS[currency]
    if decimals(amount) > allowed:
        unit = "no decimals" if allowed == 0 else f"{allowed} decimal{'s' if allowed > 1 else ''}"
        return f"{amount} has more decimals than {currency} has ({unit})"
    ceiling = max_order_total(currency)
    if amount > ceiling:
        return f"{amount} {currency} is above the largest order total accepted ({ceiling:,} {currency})"
    return None
