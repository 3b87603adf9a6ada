import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAKER_STATE_UNSPECIFIED: _ClassVar[BreakerState]
    BREAKER_STATE_CLOSED: _ClassVar[BreakerState]
    BREAKER_STATE_OPEN: _ClassVar[BreakerState]
    BREAKER_STATE_HALF_OPEN: _ClassVar[BreakerState]
BREAKER_STATE_UNSPECIFIED: BreakerState
BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState

class CommonConfig(_message.Message):
    __slots__ = ("name", "full_name", "owner", "owner_id", "owner_host", "owner_email", "product", "license_expiration_time", "support_expiration_time", "limit_trade_servers", "limit_web_servers", "limit_accounts", "limit_deals", "limit_symbols", "limit_groups", "user_count", "real_user_count", "deal_count", "order_count", "history_order_count", "position_count", "account_url", "extra_fields")
    class ExtraFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_HOST_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    LICENSE_EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_TRADE_SERVERS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_WEB_SERVERS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DEALS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_GROUPS_FIELD_NUMBER: _ClassVar[int]
    USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    REAL_USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    POSITION_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_URL_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    full_name: str
    owner: str
    owner_id: str
    owner_host: str
    owner_email: str
    product: str
    license_expiration_time: _timestamp_pb2.Timestamp
    support_expiration_time: _timestamp_pb2.Timestamp
    limit_trade_servers: int
    limit_web_servers: int
    limit_accounts: int
    limit_deals: int
    limit_symbols: int
    limit_groups: int
    user_count: int
    real_user_count: int
    deal_count: int
    order_count: int
    history_order_count: int
    position_count: int
    account_url: str
    extra_fields: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., full_name: _Optional[str] = ..., owner: _Optional[str] = ..., owner_id: _Optional[str] = ..., owner_host: _Optional[str] = ..., owner_email: _Optional[str] = ..., product: _Optional[str] = ..., license_expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., support_expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit_trade_servers: _Optional[int] = ..., limit_web_servers: _Optional[int] = ..., limit_accounts: _Optional[int] = ..., limit_deals: _Optional[int] = ..., limit_symbols: _Optional[int] = ..., limit_groups: _Optional[int] = ..., user_count: _Optional[int] = ..., real_user_count: _Optional[int] = ..., deal_count: _Optional[int] = ..., order_count: _Optional[int] = ..., history_order_count: _Optional[int] = ..., position_count: _Optional[int] = ..., account_url: _Optional[str] = ..., extra_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TimeConfig(_message.Message):
    __slots__ = ("utc_offset", "daylight_saving", "daylight_saving_active", "time_server", "extra_fields")
    class ExtraFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UTC_OFFSET_FIELD_NUMBER: _ClassVar[int]
    DAYLIGHT_SAVING_FIELD_NUMBER: _ClassVar[int]
    DAYLIGHT_SAVING_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    TIME_SERVER_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELDS_FIELD_NUMBER: _ClassVar[int]
    utc_offset: _duration_pb2.Duration
    daylight_saving: bool
    daylight_saving_active: bool
    time_server: str
    extra_fields: _containers.ScalarMap[str, str]
    def __init__(self, utc_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., daylight_saving: _Optional[bool] = ..., daylight_saving_active: _Optional[bool] = ..., time_server: _Optional[str] = ..., extra_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ServerStatus(_message.Message):
    __slots__ = ("name", "default_server", "serving", "pool_size", "ready_session_count", "busy_session_count", "connecting_session_count", "broken_session_count", "waiting_request_count", "breaker_state", "last_error", "last_error_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SERVER_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    READY_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUSY_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONNECTING_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    BROKEN_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    WAITING_REQUEST_COUNT_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    default_server: bool
    serving: bool
    pool_size: int
    ready_session_count: int
    busy_session_count: int
    connecting_session_count: int
    broken_session_count: int
    waiting_request_count: int
    breaker_state: BreakerState
    last_error: str
    last_error_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., default_server: _Optional[bool] = ..., serving: _Optional[bool] = ..., pool_size: _Optional[int] = ..., ready_session_count: _Optional[int] = ..., busy_session_count: _Optional[int] = ..., connecting_session_count: _Optional[int] = ..., broken_session_count: _Optional[int] = ..., waiting_request_count: _Optional[int] = ..., breaker_state: _Optional[_Union[BreakerState, str]] = ..., last_error: _Optional[str] = ..., last_error_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
