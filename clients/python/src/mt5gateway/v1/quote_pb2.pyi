import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import decimal_pb2 as _decimal_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TickDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICK_DIRECTION_UNSPECIFIED: _ClassVar[TickDirection]
    TICK_DIRECTION_UNCHANGED: _ClassVar[TickDirection]
    TICK_DIRECTION_UP: _ClassVar[TickDirection]
    TICK_DIRECTION_DOWN: _ClassVar[TickDirection]
TICK_DIRECTION_UNSPECIFIED: TickDirection
TICK_DIRECTION_UNCHANGED: TickDirection
TICK_DIRECTION_UP: TickDirection
TICK_DIRECTION_DOWN: TickDirection

class Quote(_message.Message):
    __slots__ = ("symbol", "digits", "quote_time", "bid", "ask", "last", "volume")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TIME_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    digits: int
    quote_time: _timestamp_pb2.Timestamp
    bid: _decimal_pb2.Decimal
    ask: _decimal_pb2.Decimal
    last: _decimal_pb2.Decimal
    volume: _decimal_pb2.Decimal
    def __init__(self, symbol: _Optional[str] = ..., digits: _Optional[int] = ..., quote_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bid: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., ask: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., last: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ...) -> None: ...

class QuoteStats(_message.Message):
    __slots__ = ("symbol", "digits", "quote_time", "bid", "bid_low", "bid_high", "bid_direction", "ask", "ask_low", "ask_high", "ask_direction", "last", "last_low", "last_high", "last_direction", "volume", "volume_low", "volume_high", "volume_direction", "deal_count", "trade_volume", "turnover", "open_interest", "buy_order_count", "buy_order_volume", "sell_order_count", "sell_order_volume", "open_price", "close_price", "average_price", "price_change", "volatility", "theoretical_price", "delta", "theta", "gamma", "vega", "rho", "omega", "sensitivity")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TIME_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    BID_LOW_FIELD_NUMBER: _ClassVar[int]
    BID_HIGH_FIELD_NUMBER: _ClassVar[int]
    BID_DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    ASK_LOW_FIELD_NUMBER: _ClassVar[int]
    ASK_HIGH_FIELD_NUMBER: _ClassVar[int]
    ASK_DIRECTION_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    LAST_LOW_FIELD_NUMBER: _ClassVar[int]
    LAST_HIGH_FIELD_NUMBER: _ClassVar[int]
    LAST_DIRECTION_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_LOW_FIELD_NUMBER: _ClassVar[int]
    VOLUME_HIGH_FIELD_NUMBER: _ClassVar[int]
    VOLUME_DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DEAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRADE_VOLUME_FIELD_NUMBER: _ClassVar[int]
    TURNOVER_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    BUY_ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUY_ORDER_VOLUME_FIELD_NUMBER: _ClassVar[int]
    SELL_ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    SELL_ORDER_VOLUME_FIELD_NUMBER: _ClassVar[int]
    OPEN_PRICE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PRICE_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    THEORETICAL_PRICE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    VEGA_FIELD_NUMBER: _ClassVar[int]
    RHO_FIELD_NUMBER: _ClassVar[int]
    OMEGA_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    digits: int
    quote_time: _timestamp_pb2.Timestamp
    bid: _decimal_pb2.Decimal
    bid_low: _decimal_pb2.Decimal
    bid_high: _decimal_pb2.Decimal
    bid_direction: TickDirection
    ask: _decimal_pb2.Decimal
    ask_low: _decimal_pb2.Decimal
    ask_high: _decimal_pb2.Decimal
    ask_direction: TickDirection
    last: _decimal_pb2.Decimal
    last_low: _decimal_pb2.Decimal
    last_high: _decimal_pb2.Decimal
    last_direction: TickDirection
    volume: _decimal_pb2.Decimal
    volume_low: _decimal_pb2.Decimal
    volume_high: _decimal_pb2.Decimal
    volume_direction: TickDirection
    deal_count: int
    trade_volume: _decimal_pb2.Decimal
    turnover: _decimal_pb2.Decimal
    open_interest: _decimal_pb2.Decimal
    buy_order_count: int
    buy_order_volume: _decimal_pb2.Decimal
    sell_order_count: int
    sell_order_volume: _decimal_pb2.Decimal
    open_price: _decimal_pb2.Decimal
    close_price: _decimal_pb2.Decimal
    average_price: _decimal_pb2.Decimal
    price_change: _decimal_pb2.Decimal
    volatility: _decimal_pb2.Decimal
    theoretical_price: _decimal_pb2.Decimal
    delta: _decimal_pb2.Decimal
    theta: _decimal_pb2.Decimal
    gamma: _decimal_pb2.Decimal
    vega: _decimal_pb2.Decimal
    rho: _decimal_pb2.Decimal
    omega: _decimal_pb2.Decimal
    sensitivity: _decimal_pb2.Decimal
    def __init__(self, symbol: _Optional[str] = ..., digits: _Optional[int] = ..., quote_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bid: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., bid_low: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., bid_high: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., bid_direction: _Optional[_Union[TickDirection, str]] = ..., ask: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., ask_low: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., ask_high: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., ask_direction: _Optional[_Union[TickDirection, str]] = ..., last: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., last_low: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., last_high: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., last_direction: _Optional[_Union[TickDirection, str]] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_low: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_high: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_direction: _Optional[_Union[TickDirection, str]] = ..., deal_count: _Optional[int] = ..., trade_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., turnover: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., open_interest: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., buy_order_count: _Optional[int] = ..., buy_order_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., sell_order_count: _Optional[int] = ..., sell_order_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., open_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., close_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., average_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., price_change: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volatility: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., theoretical_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., delta: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., theta: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., gamma: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., vega: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., rho: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., omega: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., sensitivity: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ...) -> None: ...

class HistoryTick(_message.Message):
    __slots__ = ("tick_time", "bid", "ask", "last", "volume")
    TICK_TIME_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    tick_time: _timestamp_pb2.Timestamp
    bid: _decimal_pb2.Decimal
    ask: _decimal_pb2.Decimal
    last: _decimal_pb2.Decimal
    volume: _decimal_pb2.Decimal
    def __init__(self, tick_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bid: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., ask: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., last: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ...) -> None: ...

class Bar(_message.Message):
    __slots__ = ("open_time", "open", "high", "low", "close", "tick_count", "volume", "spread")
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    TICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SPREAD_FIELD_NUMBER: _ClassVar[int]
    open_time: _timestamp_pb2.Timestamp
    open: _decimal_pb2.Decimal
    high: _decimal_pb2.Decimal
    low: _decimal_pb2.Decimal
    close: _decimal_pb2.Decimal
    tick_count: int
    volume: _decimal_pb2.Decimal
    spread: int
    def __init__(self, open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., high: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., low: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., close: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., tick_count: _Optional[int] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., spread: _Optional[int] = ...) -> None: ...
