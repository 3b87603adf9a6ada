"""Exact ``Decimal`` <-> ``google.type.Decimal`` / ``google.type.Money``.

Never through float. Decimal strings on the wire are plain (no exponent), e.g.
``"1.10868"``; trailing zeros are kept as MT5 sent them and carry no meaning.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from google.type import decimal_pb2, money_pb2

__all__ = [
    "NANOS_PER_UNIT",
    "decimal_from_proto",
    "decimal_text",
    "decimal_to_proto",
    "money_from_proto",
    "money_to_proto",
]

NANOS_PER_UNIT = 1_000_000_000
_INT64_MAX = 2**63 - 1
_NANO = Decimal(1).scaleb(-9)
# google/type/decimal.proto grammar: sign, digits with an optional point, exponent.
_DECIMAL_SYNTAX = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def decimal_text(value: Decimal) -> str:
    """Plain notation, no exponent; ``-0`` becomes ``0``."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def decimal_to_proto(value: Decimal) -> decimal_pb2.Decimal:
    return decimal_pb2.Decimal(value=decimal_text(value))


def decimal_from_proto(message: decimal_pb2.Decimal) -> Decimal:
    """Parse a ``google.type.Decimal``; ValueError if empty or malformed."""
    text = message.value
    if not _DECIMAL_SYNTAX.fullmatch(text):
        raise ValueError(f"not a decimal number: {text!r}")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already checked it
        raise ValueError(f"not a decimal number: {text!r}") from None


def money_to_proto(amount: Decimal, currency: str) -> money_pb2.Money:
    """Exact conversion; ValueError if ``amount`` needs more than 9 decimals."""
    if not amount.is_finite():  # before the cache: a signalling NaN cannot be hashed
        raise ValueError(f"not a finite amount: {amount}")
    units, nanos = _units_nanos(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


@functools.lru_cache(maxsize=4096)
def _units_nanos(amount: Decimal) -> tuple[int, int]:
    """Cached: equal Decimals ("0", "0.00") give equal units and nanos, and most
    amounts on a page repeat (zero commissions, round balances)."""
    sign_bit, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent < -9:
        # More than 9 places, unless the extra digits are zeros.
        nanos_total = amount.scaleb(9)
        if nanos_total != nanos_total.to_integral_value():
            raise ValueError(f"{amount} has more than 9 decimal places")
        total = int(nanos_total)
    else:
        # Integer arithmetic on the digits: several times faster than scaleb().
        total = int("".join(map(str, digits)) or "0") * 10 ** (9 + exponent)
        if sign_bit:
            total = -total
    sign = -1 if total < 0 else 1
    units, nanos = divmod(abs(total), NANOS_PER_UNIT)
    if units > _INT64_MAX:
        raise ValueError(f"{amount} does not fit in Money.units")
    return sign * units, sign * nanos


def money_from_proto(message: money_pb2.Money) -> Decimal:
    """The amount of a ``Money``; ValueError if units and nanos disagree in sign."""
    units, nanos = message.units, message.nanos
    if not -NANOS_PER_UNIT < nanos < NANOS_PER_UNIT:
        raise ValueError("nanos must be within -999999999..999999999")
    if (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        raise ValueError("units and nanos must have the same sign")
    return Decimal(units) + Decimal(nanos) * _NANO
