from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.webapi import Deal, Position, ProtocolError, Symbol, Tick, User
from mt5gateway_server.webapi.models import parse_chart_bars, parse_tick_rows


def test_user_strings_and_numbers_and_extra():
    u = User.from_wire(
        {
            "Login": "764636",
            "Group": "demo\\forex",
            "Rights": 483,
            "Balance": "26000.00",
            "Registration": "1573048380",
            "ZIPCode": "10115",
            "ClientID": "7",
            "ApiData": [{"AppID": "1"}],
        }
    )
    assert u.login == 764636
    assert u.rights == 483
    assert u.balance == Decimal("26000.00")
    assert u.registration_time == datetime(2019, 11, 6, 13, 53, tzinfo=UTC)
    assert u.zip_code == "10115"
    assert u.last_access_time is None
    assert dict(u.extra) == {"ClientID": "7", "ApiData": [{"AppID": "1"}]}


def test_position_lots_fallback_and_modify_flags_alias():
    p = Position.from_wire({"Position": "5", "Volume": "2500", "ModifyFlags": "2"})
    assert p.volume == Decimal("0.25")
    assert p.modification_flags == 2
    assert not p.extra


def test_deal_fee_and_volume_closed_ext():
    d = Deal.from_wire(
        {
            "Deal": "1",
            "Fee": "-0.50",
            "VolumeExt": "100000000",
            "VolumeClosedExt": "50000000",
        }
    )
    assert d.fee == Decimal("-0.50")
    assert d.volume == 1
    assert d.volume_closed == Decimal("0.5")


def test_tick_official_example():
    t = Tick.from_wire(
        {
            "Symbol": "EURUSD",
            "Digits": "5",
            "Datetime": "1573048380",
            "DatetimeMsc": "1573048380097",
            "Bid": "1.10868",
            "Ask": "1.10871",
            "Last": "0.00000",
            "Volume": "0",
            "VolumeReal": "0.00",
        }
    )
    assert t.bid == Decimal("1.10868")
    assert t.time_msc is not None
    assert t.time_msc.microsecond == 97000


def test_symbol_volume_ext():
    s = Symbol.from_wire(
        {"Symbol": "EURUSD", "VolumeMin": "100", "VolumeMinExt": "1000000"}
    )
    assert s.volume_min == Decimal("0.01")


def test_wrong_shapes():
    with pytest.raises(ProtocolError):
        User.from_wire([1, 2])
    with pytest.raises(ProtocolError):
        User.list_from_wire({"Login": "1"})
    assert User.list_from_wire(None) == []


def test_history_rows_in_letter_order():
    rows = parse_tick_rows([[1574351000393, 1.10777, 1.1078]], "dba")
    assert rows[0].time == datetime(2019, 11, 21, 15, 43, 20, 393000, tzinfo=UTC)
    assert rows[0].bid == Decimal("1.10777")
    assert rows[0].ask == Decimal("1.1078")
    assert rows[0].last is None
    bars = parse_chart_bars(
        [[1574351040, 1.10779, 1.10798, 1.10778, 1.10798, 12]], "dohlct"
    )
    assert bars[0].time == datetime(2019, 11, 21, 15, 44, tzinfo=UTC)
    assert bars[0].high == Decimal("1.10798")
    assert bars[0].tick_volume == 12
    with pytest.raises(ProtocolError):
        parse_tick_rows({"x": 1}, "d")


money = st.decimals(min_value=Decimal(-(10**12)), max_value=Decimal(10**12), places=2)
volumes = st.integers(min_value=0, max_value=10**14)


@given(money, volumes, st.integers(min_value=1, max_value=4_102_444_800), st.booleans())
def test_deal_round_trip_strings_or_numbers(profit, volume_ext, seconds, as_numbers):
    wire = {
        "Deal": "1",
        "Profit": str(profit),
        "VolumeExt": str(volume_ext),
        "Time": str(seconds),
        "Unknown": "kept",
    }
    if as_numbers:
        wire.update(VolumeExt=volume_ext, Time=seconds)
    d = Deal.from_wire(wire)
    assert d.profit == profit
    assert d.volume * 100_000_000 == volume_ext
    assert d.time is not None
    assert int(d.time.timestamp()) == seconds
    assert d.extra == {"Unknown": "kept"}
