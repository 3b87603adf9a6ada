"""Positions, orders, deals and balance operations: MT5 DTOs -> protos (pure).

MT5 integers never reach the wire: each enum has an explicit table; a value the table
does not know maps to ``*_UNSPECIFIED`` (MT5 adds members in newer builds). Fields the
DTOs leave in ``extra`` (activation data, raw profit, market prices...) are parsed here
with the Web API's own converters, so they stay exact decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import trade_pb2

from mt5gateway_server.mapping import money
from mt5gateway_server.mapping.enums import EnumTable
from mt5gateway_server.mapping.money import decimal_text
from mt5gateway_server.mapping.time import optional_timestamp as time_to_proto
from mt5gateway_server.mapping.time import timestamp_fields
from mt5gateway_server.webapi.models import (
    fast_from_seconds,
    fast_to_decimal,
    fast_to_int,
)
from mt5gateway_server.webapi.wire import UTC_TIME, TimeConvention

if TYPE_CHECKING:
    from collections.abc import Mapping

    from google.type.money_pb2 import Money

    from mt5gateway_server.webapi.models import Deal, Order, Position
    from mt5gateway_server.writes.balance import BalanceResult

__all__ = [
    "ACTIVATION_ORDER",
    "ACTIVATION_POSITION",
    "BALANCE_TYPE",
    "DEAL_ACTION",
    "DEAL_ENTRY",
    "ORDER_FILLING",
    "ORDER_STATE",
    "ORDER_TIME",
    "ORDER_TYPE",
    "POSITION_TYPE",
    "TRADE_REASON",
    "balance_operation_to_proto",
    "deal_to_proto",
    "money_to_proto",
    "order_to_proto",
    "position_to_proto",
]

_NANO = Decimal(1).scaleb(-9)


def _consecutive(name: str, count: int) -> EnumTable[int]:
    """MT5 0..count-1 -> proto 1..count: the proto enums list MT5's values in order."""
    return EnumTable(name, {i: i + 1 for i in range(count)})


# MT5 integer -> proto enum number (docs/mt5-webapi.md#enumerations); the proto comments
# name the MT5 value of each member, and the unit tests check the tables against them.
POSITION_TYPE = EnumTable(
    "PositionType", {0: trade_pb2.POSITION_TYPE_BUY, 1: trade_pb2.POSITION_TYPE_SELL}
)
ORDER_TYPE = _consecutive("OrderType", 9)  # BUY 0 .. CLOSE_BY 8
ORDER_STATE = _consecutive("OrderState", 10)  # STARTED 0 .. REQUEST_CANCEL 9
ORDER_FILLING = _consecutive("OrderFilling", 3)  # FOK, IOC, RETURN
ORDER_TIME = _consecutive("OrderTime", 4)  # GTC, DAY, SPECIFIED, SPECIFIED_DAY
TRADE_REASON = _consecutive("TradeReason", 19)  # CLIENT 0 .. SPLIT 18
DEAL_ACTION = _consecutive("DealAction", 20)  # BUY 0 .. SO_COMPENSATION 19
DEAL_ENTRY = _consecutive("DealEntry", 4)  # IN, OUT, INOUT, OUT_BY
# EnActivation (positions) and EnOrderActivation (orders) share the proto enum.
ACTIVATION_POSITION = EnumTable(
    "ActivationMode(position)",
    {
        0: trade_pb2.ACTIVATION_MODE_NONE,
        1: trade_pb2.ACTIVATION_MODE_STOP_LOSS,
        2: trade_pb2.ACTIVATION_MODE_TAKE_PROFIT,
        3: trade_pb2.ACTIVATION_MODE_STOP_OUT,
    },
)
ACTIVATION_ORDER = EnumTable(
    "ActivationMode(order)",
    {
        0: trade_pb2.ACTIVATION_MODE_NONE,
        1: trade_pb2.ACTIVATION_MODE_PENDING,
        2: trade_pb2.ACTIVATION_MODE_STOP_LIMIT,
        3: trade_pb2.ACTIVATION_MODE_EXPIRATION,
        4: trade_pb2.ACTIVATION_MODE_STOP_OUT,
    },
)
# The EnDealAction values trade/balance takes <-> BalanceOperationType.
BALANCE_TYPE = EnumTable(
    "BalanceOperationType",
    {
        2: trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
        3: trade_pb2.BALANCE_OPERATION_TYPE_CREDIT,
        4: trade_pb2.BALANCE_OPERATION_TYPE_CHARGE,
        5: trade_pb2.BALANCE_OPERATION_TYPE_CORRECTION,
        6: trade_pb2.BALANCE_OPERATION_TYPE_BONUS,
    },
)


