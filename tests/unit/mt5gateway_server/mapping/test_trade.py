"""MT5 trade DTOs -> protos: enums by table, exact decimals, money, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway.v1 import trade_pb2
from mt5gateway_server.mapping import trade as m
from mt5gateway_server.mapping.money import money_from_proto
from mt5gateway_server.webapi.models import Deal, Order, Position
from mt5gateway_server.webapi.wire import TimeConvention
from mt5gateway_server.writes.balance import BalanceResult

if TYPE_CHECKING:
    from mt5gateway_server.mapping.enums import EnumTable

POSITION = {
    "Position": "5000774",
    "ExternalID": "",
    "Login": "100041",
    "Dealer": "0",
    "Symbol": "USDJPY",
    "Action": "1",
    "Digits": "3",
    "DigitsCurrency": "2",
    "ContractSize": "100000.00",
    "TimeCreate": "1794721141",
    "TimeCreateMsc": "1794721141015",
    "TimeUpdate": "1794721141",
    "TimeUpdateMsc": "1794721141015",
    "PriceOpen": "148.177",
    "PriceCurrent": "152.538",
    "PriceSL": "0.000",
    "PriceTP": "150.000",
    "VolumeExt": "1000000",
    "Profit": "28.59",
    "Storage": "-0.14",
    "RateProfit": "0.00655544",
    "RateMargin": "1.00000000",
    "ExpertID": "7",
    "ExpertPositionID": "0",
    "Comment": "hello",
    "ActivationMode": "2",
    "ActivationTime": "1794721200",
    "ActivationPrice": "150.000",
    "ActivationFlags": "8",
    "ModificationFlags": "2",
    "Reason": "16",
}

ORDER = {
    "Order": "4001",
    "Login": "100041",
    "Symbol": "EURUSD",
    "Digits": "5",
    "DigitsCurrency": "2",
    "ContractSize": "100000",
    "State": "4",
    "Reason": "0",
    "TimeSetup": "1794721141",
    "TimeSetupMsc": "1794721141123",
    "TimeExpiration": "0",
    "TimeDone": "1794721142",
    "TimeDoneMsc": "1794721142456",
    "Type": "6",
    "TypeFill": "2",
    "TypeTime": "3",
    "PriceOrder": "1.10868",
    "PriceTrigger": "1.10900",
    "PriceCurrent": "1.10870",
    "PriceSL": "0",
    "PriceTP": "0",
    "VolumeInitialExt": "25000000",
    "VolumeCurrentExt": "0",
    "ExpertID": "0",
    "PositionID": "5000774",
    "PositionByID": "0",
    "Comment": "",
    "ActivationMode": "4",
    "RateMargin": "1.1",
    "ModificationFlags": "0",
}

DEAL = {
    "Deal": "3001093",
    "Login": "100000",
    "Order": "0",
    "Action": "2",
    "Entry": "0",
    "Reason": "99",  # newer than our table
    "Digits": "0",
    "DigitsCurrency": "2",
    "ContractSize": "0",
    "Time": "1794721141",
    "TimeMsc": "1794721141500",
    "Symbol": "",
    "Price": "0",
    "VolumeExt": "0",
    "Profit": "100.50",
    "Value": "0",
    "Storage": "0",
    "Commission": "-1.25",
    "Fee": "0",
    "Comment": "gw:ABCDEFGHJK invoice",
    "ProfitRaw": "100.50",
    "TickValue": "1.5",
    "TickSize": "0.00001",
    "MarketBid": "1.10868",
    "ModifyFlags": "4",
}


def test_position() -> None:
    pos = m.position_to_proto(Position.from_wire(POSITION), "USD")
    assert pos.ticket == 5000774
    assert pos.type == trade_pb2.POSITION_TYPE_SELL
    assert pos.reason == trade_pb2.TRADE_REASON_MOBILE
    assert pos.activation_mode == trade_pb2.ACTIVATION_MODE_TAKE_PROFIT
    assert pos.activation_flags == 8
    assert pos.activation_price.value == "150.000"
    assert pos.take_profit.value == "150.000"
    assert Decimal(pos.volume.value) == Decimal("0.01")
    assert money_from_proto(pos.profit) == Decimal("28.59")
    assert pos.profit.currency_code == "USD"
    assert money_from_proto(pos.storage) == Decimal("-0.14")
    assert pos.create_time.ToMilliseconds() == 1794721141015
    assert pos.activation_time.seconds == 1794721200
    assert pos.modification_flags == 2
    assert pos.expert_id == 7


def test_position_times_use_the_server_offset() -> None:
    tc = TimeConvention(timedelta(hours=2))
    pos = m.position_to_proto(Position.from_wire(POSITION, tc), "USD", tc)
    assert pos.create_time.ToMilliseconds() == 1794721141015 - 7_200_000
    assert pos.activation_time.seconds == 1794721200 - 7200


def test_order() -> None:
    order = m.order_to_proto(Order.from_wire(ORDER), "USD")
    assert order.state == trade_pb2.ORDER_STATE_FILLED
    assert order.type == trade_pb2.ORDER_TYPE_BUY_STOP_LIMIT
    assert order.filling == trade_pb2.ORDER_FILLING_RETURN
    assert order.time_type == trade_pb2.ORDER_TIME_SPECIFIED_DAY
    assert order.activation_mode == trade_pb2.ACTIVATION_MODE_STOP_OUT
    assert order.reason == trade_pb2.TRADE_REASON_CLIENT
    assert not order.HasField("expiration_time")  # MT5 0 = never
    assert order.done_time.ToMilliseconds() == 1794721142456
    assert Decimal(order.initial_volume.value) == Decimal("0.25")
    assert order.trigger_price.value == "1.10900"
    assert order.position_id == 5000774


def test_deal() -> None:
    deal = m.deal_to_proto(Deal.from_wire(DEAL), "EUR")
    assert deal.action == trade_pb2.DEAL_ACTION_BALANCE
    assert deal.entry == trade_pb2.DEAL_ENTRY_IN
    assert deal.reason == trade_pb2.TRADE_REASON_UNSPECIFIED
    assert money_from_proto(deal.profit) == Decimal("100.50")
    assert deal.profit.currency_code == "EUR"
    assert money_from_proto(deal.commission) == Decimal("-1.25")
    assert deal.raw_profit.value == "100.50"
    assert deal.tick_size.value == "0.00001"
    assert deal.market_bid.value == "1.10868"
    assert deal.market_ask.value == "0"
    assert deal.modification_flags == 4
    assert deal.execute_time.ToMilliseconds() == 1794721141500
    assert deal.comment == "gw:ABCDEFGHJK invoice"


@pytest.mark.parametrize(
    ("table", "mt5", "proto"),
    [
        (m.DEAL_ACTION, 19, trade_pb2.DEAL_ACTION_SO_COMPENSATION),
        (m.DEAL_ENTRY, 3, trade_pb2.DEAL_ENTRY_OUT_BY),
        (m.ORDER_TYPE, 8, trade_pb2.ORDER_TYPE_CLOSE_BY),
        (m.ORDER_STATE, 9, trade_pb2.ORDER_STATE_REQUEST_CANCEL),
        (m.TRADE_REASON, 18, trade_pb2.TRADE_REASON_SPLIT),
        (m.ACTIVATION_ORDER, 2, trade_pb2.ACTIVATION_MODE_STOP_LIMIT),
    ],
)
def test_enum_tables_by_name(table: EnumTable[int], mt5: int, proto: int) -> None:
    assert table.to_proto(mt5) == proto
    assert table.to_mt5(proto) == mt5


def test_enum_tables_cover_every_proto_value() -> None:
    def values(enum: object) -> set[int]:
        return {v.number for v in enum.DESCRIPTOR.values if v.number}  # type: ignore[attr-defined]

    assert set(m.DEAL_ACTION.forward.values()) == values(trade_pb2.DealAction)
    assert set(m.DEAL_ENTRY.forward.values()) == values(trade_pb2.DealEntry)
    assert set(m.ORDER_TYPE.forward.values()) == values(trade_pb2.OrderType)
    assert set(m.ORDER_STATE.forward.values()) == values(trade_pb2.OrderState)
    assert set(m.ORDER_FILLING.forward.values()) == values(trade_pb2.OrderFilling)
    assert set(m.ORDER_TIME.forward.values()) == values(trade_pb2.OrderTime)
    assert set(m.TRADE_REASON.forward.values()) == values(trade_pb2.TradeReason)
    assert set(m.POSITION_TYPE.forward.values()) == values(trade_pb2.PositionType)
    merged = set(m.ACTIVATION_POSITION.forward.values()) | set(
        m.ACTIVATION_ORDER.forward.values()
    )
    assert merged == values(trade_pb2.ActivationMode)
    assert set(m.BALANCE_TYPE.forward.values()) == values(
        trade_pb2.BalanceOperationType
    )
    for mt5 in m.BALANCE_TYPE.forward:
        # trade/balance takes EnDealAction values: the deal shows the same action.
        assert trade_pb2.DealAction.Name(m.DEAL_ACTION.to_proto(mt5)).removeprefix(
            "DEAL_ACTION_"
        ) in trade_pb2.BalanceOperationType.Name(m.BALANCE_TYPE.to_proto(mt5))


def test_unknown_mt5_values_are_unspecified() -> None:
    assert m.DEAL_ACTION.to_proto(99) == trade_pb2.DEAL_ACTION_UNSPECIFIED
    assert m.ORDER_STATE.to_proto(-1) == trade_pb2.ORDER_STATE_UNSPECIFIED


@given(
    st.decimals(
        min_value=Decimal(-(10**9)),
        max_value=Decimal(10**9),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_money_round_trip(value: Decimal) -> None:
    assert money_from_proto(m.money_to_proto(value, "USD")) == value


def test_money_finer_than_a_nano_rounds_half_even() -> None:
    money = m.money_to_proto(Decimal("0.0000000015"), "USD")
    assert (money.units, money.nanos) == (0, 2)


def test_balance_operation() -> None:
    result = BalanceResult(
        login=100000,
        action=6,
        amount=Decimal("-12.5"),
        currency="USD",
        comment="gw:ABCDEFGHJK x",
        deal_ticket=3001093,
        create_time=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        request_id="6f1c1e0a-8d55-4f57-9a43-1a2b3c4d5e6f",
        margin_checked=False,
    )
    op = m.balance_operation_to_proto(result)
    assert op.type == trade_pb2.BALANCE_OPERATION_TYPE_BONUS
    assert (op.amount.units, op.amount.nanos) == (-12, -500_000_000)
    assert op.deal_ticket == 3001093
    assert op.create_time.seconds == int(result.create_time.timestamp())
    assert not op.margin_checked
    assert BalanceResult.from_json(result.to_json()) == result
