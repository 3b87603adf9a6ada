"""Explicit MT5 <-> proto enum tables."""

from __future__ import annotations

import pytest
from google.type import dayofweek_pb2
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway.v1 import config_pb2, quote_pb2, server_pb2, user_pb2
from mt5gateway_server.mapping import enums
from mt5gateway_server.mapping.enums import (
    USER_RIGHT_BITS,
    EnumTable,
    rights_from_mask,
    rights_to_mask,
)

TABLES = {
    "SO_ACTIVATION": (enums.SO_ACTIVATION, user_pb2.SoActivation),
    "SYMBOL_TRADE_MODE": (enums.SYMBOL_TRADE_MODE, config_pb2.SymbolTradeMode),
    "TICK_DIRECTION": (enums.TICK_DIRECTION, quote_pb2.TickDirection),
    "BREAKER_STATE": (enums.BREAKER_STATE, server_pb2.BreakerState),
    "PASSWORD_TYPE": (enums.PASSWORD_TYPE, user_pb2.PasswordType),
    "DAY_OF_WEEK": (enums.DAY_OF_WEEK, dayofweek_pb2.DayOfWeek),
    "USER_RIGHT_BITS": (enums.USER_RIGHT_BITS, user_pb2.UserRight),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_round_trips_and_covers_the_proto_enum(name: str) -> None:
    table, proto_enum = TABLES[name]
    for mt5, proto in table.forward.items():
        assert table.to_mt5(table.to_proto(mt5)) == mt5
        assert table.to_proto(table.to_mt5(proto)) == proto
    # Every proto value except UNSPECIFIED has an MT5 value.
    assert set(table.backward) == set(proto_enum.values()) - {0}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_unknown_mt5_value_is_unspecified(name: str) -> None:
    table, _ = TABLES[name]
    assert table.to_proto(987_654) == 0
    with pytest.raises(ValueError, match="no MT5 value"):
        table.to_mt5(0)


def test_tables_refuse_duplicates() -> None:
    with pytest.raises(ValueError, match="unique"):
        EnumTable("x", {1: 1, 2: 1})
    with pytest.raises(ValueError, match="non-zero"):
        EnumTable("x", {1: 0})


@given(st.integers(min_value=0, max_value=2**40))
def test_rights_mask_round_trip_of_known_bits(mask: int) -> None:
    known = sum(USER_RIGHT_BITS.forward)
    rights = rights_from_mask(mask)
    assert rights == sorted(rights)
    assert rights_to_mask(rights) == mask & known


def test_rights_example() -> None:
    # MT5's default rights for a new user: ENABLED|PASSWORD|TRAILING|EXPERT|REPORTS.
    assert rights_from_mask(355) == [
        user_pb2.USER_RIGHT_ENABLED,
        user_pb2.USER_RIGHT_PASSWORD,
        user_pb2.USER_RIGHT_TRAILING,
        user_pb2.USER_RIGHT_EXPERT,
        user_pb2.USER_RIGHT_REPORTS,
    ]
