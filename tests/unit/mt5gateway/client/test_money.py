from decimal import Decimal

import pytest
from google.type import decimal_pb2, money_pb2
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway.client.money import (
    decimal_from_proto,
    decimal_to_proto,
    money,
    money_from_proto,
    money_to_proto,
)

finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)
# Money holds int64 units and 9 decimal places.
money_amounts = st.decimals(
    min_value=Decimal(-(2**62)), max_value=Decimal(2**62), places=9
)


@given(finite_decimals)
def test_decimal_round_trip(value: Decimal) -> None:
    proto = decimal_to_proto(value)
    assert "E" not in proto.value.upper()
    assert decimal_from_proto(proto) == value


@given(money_amounts)
def test_money_round_trip(value: Decimal) -> None:
    proto = money_to_proto(value, "USD")
    assert proto.currency_code == "USD"
    assert abs(proto.nanos) < 1_000_000_000
    assert (
        proto.units == 0 or proto.nanos == 0 or (proto.units > 0) == (proto.nanos > 0)
    )
    assert money_from_proto(proto) == value


@pytest.mark.parametrize(
    ("text", "units", "nanos"),
    [
        ("-250.5", -250, -500_000_000),
        ("100.00", 100, 0),
        ("0.000000001", 0, 1),
        ("-0.25", 0, -250_000_000),
    ],
)
def test_money_examples(text: str, units: int, nanos: int) -> None:
    proto = money(text, "EUR")
    assert (proto.units, proto.nanos) == (units, nanos)


def test_plain_notation_and_negative_zero() -> None:
    assert decimal_to_proto(Decimal("1.5E+3")).value == "1500"
    assert decimal_to_proto(Decimal("-0.00")).value == "0.00"
    assert decimal_to_proto("1.10868").value == "1.10868"
    assert decimal_from_proto(decimal_pb2.Decimal()) == 0


@pytest.mark.parametrize("bad", [0.1, True, None])
def test_floats_and_others_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        decimal_to_proto(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", ""])
def test_non_finite_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="decimal"):
        decimal_to_proto(bad)


def test_money_too_precise_or_too_large() -> None:
    with pytest.raises(ValueError, match="9 decimal places"):
        money_to_proto("0.0000000001", "USD")
    with pytest.raises(ValueError, match="int64"):
        money_to_proto(Decimal(2**63), "USD")


def test_invalid_money_message() -> None:
    with pytest.raises(ValueError, match="invalid"):
        money_from_proto(money_pb2.Money(units=1, nanos=-1))
