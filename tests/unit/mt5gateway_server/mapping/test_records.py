"""User/Account, Symbol/Group/Time and Quote mapping from MT5-shaped JSON DTOs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from google.type import dayofweek_pb2
from mt5gateway.v1 import config_pb2, quote_pb2, user_pb2
from mt5gateway_server.mapping.config import (
    extra_fields,
    group_to_proto,
    sessions_to_proto,
    symbol_to_proto,
    time_config_to_proto,
)
from mt5gateway_server.mapping.money import decimal_from_proto, money_from_proto
from mt5gateway_server.mapping.quotes import (
    bar_to_proto,
    history_tick_to_proto,
    quote_to_proto,
    stats_to_proto,
)
from mt5gateway_server.mapping.users import (
    OUTPUT_ONLY_USER_FIELDS,
    UPDATABLE_USER_FIELDS,
    account_to_proto,
    user_to_proto,
    user_update,
)
from mt5gateway_server.webapi import (
    Account,
    ChartBar,
    Group,
    Symbol,
    Tick,
    TickRow,
    TickStat,
    TimeConfig,
    User,
)
from mt5sim.market import wire
from mt5sim.market.broker import Broker
from mt5sim.market.instruments import GROUPS, SYMBOLS


@pytest.fixture(scope="module")
def broker() -> Broker:
    return Broker.seeded(1, time.time())


def test_user(broker: Broker) -> None:
    source = broker.users[100_000]
    proto = user_to_proto(User.from_wire(wire.user(source)), "USD")
    assert proto.login == source.login
    assert proto.group == source.group.name
    assert money_from_proto(proto.balance) == source.balance
    assert proto.balance.currency_code == "USD"
    assert proto.rights_mask == source.rights
    assert user_pb2.USER_RIGHT_ENABLED in proto.rights
    assert proto.client_id == source.client_id
    assert proto.registration_time.seconds == source.registration
    assert proto.HasField("balance_prev_day")
    assert proto.first_name == source.text["FirstName"]


def test_account(broker: Broker) -> None:
    state = broker.account(broker.users[100_000])
    proto = account_to_proto(Account.from_wire(wire.account(state)), "EUR")
    assert proto.login == 100_000
    assert proto.equity.currency_code == "EUR"
    assert proto.so_activation == user_pb2.SO_ACTIVATION_NONE


def test_user_update_paths() -> None:
    user = user_pb2.User(login=5, name="N", leverage=50, rights_mask=0x1003)
    update = user_update(user, ["name", "leverage", "rights_mask"])
    assert (update.name, update.leverage, update.rights) == ("N", 50, 0x1003)
    assert update.group is None
    assert not set(UPDATABLE_USER_FIELDS) & OUTPUT_ONLY_USER_FIELDS
    fields = set(user_pb2.User.DESCRIPTOR.fields_by_name)
    assert set(UPDATABLE_USER_FIELDS) <= fields
    assert fields >= OUTPUT_ONLY_USER_FIELDS


def test_symbol() -> None:
    spec = next(s for s in SYMBOLS if s.name == "EURUSD")
    raw = wire.symbol(spec)
    proto = symbol_to_proto(Symbol.from_wire(raw))
    assert proto.symbol == "EURUSD"
    assert decimal_from_proto(proto.contract_size) == Decimal(100_000)
    assert proto.trade_mode == config_pb2.SYMBOL_TRADE_MODE_FULL
    assert proto.triple_swap_day == dayofweek_pb2.WEDNESDAY
    assert not proto.HasField("start_time")  # MT5 0 = no limit
    assert "CalcMode" in proto.extra_fields
    for typed in ("ISIN", "Swap3Day", "FreezeLevel", "Symbol", "Digits"):
        assert typed not in proto.extra_fields
    assert proto.quote_sessions


def test_sessions() -> None:
    days = [[], [{"Open": "0", "Close": "1440"}], "junk"]
    (monday,) = sessions_to_proto(days)
    assert monday.day == dayofweek_pb2.MONDAY
    assert (monday.open_minute, monday.close_minute) == (0, 1440)
    assert sessions_to_proto(None) == []


def test_group_hides_smtp_password() -> None:
    spec = next(g for g in GROUPS if g.name == "real\\vip")
    raw = wire.group(spec)
    raw["ReportsSMTPPass"] = "hunter2"
    proto = group_to_proto(Group.from_wire(raw))
    assert proto.currency == "EUR"
    assert proto.symbol_paths == ["*"]
    assert "ReportsSMTPPass" not in proto.extra_fields
    assert json.loads(proto.extra_fields["Symbols"])[0]["Path"] == "*"
    assert proto.demo_deposit.currency_code == "EUR"


def test_extra_fields_text() -> None:
    out = extra_fields({"A": 1, "B": [1, 2], "C": None, "Password": "x"}, ("A",))
    assert out == {"B": "[1,2]", "C": ""}


def test_time_config() -> None:
    config = TimeConfig.from_wire(
        {"Daylight": "1", "DaylightState": "0", "TimeZone": "120", "Days": [[1]]}
    )
    proto = time_config_to_proto(config)
    assert proto.utc_offset.seconds == 7200
    assert proto.daylight_saving
    assert not proto.daylight_saving_active
    assert proto.extra_fields["Days"] == "[[1]]"


def test_quotes(broker: Broker) -> None:
    state = broker.ticks["EURUSD"]
    quote = quote_to_proto(Tick.from_wire(wire.tick(state)))
    assert quote.symbol == "EURUSD"
    assert decimal_from_proto(quote.ask) > decimal_from_proto(quote.bid)
    assert quote.quote_time.seconds > 0
    stats = stats_to_proto(TickStat.from_wire(wire.tick_stat(state)))
    assert stats.symbol == "EURUSD"
    assert stats.bid_direction != quote_pb2.TICK_DIRECTION_UNSPECIFIED


def test_history_rows_and_bars() -> None:
    when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    tick = history_tick_to_proto(TickRow(when, bid=Decimal("1.1"), ask=None))
    assert tick.ask.value == "0"
    assert tick.tick_time.seconds == int(when.timestamp())
    bar = bar_to_proto(
        ChartBar(
            when + timedelta(minutes=1),
            open=Decimal(1),
            high=Decimal(2),
            low=Decimal("0.5"),
            close=Decimal("1.5"),
            tick_volume=7,
        )
    )
    assert (bar.tick_count, bar.volume.value, bar.spread) == (7, "0", 0)
    assert decimal_from_proto(bar.low) == Decimal("0.5")
