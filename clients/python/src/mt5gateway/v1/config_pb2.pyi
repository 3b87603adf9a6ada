import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import dayofweek_pb2 as _dayofweek_pb2
from google.type import decimal_pb2 as _decimal_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SymbolTradeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYMBOL_TRADE_MODE_UNSPECIFIED: _ClassVar[SymbolTradeMode]
    SYMBOL_TRADE_MODE_DISABLED: _ClassVar[SymbolTradeMode]
    SYMBOL_TRADE_MODE_LONG_ONLY: _ClassVar[SymbolTradeMode]
    SYMBOL_TRADE_MODE_SHORT_ONLY: _ClassVar[SymbolTradeMode]
    SYMBOL_TRADE_MODE_CLOSE_ONLY: _ClassVar[SymbolTradeMode]
    SYMBOL_TRADE_MODE_FULL: _ClassVar[SymbolTradeMode]
SYMBOL_TRADE_MODE_UNSPECIFIED: SymbolTradeMode
SYMBOL_TRADE_MODE_DISABLED: SymbolTradeMode
SYMBOL_TRADE_MODE_LONG_ONLY: SymbolTradeMode
SYMBOL_TRADE_MODE_SHORT_ONLY: SymbolTradeMode
SYMBOL_TRADE_MODE_CLOSE_ONLY: SymbolTradeMode
SYMBOL_TRADE_MODE_FULL: SymbolTradeMode

class SymbolSession(_message.Message):
    __slots__ = ("day", "open_minute", "close_minute")
    DAY_FIELD_NUMBER: _ClassVar[int]
    OPEN_MINUTE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_MINUTE_FIELD_NUMBER: _ClassVar[int]
    day: _dayofweek_pb2.DayOfWeek
    open_minute: int
    close_minute: int
    def __init__(self, day: _Optional[_Union[_dayofweek_pb2.DayOfWeek, str]] = ..., open_minute: _Optional[int] = ..., close_minute: _Optional[int] = ...) -> None: ...

class Symbol(_message.Message):
    __slots__ = ("symbol", "path", "description", "isin", "exchange", "currency_base", "currency_profit", "currency_margin", "digits", "point", "contract_size", "tick_value", "tick_size", "spread", "stops_level", "freeze_level", "trade_mode", "volume_min", "volume_max", "volume_step", "volume_limit", "margin_initial", "margin_maintenance", "swap_long", "swap_short", "triple_swap_day", "start_time", "expiration_time", "quote_sessions", "trade_sessions", "extra_fields")
    class ExtraFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ISIN_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_BASE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_PROFIT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_MARGIN_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    POINT_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_SIZE_FIELD_NUMBER: _ClassVar[int]
    TICK_VALUE_FIELD_NUMBER: _ClassVar[int]
    TICK_SIZE_FIELD_NUMBER: _ClassVar[int]
    SPREAD_FIELD_NUMBER: _ClassVar[int]
    STOPS_LEVEL_FIELD_NUMBER: _ClassVar[int]
    FREEZE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    TRADE_MODE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MIN_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MAX_FIELD_NUMBER: _ClassVar[int]
    VOLUME_STEP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MARGIN_INITIAL_FIELD_NUMBER: _ClassVar[int]
    MARGIN_MAINTENANCE_FIELD_NUMBER: _ClassVar[int]
    SWAP_LONG_FIELD_NUMBER: _ClassVar[int]
    SWAP_SHORT_FIELD_NUMBER: _ClassVar[int]
    TRIPLE_SWAP_DAY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    QUOTE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    TRADE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELDS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    path: str
    description: str
    isin: str
    exchange: str
    currency_base: str
    currency_profit: str
    currency_margin: str
    digits: int
    point: _decimal_pb2.Decimal
    contract_size: _decimal_pb2.Decimal
    tick_value: _decimal_pb2.Decimal
    tick_size: _decimal_pb2.Decimal
    spread: int
    stops_level: int
    freeze_level: int
    trade_mode: SymbolTradeMode
    volume_min: _decimal_pb2.Decimal
    volume_max: _decimal_pb2.Decimal
    volume_step: _decimal_pb2.Decimal
    volume_limit: _decimal_pb2.Decimal
    margin_initial: _decimal_pb2.Decimal
    margin_maintenance: _decimal_pb2.Decimal
    swap_long: _decimal_pb2.Decimal
    swap_short: _decimal_pb2.Decimal
    triple_swap_day: _dayofweek_pb2.DayOfWeek
    start_time: _timestamp_pb2.Timestamp
    expiration_time: _timestamp_pb2.Timestamp
    quote_sessions: _containers.RepeatedCompositeFieldContainer[SymbolSession]
    trade_sessions: _containers.RepeatedCompositeFieldContainer[SymbolSession]
    extra_fields: _containers.ScalarMap[str, str]
    def __init__(self, symbol: _Optional[str] = ..., path: _Optional[str] = ..., description: _Optional[str] = ..., isin: _Optional[str] = ..., exchange: _Optional[str] = ..., currency_base: _Optional[str] = ..., currency_profit: _Optional[str] = ..., currency_margin: _Optional[str] = ..., digits: _Optional[int] = ..., point: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., contract_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., tick_value: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., tick_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., spread: _Optional[int] = ..., stops_level: _Optional[int] = ..., freeze_level: _Optional[int] = ..., trade_mode: _Optional[_Union[SymbolTradeMode, str]] = ..., volume_min: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_max: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_step: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume_limit: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_initial: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_maintenance: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., swap_long: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., swap_short: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., triple_swap_day: _Optional[_Union[_dayofweek_pb2.DayOfWeek, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quote_sessions: _Optional[_Iterable[_Union[SymbolSession, _Mapping]]] = ..., trade_sessions: _Optional[_Iterable[_Union[SymbolSession, _Mapping]]] = ..., extra_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("group", "trade_server_id", "company", "currency", "currency_digits", "password_min_length", "margin_call", "margin_stop_out", "demo_leverage", "demo_deposit", "limit_orders", "limit_positions", "limit_symbols", "interest_rate", "symbol_paths", "extra_fields")
    class ExtraFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    GROUP_FIELD_NUMBER: _ClassVar[int]
    TRADE_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    MARGIN_STOP_OUT_FIELD_NUMBER: _ClassVar[int]
    DEMO_LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    DEMO_DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ORDERS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    INTEREST_RATE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_PATHS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELDS_FIELD_NUMBER: _ClassVar[int]
    group: str
    trade_server_id: int
    company: str
    currency: str
    currency_digits: int
    password_min_length: int
    margin_call: _decimal_pb2.Decimal
    margin_stop_out: _decimal_pb2.Decimal
    demo_leverage: int
    demo_deposit: _money_pb2.Money
    limit_orders: int
    limit_positions: int
    limit_symbols: int
    interest_rate: _decimal_pb2.Decimal
    symbol_paths: _containers.RepeatedScalarFieldContainer[str]
    extra_fields: _containers.ScalarMap[str, str]
    def __init__(self, group: _Optional[str] = ..., trade_server_id: _Optional[int] = ..., company: _Optional[str] = ..., currency: _Optional[str] = ..., currency_digits: _Optional[int] = ..., password_min_length: _Optional[int] = ..., margin_call: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_stop_out: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., demo_leverage: _Optional[int] = ..., demo_deposit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., limit_orders: _Optional[int] = ..., limit_positions: _Optional[int] = ..., limit_symbols: _Optional[int] = ..., interest_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., symbol_paths: _Optional[_Iterable[str]] = ..., extra_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...
