import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mt5gateway.v1 import quote_pb2 as _quote_pb2
from mt5gateway.v1 import stream_pb2 as _stream_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListQuotesRequest(_message.Message):
    __slots__ = ("server", "symbols", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQuotesResponse(_message.Message):
    __slots__ = ("quotes", "next_page_token")
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    quotes: _containers.RepeatedCompositeFieldContainer[_quote_pb2.Quote]
    next_page_token: str
    def __init__(self, quotes: _Optional[_Iterable[_Union[_quote_pb2.Quote, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListGroupQuotesRequest(_message.Message):
    __slots__ = ("server", "group", "symbols", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    group: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., group: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGroupQuotesResponse(_message.Message):
    __slots__ = ("quotes", "next_page_token")
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    quotes: _containers.RepeatedCompositeFieldContainer[_quote_pb2.Quote]
    next_page_token: str
    def __init__(self, quotes: _Optional[_Iterable[_Union[_quote_pb2.Quote, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListQuoteStatsRequest(_message.Message):
    __slots__ = ("server", "symbols", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQuoteStatsResponse(_message.Message):
    __slots__ = ("quote_stats", "next_page_token")
    QUOTE_STATS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    quote_stats: _containers.RepeatedCompositeFieldContainer[_quote_pb2.QuoteStats]
    next_page_token: str
    def __init__(self, quote_stats: _Optional[_Iterable[_Union[_quote_pb2.QuoteStats, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTickHistoryRequest(_message.Message):
    __slots__ = ("server", "symbol", "start_time", "end_time", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbol: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., symbol: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTickHistoryResponse(_message.Message):
    __slots__ = ("ticks", "next_page_token")
    TICKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ticks: _containers.RepeatedCompositeFieldContainer[_quote_pb2.HistoryTick]
    next_page_token: str
    def __init__(self, ticks: _Optional[_Iterable[_Union[_quote_pb2.HistoryTick, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListBarsRequest(_message.Message):
    __slots__ = ("server", "symbol", "start_time", "end_time", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbol: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., symbol: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBarsResponse(_message.Message):
    __slots__ = ("bars", "next_page_token")
    BARS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    bars: _containers.RepeatedCompositeFieldContainer[_quote_pb2.Bar]
    next_page_token: str
    def __init__(self, bars: _Optional[_Iterable[_Union[_quote_pb2.Bar, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamQuotesRequest(_message.Message):
    __slots__ = ("server", "symbols", "group", "min_interval")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    group: str
    min_interval: _duration_pb2.Duration
    def __init__(self, server: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., min_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StreamQuotesResponse(_message.Message):
    __slots__ = ("quote", "heartbeat", "snapshot_complete", "send_time", "sequence")
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    quote: _quote_pb2.Quote
    heartbeat: _stream_pb2.Heartbeat
    snapshot_complete: _stream_pb2.SnapshotComplete
    send_time: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, quote: _Optional[_Union[_quote_pb2.Quote, _Mapping]] = ..., heartbeat: _Optional[_Union[_stream_pb2.Heartbeat, _Mapping]] = ..., snapshot_complete: _Optional[_Union[_stream_pb2.SnapshotComplete, _Mapping]] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...
