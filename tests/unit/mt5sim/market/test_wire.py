from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5sim.market import wire
from mt5sim.market.broker import Broker
from mt5sim.market.instruments import SYMBOLS

NOW = 1_764_000_000.0


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (Decimal("1.108675"), 5, "1.10868"),
        (Decimal("1783.45"), 3, "1783.450"),
        (Decimal("64.245"), 2, "64.25"),
        (Decimal("-64.245"), 2, "-64.25"),
        (Decimal("-0.001"), 2, "0.00"),
        (Decimal(0), 2, "0.00"),
        (Decimal(26000), 2, "26000.00"),
        (Decimal("1783.45"), 8, "1783.45000000"),
        (Decimal("0.00001"), 8, "0.00001000"),
        (Decimal(5), 0, "5"),
    ],
)
def test_fmt(value: Decimal, digits: int, expected: str) -> None:
    assert wire.fmt(value, digits) == expected


def test_points_and_volumes() -> None:
    assert wire.points(108_675, 5) == "1.08675"
    assert wire.points(150_000, 3) == "150.000"
    assert wire.volume(25_000_000) == "2500"  # 0.25 lot
    assert wire.volume(100_000_000) == "10000"


@pytest.fixture(scope="module")
def broker() -> Broker:
    return Broker.seeded(3, NOW)


def _all_strings(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _all_strings(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_strings(v) for v in value)
    return isinstance(value, str)


def test_user_record(broker: Broker) -> None:
    rec = wire.user(broker.users[100_000])
    assert _all_strings(rec)
    assert rec["Login"] == "100000"
    assert rec["Rights"] == "483"
    assert rec["Color"] == "4278190080"
    assert rec["CurrencyDigits"] == "2"
    assert "ZipCode" in rec
    assert "ZIPCode" not in rec
    assert "ClientID" in rec
    assert len(rec["ApiData"]) == 16
    assert rec["Balance"] == wire.fmt(broker.users[100_000].balance, 2)


def test_user_record_is_cached_until_changed(broker: Broker) -> None:
    user = broker.users[100_001]
    assert wire.user(user) is wire.user(user)
    user.wire = None
    assert wire.user(user) is not None


def test_tick_record(broker: Broker) -> None:
    tick = broker.ticks["EURUSD"]
    rec = wire.tick(tick)
    assert list(rec) == [
        "Symbol", "Digits", "Datetime", "DatetimeMsc", "Bid", "Ask", "Last",
        "Volume", "VolumeReal",
    ]  # fmt: skip
    assert rec["Digits"] == "5"
    assert rec["Datetime"] == str(int(NOW))
    assert rec["DatetimeMsc"] == str(int(NOW * 1000))
    assert len(rec["Bid"].split(".")[1]) == 5
    assert rec["Last"] == "0.00000"
    assert rec["VolumeReal"] == "0.00"


def test_tick_group_spread(broker: Broker) -> None:
    tick = broker.ticks["EURUSD"]
    plain = wire.tick(tick)
    wide = wire.tick(tick, 10)
    assert Decimal(plain["Bid"]) - Decimal(wide["Bid"]) == Decimal("0.00005")
    assert Decimal(wide["Ask"]) - Decimal(plain["Ask"]) == Decimal("0.00005")


def test_symbol_record() -> None:
    eurusd = next(s for s in SYMBOLS if s.name == "EURUSD")
    rec = wire.symbol(eurusd)
    assert _all_strings(rec)
    assert rec["Path"] == "Forex\\Major\\EURUSD"
    assert rec["Point"] == "0.00001000"
    assert rec["ContractSize"] == "100000.00000000"
    assert rec["VolumeMin"] == "100"
    assert rec["VolumeMinExt"] == "1000000"
    assert rec["VolumeMaxExt"] == "10000000000"
    assert rec["Digits"] == "5"
    assert len(rec["SessionsQuotes"]) == 7
    assert rec["SessionsQuotes"][0] == []
    assert rec["SessionsQuotes"][1] == [{"Open": "0", "Close": "1440"}]


def test_trade_records(broker: Broker) -> None:
    pos = next(iter(broker.positions.values()))
    rec = wire.position(broker, pos)
    assert _all_strings(rec)
    digits = pos.symbol.digits
    assert rec["PriceOpen"] == wire.fmt(pos.price_open, digits)
    assert rec["ContractSize"] == wire.fmt(pos.symbol.contract_size, 2)
    assert int(rec["VolumeExt"]) == int(rec["Volume"]) * 10_000
    assert rec["TimeCreateMsc"].startswith(rec["TimeCreate"])
    deal = next(d for d in broker.deals.values() if d.symbol is not None)
    drec = wire.deal(deal)
    assert {"Fee", "VolumeClosedExt", "ModifyFlags", "PricePosition"} <= set(drec)
    assert len(drec["Price"].split(".")[1]) == deal.symbol.digits if deal.symbol else 0
    order = next(iter(broker.orders.values()))
    orec = wire.order(broker, order)
    assert orec["State"] == "1"
    assert orec["TimeDone"] == "0"
    assert orec["VolumeCurrentExt"] == orec["VolumeInitialExt"]


@given(
    st.decimals(
        min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False
    ),
    st.integers(min_value=0, max_value=8),
)
def test_fmt_round_trips(value: Decimal, digits: int) -> None:
    text = wire.fmt(value, digits)
    assert Decimal(text) == value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    assert (len(text.split(".")[1]) if "." in text else 0) == digits
    assert not text.startswith("-0") or Decimal(text) != 0
