"""Decimal <-> google.type.Decimal / Money, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from google.type import decimal_pb2, money_pb2
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.mapping.money import (
    decimal_from_proto,
    decimal_text,
    decimal_to_proto,
    money_from_proto,
    money_to_proto,
)

finite = st.decimals(allow_nan=False, allow_infinity=False)
# Money: at most 9 decimal places and |units| < 2**63.
money_amounts = st.decimals(
    min_value=Decimal(-(10**18)),
    max_value=Decimal(10**18),
    places=9,
    allow_nan=False,
    allow_infinity=False,
)


@given(finite)
def test_decimal_round_trip(value: Decimal) -> None:
    message = decimal_to_proto(value)
    assert "e" not in message.value.lower()
    assert decimal_from_proto(message) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.10868"), "1.10868"),
        (Decimal("-250.50"), "-250.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-9"), "0.000000001"),
        (Decimal("-0"), "0"),
    ],
)
def test_plain_text(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


@pytest.mark.parametrize("text", ["", "abc", "1,5", "NaN", "Infinity", "1.2.3", " 1"])
def test_bad_decimal_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a decimal"):
        decimal_from_proto(decimal_pb2.Decimal(value=text))


@pytest.mark.parametrize("text", ["+1.5", ".5", "5.", "1e3", "-2.5E-3"])
def test_decimal_grammar(text: str) -> None:
    assert decimal_from_proto(decimal_pb2.Decimal(value=text)) == Decimal(text)


@given(money_amounts, st.sampled_from(["USD", "EUR", "JPY"]))
def test_money_round_trip(amount: Decimal, currency: str) -> None:
    money = money_to_proto(amount, currency)
    assert money.currency_code == currency
    assert abs(money.nanos) < 10**9
    assert (
        money.units == 0 or money.nanos == 0 or (money.units > 0) == (money.nanos > 0)
    )
    assert money_from_proto(money) == amount


def test_money_examples() -> None:
    money = money_to_proto(Decimal("-1.75"), "USD")
    assert (money.units, money.nanos) == (-1, -750_000_000)
    assert money_to_proto(Decimal("0.01"), "USD").nanos == 10_000_000


def test_money_rejects_inexact_and_infinite() -> None:
    with pytest.raises(ValueError, match="9 decimal places"):
        money_to_proto(Decimal("0.0000000001"), "USD")
    with pytest.raises(ValueError, match="finite"):
        money_to_proto(Decimal("Infinity"), "USD")
    with pytest.raises(ValueError, match=r"Money\.units"):
        money_to_proto(Decimal(2**64), "USD")


@pytest.mark.parametrize(("units", "nanos"), [(1, -1), (-1, 1), (0, 10**9)])
def test_money_rejects_bad_signs(units: int, nanos: int) -> None:
    with pytest.raises(ValueError, match="nanos"):
        money_from_proto(money_pb2.Money(units=units, nanos=nanos))