def money_to_proto(value: Decimal, currency: str) -> Money:
    """MT5 money is exact to far fewer places; a longer value rounds half-even."""
    return money.money_to_proto(value.quantize(_NANO, ROUND_HALF_EVEN), currency)


def _money(value: Decimal, currency: str) -> dict[str, str | int]:
    """``money_to_proto`` as constructor dict. An exact amount (at most 9 places, the
    usual case) needs no rounding: quantize() would not change it (it fits in 28
    digits, as units fit in int64), so skip it and the copy it makes."""
    try:
        units, nanos = money.units_nanos(value)
    except ValueError:
        exact = money_to_proto(value, currency)  # rounds, or raises as it always did
        units, nanos = exact.units, exact.nanos
    return {"currency_code": currency, "units": units, "nanos": nanos}


def _dec(value: Decimal) -> dict[str, str]:
    return {"value": decimal_text(value)}


def _extra_dec(extra: Mapping[str, Any], key: str) -> dict[str, str]:
    return {"value": decimal_text(fast_to_decimal(extra.get(key)))}


def _extra_int(extra: Mapping[str, Any], *keys: str) -> int:
    for key in keys:
        if key in extra:
            return fast_to_int(extra[key])
    return 0


# EnumTable.to_proto as plain dicts' get: a C call per field, not a Python one.
_POSITION_TYPE = dict(POSITION_TYPE.forward).get
_ORDER_TYPE = dict(ORDER_TYPE.forward).get
_ORDER_STATE = dict(ORDER_STATE.forward).get
_ORDER_FILLING = dict(ORDER_FILLING.forward).get
_ORDER_TIME = dict(ORDER_TIME.forward).get
_TRADE_REASON = dict(TRADE_REASON.forward).get
_DEAL_ACTION = dict(DEAL_ACTION.forward).get
_DEAL_ENTRY = dict(DEAL_ENTRY.forward).get
_ACTIVATION_POSITION = dict(ACTIVATION_POSITION.forward).get
_ACTIVATION_ORDER = dict(ACTIVATION_ORDER.forward).get


def position_to_proto(
    pos: Position, currency: str, tc: TimeConvention = UTC_TIME
) -> trade_pb2.Position:
    extra = pos.extra
    return trade_pb2.Position(
        ticket=pos.ticket,
        external_id=pos.external_id,
        login=pos.login,
        dealer=pos.dealer,
        symbol=pos.symbol,
        type=_POSITION_TYPE(pos.action, 0),  # type: ignore[arg-type]
        digits=pos.digits,
        currency_digits=pos.digits_currency,
        contract_size=_dec(pos.contract_size),
        create_time=timestamp_fields(pos.create_time_msc or pos.create_time),
        update_time=timestamp_fields(pos.update_time_msc or pos.update_time),
        open_price=_dec(pos.price_open),
        current_price=_dec(pos.price_current),
        stop_loss=_dec(pos.price_sl),
        take_profit=_dec(pos.price_tp),
        volume=_dec(pos.volume),
        profit=_money(pos.profit, currency),
        storage=_money(pos.storage, currency),
        profit_rate=_dec(pos.rate_profit),
        margin_rate=_dec(pos.rate_margin),
        expert_id=pos.expert_id,
        expert_position_id=pos.expert_position_id,
        comment=pos.comment,
        activation_mode=_ACTIVATION_POSITION(_extra_int(extra, "ActivationMode"), 0),  # type: ignore[arg-type]
        activation_time=timestamp_fields(
            fast_from_seconds(extra.get("ActivationTime"), tc)
        ),
        activation_price=_extra_dec(extra, "ActivationPrice"),
        activation_flags=_extra_int(extra, "ActivationFlags"),
        modification_flags=pos.modification_flags,
        reason=_TRADE_REASON(pos.reason, 0),  # type: ignore[arg-type]
    )


