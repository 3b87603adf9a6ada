import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import decimal_pb2 as _decimal_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PositionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSITION_TYPE_UNSPECIFIED: _ClassVar[PositionType]
    POSITION_TYPE_BUY: _ClassVar[PositionType]
    POSITION_TYPE_SELL: _ClassVar[PositionType]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_BUY: _ClassVar[OrderType]
    ORDER_TYPE_SELL: _ClassVar[OrderType]
    ORDER_TYPE_BUY_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_SELL_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_BUY_STOP: _ClassVar[OrderType]
    ORDER_TYPE_SELL_STOP: _ClassVar[OrderType]
    ORDER_TYPE_BUY_STOP_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_SELL_STOP_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_CLOSE_BY: _ClassVar[OrderType]

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_UNSPECIFIED: _ClassVar[OrderState]
    ORDER_STATE_STARTED: _ClassVar[OrderState]
    ORDER_STATE_PLACED: _ClassVar[OrderState]
    ORDER_STATE_CANCELED: _ClassVar[OrderState]
    ORDER_STATE_PARTIAL: _ClassVar[OrderState]
    ORDER_STATE_FILLED: _ClassVar[OrderState]
    ORDER_STATE_REJECTED: _ClassVar[OrderState]
    ORDER_STATE_EXPIRED: _ClassVar[OrderState]
    ORDER_STATE_REQUEST_ADD: _ClassVar[OrderState]
    ORDER_STATE_REQUEST_MODIFY: _ClassVar[OrderState]
    ORDER_STATE_REQUEST_CANCEL: _ClassVar[OrderState]

class OrderFilling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_FILLING_UNSPECIFIED: _ClassVar[OrderFilling]
    ORDER_FILLING_FOK: _ClassVar[OrderFilling]
    ORDER_FILLING_IOC: _ClassVar[OrderFilling]
    ORDER_FILLING_RETURN: _ClassVar[OrderFilling]

