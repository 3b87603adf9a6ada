"""Exact conversions between :class:`decimal.Decimal` and ``google.type`` messages.

The gateway never puts floats on the wire: prices, volumes and rates are
``google.type.Decimal`` (a plain decimal string such as ``"1.10868"``), amounts with a
currency are ``google.type.Money`` (``units`` + ``nanos``). Floats are refused here too,
because ``Decimal(0.1)`` is not ``Decimal("0.1")``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TypeAlias

from google.type import decimal_pb2, money_pb2

__all__ = [
    "NANOS_PER_UNIT",
    "DecimalLike",
    "decimal_from_proto",
    "decimal_to_proto",
    "money",
    "money_from_proto",
    "money_to_proto",
]

NANOS_PER_UNIT = 1_000_000_000
_MAX_UNITS = 2**63 - 1
_NANO = Decimal(1).scaleb(-9)

DecimalLike: TypeAlias = Decimal | int | str


def _as_decimal(value: DecimalLike) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        # float is refused on purpose: its binary value is rarely the amount meant.
        raise TypeError(f"expected Decimal, int or str, got {type(value).__name__}")
    try:
        result = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return result


def decimal_to_proto(value: DecimalLike) -> decimal_pb2.Decimal:
    """``Decimal("1.5E+3")`` → ``Decimal(value="1500")``: plain, no exponent."""
    number = _as_decimal(value)
    text = format(number, "f")
    if text.startswith("-") and number.is_zero():
        text = text[1:]  # "-0" carries no meaning; keep the wire canonical
    return decimal_pb2.Decimal(value=text)


def decimal_from_proto(message: decimal_pb2.Decimal) -> Decimal:
    """An unset/empty Decimal is ``0`` (the gateway fills every field it returns)."""
    if not message.value:
        return Decimal(0)
    return _as_decimal(message.value)


def money_to_proto(amount: DecimalLike, currency_code: str) -> money_pb2.Money:
    """``money_to_proto("-250.5", "USD")`` → ``units=-250, nanos=-500000000``.

    Raises ValueError for more than 9 decimal places (Money cannot hold them) or an
    amount outside int64 units; nothing is rounded silently.
    """
    number = _as_decimal(amount)
    if number != number.quantize(_NANO, rounding=ROUND_DOWN):
        raise ValueError(f"{number} has more than 9 decimal places")
    units = int(number)  # truncates toward zero, so nanos takes the sign of units
    nanos = int((number - units) * NANOS_PER_UNIT)
    if abs(units) > _MAX_UNITS:
        raise ValueError(f"{number} does not fit google.type.Money units (int64)")
    return money_pb2.Money(currency_code=currency_code, units=units, nanos=nanos)


def money_from_proto(message: money_pb2.Money) -> Decimal:
    """The amount only; the currency stays in ``message.currency_code``."""
    units, nanos = message.units, message.nanos
    if abs(nanos) >= NANOS_PER_UNIT or (units > 0 > nanos) or (units < 0 < nanos):
        raise ValueError(f"invalid google.type.Money: units={units} nanos={nanos}")
    return Decimal(units) + Decimal(nanos).scaleb(-9)


def money(amount: DecimalLike, currency_code: str) -> money_pb2.Money:
    """Shorthand for :func:`money_to_proto`: ``money("100.00", "USD")``."""
    return money_to_proto(amount, currency_code)