def order_to_proto(
    order: Order, currency: str, tc: TimeConvention = UTC_TIME
) -> trade_pb2.Order:
    del currency  # orders carry no money fields; kept for one call shape
    extra = order.extra
    return trade_pb2.Order(
        ticket=order.ticket,
        external_id=order.external_id,
        login=order.login,
        dealer=order.dealer,
        symbol=order.symbol,
        digits=order.digits,
        currency_digits=order.digits_currency,
        contract_size=_dec(order.contract_size),
        state=_ORDER_STATE(order.state, 0),  # type: ignore[arg-type]
        reason=_TRADE_REASON(order.reason, 0),  # type: ignore[arg-type]
        setup_time=timestamp_fields(order.setup_time_msc or order.setup_time),
        expiration_time=timestamp_fields(order.expiration_time),
        done_time=timestamp_fields(order.done_time_msc or order.done_time),
        type=_ORDER_TYPE(order.type, 0),  # type: ignore[arg-type]
        filling=_ORDER_FILLING(order.type_fill, 0),  # type: ignore[arg-type]
        time_type=_ORDER_TIME(order.type_time, 0),  # type: ignore[arg-type]
        order_price=_dec(order.price_order),
        trigger_price=_dec(order.price_trigger),
        current_price=_dec(order.price_current),
        stop_loss=_dec(order.price_sl),
        take_profit=_dec(order.price_tp),
        initial_volume=_dec(order.volume_initial),
        current_volume=_dec(order.volume_current),
        expert_id=order.expert_id,
        position_id=order.position_id,
        position_by_id=order.position_by_id,
        comment=order.comment,
        activation_mode=_ACTIVATION_ORDER(_extra_int(extra, "ActivationMode"), 0),  # type: ignore[arg-type]
        activation_time=timestamp_fields(
            fast_from_seconds(extra.get("ActivationTime"), tc)
        ),
        activation_price=_extra_dec(extra, "ActivationPrice"),
        activation_flags=_extra_int(extra, "ActivationFlags"),
        margin_rate=_dec(order.rate_margin),
        modification_flags=order.modification_flags,
    )


def deal_to_proto(
    deal: Deal, currency: str, tc: TimeConvention = UTC_TIME
) -> trade_pb2.Deal:
    del tc  # every deal time is typed in the DTO already
    extra = deal.extra
    return trade_pb2.Deal(
        ticket=deal.ticket,
        external_id=deal.external_id,
        login=deal.login,
        dealer=deal.dealer,
        order_ticket=deal.order,
        action=_DEAL_ACTION(deal.action, 0),  # type: ignore[arg-type]
        entry=_DEAL_ENTRY(deal.entry, 0),  # type: ignore[arg-type]
        reason=_TRADE_REASON(deal.reason, 0),  # type: ignore[arg-type]
        digits=deal.digits,
        currency_digits=deal.digits_currency,
        contract_size=_dec(deal.contract_size),
        execute_time=timestamp_fields(deal.time_msc or deal.time),
        symbol=deal.symbol,
        price=_dec(deal.price),
        stop_loss=_dec(deal.price_sl),
        take_profit=_dec(deal.price_tp),
        volume=_dec(deal.volume),
        closed_volume=_dec(deal.volume_closed),
        profit=_money(deal.profit, currency),
        value=_money(deal.value, currency),
        storage=_money(deal.storage, currency),
        commission=_money(deal.commission, currency),
        fee=_money(deal.fee, currency),
        profit_rate=_dec(deal.rate_profit),
        margin_rate=_dec(deal.rate_margin),
        expert_id=deal.expert_id,
        position_id=deal.position_id,
        comment=deal.comment,
        raw_profit=_extra_dec(extra, "ProfitRaw"),
        position_price=_dec(deal.price_position),
        tick_value=_extra_dec(extra, "TickValue"),
        tick_size=_extra_dec(extra, "TickSize"),
        flags=_extra_int(extra, "Flags"),
        gateway=deal.gateway,
        gateway_price=_extra_dec(extra, "PriceGateway"),
        market_bid=_extra_dec(extra, "MarketBid"),
        market_ask=_extra_dec(extra, "MarketAsk"),
        market_last=_extra_dec(extra, "MarketLast"),
        modification_flags=deal.modification_flags,
    )


def balance_operation_to_proto(result: BalanceResult) -> trade_pb2.BalanceOperation:
    return trade_pb2.BalanceOperation(
        login=result.login,
        type=BALANCE_TYPE.to_proto(result.action),  # type: ignore[arg-type]
        amount=money_to_proto(result.amount, result.currency),
        comment=result.comment,
        deal_ticket=result.deal_ticket,
        create_time=time_to_proto(result.create_time),
        request_id=result.request_id,
        margin_checked=result.margin_checked,
    )