class OrderTime(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TIME_UNSPECIFIED: _ClassVar[OrderTime]
    ORDER_TIME_GTC: _ClassVar[OrderTime]
    ORDER_TIME_DAY: _ClassVar[OrderTime]
    ORDER_TIME_SPECIFIED: _ClassVar[OrderTime]
    ORDER_TIME_SPECIFIED_DAY: _ClassVar[OrderTime]

class ActivationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVATION_MODE_UNSPECIFIED: _ClassVar[ActivationMode]
    ACTIVATION_MODE_NONE: _ClassVar[ActivationMode]
    ACTIVATION_MODE_STOP_LOSS: _ClassVar[ActivationMode]
    ACTIVATION_MODE_TAKE_PROFIT: _ClassVar[ActivationMode]
    ACTIVATION_MODE_STOP_OUT: _ClassVar[ActivationMode]
    ACTIVATION_MODE_PENDING: _ClassVar[ActivationMode]
    ACTIVATION_MODE_STOP_LIMIT: _ClassVar[ActivationMode]
    ACTIVATION_MODE_EXPIRATION: _ClassVar[ActivationMode]

class TradeReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRADE_REASON_UNSPECIFIED: _ClassVar[TradeReason]
    TRADE_REASON_CLIENT: _ClassVar[TradeReason]
    TRADE_REASON_EXPERT: _ClassVar[TradeReason]
    TRADE_REASON_DEALER: _ClassVar[TradeReason]
    TRADE_REASON_STOP_LOSS: _ClassVar[TradeReason]
    TRADE_REASON_TAKE_PROFIT: _ClassVar[TradeReason]
    TRADE_REASON_STOP_OUT: _ClassVar[TradeReason]
    TRADE_REASON_ROLLOVER: _ClassVar[TradeReason]
    TRADE_REASON_EXTERNAL_CLIENT: _ClassVar[TradeReason]
    TRADE_REASON_VMARGIN: _ClassVar[TradeReason]
    TRADE_REASON_GATEWAY: _ClassVar[TradeReason]
    TRADE_REASON_SIGNAL: _ClassVar[TradeReason]
    TRADE_REASON_SETTLEMENT: _ClassVar[TradeReason]
    TRADE_REASON_TRANSFER: _ClassVar[TradeReason]
    TRADE_REASON_SYNC: _ClassVar[TradeReason]
    TRADE_REASON_EXTERNAL_SERVICE: _ClassVar[TradeReason]
    TRADE_REASON_MIGRATION: _ClassVar[TradeReason]
    TRADE_REASON_MOBILE: _ClassVar[TradeReason]
    TRADE_REASON_WEB: _ClassVar[TradeReason]
    TRADE_REASON_SPLIT: _ClassVar[TradeReason]

class DealAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEAL_ACTION_UNSPECIFIED: _ClassVar[DealAction]
    DEAL_ACTION_BUY: _ClassVar[DealAction]
    DEAL_ACTION_SELL: _ClassVar[DealAction]
    DEAL_ACTION_BALANCE: _ClassVar[DealAction]
    DEAL_ACTION_CREDIT: _ClassVar[DealAction]
    DEAL_ACTION_CHARGE: _ClassVar[DealAction]
    DEAL_ACTION_CORRECTION: _ClassVar[DealAction]
    DEAL_ACTION_BONUS: _ClassVar[DealAction]
    DEAL_ACTION_COMMISSION: _ClassVar[DealAction]
    DEAL_ACTION_COMMISSION_DAILY: _ClassVar[DealAction]
    DEAL_ACTION_COMMISSION_MONTHLY: _ClassVar[DealAction]
    DEAL_ACTION_AGENT_DAILY: _ClassVar[DealAction]
    DEAL_ACTION_AGENT_MONTHLY: _ClassVar[DealAction]
    DEAL_ACTION_INTEREST_RATE: _ClassVar[DealAction]
    DEAL_ACTION_BUY_CANCELED: _ClassVar[DealAction]
    DEAL_ACTION_SELL_CANCELED: _ClassVar[DealAction]
    DEAL_ACTION_DIVIDEND: _ClassVar[DealAction]
    DEAL_ACTION_DIVIDEND_FRANKED: _ClassVar[DealAction]
    DEAL_ACTION_TAX: _ClassVar[DealAction]
    DEAL_ACTION_AGENT: _ClassVar[DealAction]
    DEAL_ACTION_SO_COMPENSATION: _ClassVar[DealAction]

class DealEntry(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEAL_ENTRY_UNSPECIFIED: _ClassVar[DealEntry]
    DEAL_ENTRY_IN: _ClassVar[DealEntry]
    DEAL_ENTRY_OUT: _ClassVar[DealEntry]
    DEAL_ENTRY_IN_OUT: _ClassVar[DealEntry]
    DEAL_ENTRY_OUT_BY: _ClassVar[DealEntry]

class BalanceOperationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BALANCE_OPERATION_TYPE_UNSPECIFIED: _ClassVar[BalanceOperationType]
    BALANCE_OPERATION_TYPE_BALANCE: _ClassVar[BalanceOperationType]
    BALANCE_OPERATION_TYPE_CREDIT: _ClassVar[BalanceOperationType]
    BALANCE_OPERATION_TYPE_CHARGE: _ClassVar[BalanceOperationType]
    BALANCE_OPERATION_TYPE_CORRECTION: _ClassVar[BalanceOperationType]
    BALANCE_OPERATION_TYPE_BONUS: _ClassVar[BalanceOperationType]
POSITION_TYPE_UNSPECIFIED: PositionType
POSITION_TYPE_BUY: PositionType
POSITION_TYPE_SELL: PositionType
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_BUY: OrderType
ORDER_TYPE_SELL: OrderType
ORDER_TYPE_BUY_LIMIT: OrderType
ORDER_TYPE_SELL_LIMIT: OrderType
ORDER_TYPE_BUY_STOP: OrderType
ORDER_TYPE_SELL_STOP: OrderType
ORDER_TYPE_BUY_STOP_LIMIT: OrderType
ORDER_TYPE_SELL_STOP_LIMIT: OrderType
ORDER_TYPE_CLOSE_BY: OrderType
ORDER_STATE_UNSPECIFIED: OrderState
ORDER_STATE_STARTED: OrderState
ORDER_STATE_PLACED: OrderState
ORDER_STATE_CANCELED: OrderState
ORDER_STATE_PARTIAL: OrderState
ORDER_STATE_FILLED: OrderState
ORDER_STATE_REJECTED: OrderState
ORDER_STATE_EXPIRED: OrderState
ORDER_STATE_REQUEST_ADD: OrderState
ORDER_STATE_REQUEST_MODIFY: OrderState
ORDER_STATE_REQUEST_CANCEL: OrderState
ORDER_FILLING_UNSPECIFIED: OrderFilling
ORDER_FILLING_FOK: OrderFilling
ORDER_FILLING_IOC: OrderFilling
ORDER_FILLING_RETURN: OrderFilling
ORDER_TIME_UNSPECIFIED: OrderTime
ORDER_TIME_GTC: OrderTime
ORDER_TIME_DAY: OrderTime
ORDER_TIME_SPECIFIED: OrderTime
ORDER_TIME_SPECIFIED_DAY: OrderTime
ACTIVATION_MODE_UNSPECIFIED: ActivationMode
ACTIVATION_MODE_NONE: ActivationMode
ACTIVATION_MODE_STOP_LOSS: ActivationMode
ACTIVATION_MODE_TAKE_PROFIT: ActivationMode
ACTIVATION_MODE_STOP_OUT: ActivationMode
ACTIVATION_MODE_PENDING: ActivationMode
ACTIVATION_MODE_STOP_LIMIT: ActivationMode
ACTIVATION_MODE_EXPIRATION: ActivationMode
TRADE_REASON_UNSPECIFIED: TradeReason
TRADE_REASON_CLIENT: TradeReason
TRADE_REASON_EXPERT: TradeReason
TRADE_REASON_DEALER: TradeReason
TRADE_REASON_STOP_LOSS: TradeReason
TRADE_REASON_TAKE_PROFIT: TradeReason
TRADE_REASON_STOP_OUT: TradeReason
TRADE_REASON_ROLLOVER: TradeReason
TRADE_REASON_EXTERNAL_CLIENT: TradeReason
TRADE_REASON_VMARGIN: TradeReason
TRADE_REASON_GATEWAY: TradeReason
TRADE_REASON_SIGNAL: TradeReason
TRADE_REASON_SETTLEMENT: TradeReason
TRADE_REASON_TRANSFER: TradeReason
TRADE_REASON_SYNC: TradeReason
TRADE_REASON_EXTERNAL_SERVICE: TradeReason
TRADE_REASON_MIGRATION: TradeReason
TRADE_REASON_MOBILE: TradeReason
TRADE_REASON_WEB: TradeReason
TRADE_REASON_SPLIT: TradeReason
DEAL_ACTION_UNSPECIFIED: DealAction
DEAL_ACTION_BUY: DealAction
DEAL_ACTION_SELL: DealAction
DEAL_ACTION_BALANCE: DealAction
DEAL_ACTION_CREDIT: DealAction
DEAL_ACTION_CHARGE: DealAction
DEAL_ACTION_CORRECTION: DealAction
DEAL_ACTION_BONUS: DealAction
DEAL_ACTION_COMMISSION: DealAction
DEAL_ACTION_COMMISSION_DAILY: DealAction
DEAL_ACTION_COMMISSION_MONTHLY: DealAction
DEAL_ACTION_AGENT_DAILY: DealAction
DEAL_ACTION_AGENT_MONTHLY: DealAction
DEAL_ACTION_INTEREST_RATE: DealAction
DEAL_ACTION_BUY_CANCELED: DealAction
DEAL_ACTION_SELL_CANCELED: DealAction
DEAL_ACTION_DIVIDEND: DealAction
DEAL_ACTION_DIVIDEND_FRANKED: DealAction
DEAL_ACTION_TAX: DealAction
DEAL_ACTION_AGENT: DealAction
DEAL_ACTION_SO_COMPENSATION: DealAction
DEAL_ENTRY_UNSPECIFIED: DealEntry
DEAL_ENTRY_IN: DealEntry
DEAL_ENTRY_OUT: DealEntry
DEAL_ENTRY_IN_OUT: DealEntry
DEAL_ENTRY_OUT_BY: DealEntry
BALANCE_OPERATION_TYPE_UNSPECIFIED: BalanceOperationType
BALANCE_OPERATION_TYPE_BALANCE: BalanceOperationType
BALANCE_OPERATION_TYPE_CREDIT: BalanceOperationType
BALANCE_OPERATION_TYPE_CHARGE: BalanceOperationType
BALANCE_OPERATION_TYPE_CORRECTION: BalanceOperationType
BALANCE_OPERATION_TYPE_BONUS: BalanceOperationType

class Position(_message.Message):
    __slots__ = ("ticket", "external_id", "login", "dealer", "symbol", "type", "digits", "currency_digits", "contract_size", "create_time", "update_time", "open_price", "current_price", "stop_loss", "take_profit", "volume", "profit", "storage", "profit_rate", "margin_rate", "expert_id", "expert_position_id", "comment", "activation_mode", "activation_time", "activation_price", "activation_flags", "modification_flags", "reason")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    DEALER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    OPEN_PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PROFIT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    PROFIT_RATE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_RATE_FIELD_NUMBER: _ClassVar[int]
    EXPERT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERT_POSITION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_MODE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_PRICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FLAGS_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_FLAGS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ticket: int
    external_id: str
    login: int
    dealer: int
    symbol: str
    type: PositionType
    digits: int
    currency_digits: int
    contract_size: _decimal_pb2.Decimal
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    open_price: _decimal_pb2.Decimal
    current_price: _decimal_pb2.Decimal
    stop_loss: _decimal_pb2.Decimal
    take_profit: _decimal_pb2.Decimal
    volume: _decimal_pb2.Decimal
    profit: _money_pb2.Money
    storage: _money_pb2.Money
    profit_rate: _decimal_pb2.Decimal
    margin_rate: _decimal_pb2.Decimal
    expert_id: int
    expert_position_id: int
    comment: str
    activation_mode: ActivationMode
    activation_time: _timestamp_pb2.Timestamp
    activation_price: _decimal_pb2.Decimal
    activation_flags: int
    modification_flags: int
    reason: TradeReason
    def __init__(self, ticket: _Optional[int] = ..., external_id: _Optional[str] = ..., login: _Optional[int] = ..., dealer: _Optional[int] = ..., symbol: _Optional[str] = ..., type: _Optional[_Union[PositionType, str]] = ..., digits: _Optional[int] = ..., currency_digits: _Optional[int] = ..., contract_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., current_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., stop_loss: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., take_profit: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., profit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., storage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., profit_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., expert_id: _Optional[int] = ..., expert_position_id: _Optional[int] = ..., comment: _Optional[str] = ..., activation_mode: _Optional[_Union[ActivationMode, str]] = ..., activation_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activation_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., activation_flags: _Optional[int] = ..., modification_flags: _Optional[int] = ..., reason: _Optional[_Union[TradeReason, str]] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("ticket", "external_id", "login", "dealer", "symbol", "digits", "currency_digits", "contract_size", "state", "reason", "setup_time", "expiration_time", "done_time", "type", "filling", "time_type", "order_price", "trigger_price", "current_price", "stop_loss", "take_profit", "initial_volume", "current_volume", "expert_id", "position_id", "position_by_id", "comment", "activation_mode", "activation_time", "activation_price", "activation_flags", "margin_rate", "modification_flags")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    DEALER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_SIZE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SETUP_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    DONE_TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FILLING_FIELD_NUMBER: _ClassVar[int]
    TIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_VOLUME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VOLUME_FIELD_NUMBER: _ClassVar[int]
    EXPERT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_BY_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_MODE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_PRICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FLAGS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_RATE_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_FLAGS_FIELD_NUMBER: _ClassVar[int]
    ticket: int
    external_id: str
    login: int
    dealer: int
    symbol: str
    digits: int
    currency_digits: int
    contract_size: _decimal_pb2.Decimal
    state: OrderState
    reason: TradeReason
    setup_time: _timestamp_pb2.Timestamp
    expiration_time: _timestamp_pb2.Timestamp
    done_time: _timestamp_pb2.Timestamp
    type: OrderType
    filling: OrderFilling
    time_type: OrderTime
    order_price: _decimal_pb2.Decimal
    trigger_price: _decimal_pb2.Decimal
    current_price: _decimal_pb2.Decimal
    stop_loss: _decimal_pb2.Decimal
    take_profit: _decimal_pb2.Decimal
    initial_volume: _decimal_pb2.Decimal
    current_volume: _decimal_pb2.Decimal
    expert_id: int
    position_id: int
    position_by_id: int
    comment: str
    activation_mode: ActivationMode
    activation_time: _timestamp_pb2.Timestamp
    activation_price: _decimal_pb2.Decimal
    activation_flags: int
    margin_rate: _decimal_pb2.Decimal
    modification_flags: int
    def __init__(self, ticket: _Optional[int] = ..., external_id: _Optional[str] = ..., login: _Optional[int] = ..., dealer: _Optional[int] = ..., symbol: _Optional[str] = ..., digits: _Optional[int] = ..., currency_digits: _Optional[int] = ..., contract_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., state: _Optional[_Union[OrderState, str]] = ..., reason: _Optional[_Union[TradeReason, str]] = ..., setup_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., done_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[OrderType, str]] = ..., filling: _Optional[_Union[OrderFilling, str]] = ..., time_type: _Optional[_Union[OrderTime, str]] = ..., order_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., trigger_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., current_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., stop_loss: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., take_profit: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., initial_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., current_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., expert_id: _Optional[int] = ..., position_id: _Optional[int] = ..., position_by_id: _Optional[int] = ..., comment: _Optional[str] = ..., activation_mode: _Optional[_Union[ActivationMode, str]] = ..., activation_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activation_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., activation_flags: _Optional[int] = ..., margin_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., modification_flags: _Optional[int] = ...) -> None: ...

class Deal(_message.Message):
    __slots__ = ("ticket", "external_id", "login", "dealer", "order_ticket", "action", "entry", "reason", "digits", "currency_digits", "contract_size", "execute_time", "symbol", "price", "stop_loss", "take_profit", "volume", "closed_volume", "profit", "value", "storage", "commission", "fee", "profit_rate", "margin_rate", "expert_id", "position_id", "comment", "raw_profit", "position_price", "tick_value", "tick_size", "flags", "gateway", "gateway_price", "market_bid", "market_ask", "market_last", "modification_flags")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    DEALER_FIELD_NUMBER: _ClassVar[int]
    ORDER_TICKET_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_SIZE_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    CLOSED_VOLUME_FIELD_NUMBER: _ClassVar[int]
    PROFIT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    PROFIT_RATE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_RATE_FIELD_NUMBER: _ClassVar[int]
    EXPERT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    RAW_PROFIT_FIELD_NUMBER: _ClassVar[int]
    POSITION_PRICE_FIELD_NUMBER: _ClassVar[int]
    TICK_VALUE_FIELD_NUMBER: _ClassVar[int]
    TICK_SIZE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARKET_BID_FIELD_NUMBER: _ClassVar[int]
    MARKET_ASK_FIELD_NUMBER: _ClassVar[int]
    MARKET_LAST_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_FLAGS_FIELD_NUMBER: _ClassVar[int]
    ticket: int
    external_id: str
    login: int
    dealer: int
    order_ticket: int
    action: DealAction
    entry: DealEntry
    reason: TradeReason
    digits: int
    currency_digits: int
    contract_size: _decimal_pb2.Decimal
    execute_time: _timestamp_pb2.Timestamp
    symbol: str
    price: _decimal_pb2.Decimal
    stop_loss: _decimal_pb2.Decimal
    take_profit: _decimal_pb2.Decimal
    volume: _decimal_pb2.Decimal
    closed_volume: _decimal_pb2.Decimal
    profit: _money_pb2.Money
    value: _money_pb2.Money
    storage: _money_pb2.Money
    commission: _money_pb2.Money
    fee: _money_pb2.Money
    profit_rate: _decimal_pb2.Decimal
    margin_rate: _decimal_pb2.Decimal
    expert_id: int
    position_id: int
    comment: str
    raw_profit: _decimal_pb2.Decimal
    position_price: _decimal_pb2.Decimal
    tick_value: _decimal_pb2.Decimal
    tick_size: _decimal_pb2.Decimal
    flags: int
    gateway: str
    gateway_price: _decimal_pb2.Decimal
    market_bid: _decimal_pb2.Decimal
    market_ask: _decimal_pb2.Decimal
    market_last: _decimal_pb2.Decimal
    modification_flags: int
    def __init__(self, ticket: _Optional[int] = ..., external_id: _Optional[str] = ..., login: _Optional[int] = ..., dealer: _Optional[int] = ..., order_ticket: _Optional[int] = ..., action: _Optional[_Union[DealAction, str]] = ..., entry: _Optional[_Union[DealEntry, str]] = ..., reason: _Optional[_Union[TradeReason, str]] = ..., digits: _Optional[int] = ..., currency_digits: _Optional[int] = ..., contract_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., execute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., symbol: _Optional[str] = ..., price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., stop_loss: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., take_profit: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., closed_volume: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., profit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., storage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., commission: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., fee: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., profit_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., expert_id: _Optional[int] = ..., position_id: _Optional[int] = ..., comment: _Optional[str] = ..., raw_profit: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., position_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., tick_value: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., tick_size: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., flags: _Optional[int] = ..., gateway: _Optional[str] = ..., gateway_price: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., market_bid: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., market_ask: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., market_last: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., modification_flags: _Optional[int] = ...) -> None: ...

class BalanceOperation(_message.Message):
    __slots__ = ("login", "type", "amount", "comment", "deal_ticket", "create_time", "request_id", "margin_checked")
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DEAL_TICKET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CHECKED_FIELD_NUMBER: _ClassVar[int]
    login: int
    type: BalanceOperationType
    amount: _money_pb2.Money
    comment: str
    deal_ticket: int
    create_time: _timestamp_pb2.Timestamp
    request_id: str
    margin_checked: bool
    def __init__(self, login: _Optional[int] = ..., type: _Optional[_Union[BalanceOperationType, str]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., comment: _Optional[str] = ..., deal_ticket: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., margin_checked: _Optional[bool] = ...) -> None: ...
