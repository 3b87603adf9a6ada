import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mt5gateway.v1 import server_pb2 as _server_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetServerTimeRequest(_message.Message):
    __slots__ = ("server",)
    SERVER_FIELD_NUMBER: _ClassVar[int]
    server: str
    def __init__(self, server: _Optional[str] = ...) -> None: ...

class GetServerTimeResponse(_message.Message):
    __slots__ = ("server_time", "time_config")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_CONFIG_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    time_config: _server_pb2.TimeConfig
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_config: _Optional[_Union[_server_pb2.TimeConfig, _Mapping]] = ...) -> None: ...

class GetCommonConfigRequest(_message.Message):
    __slots__ = ("server",)
    SERVER_FIELD_NUMBER: _ClassVar[int]
    server: str
    def __init__(self, server: _Optional[str] = ...) -> None: ...

class GetCommonConfigResponse(_message.Message):
    __slots__ = ("common_config",)
    COMMON_CONFIG_FIELD_NUMBER: _ClassVar[int]
    common_config: _server_pb2.CommonConfig
    def __init__(self, common_config: _Optional[_Union[_server_pb2.CommonConfig, _Mapping]] = ...) -> None: ...

class GetServerStatusRequest(_message.Message):
    __slots__ = ("server",)
    SERVER_FIELD_NUMBER: _ClassVar[int]
    server: str
    def __init__(self, server: _Optional[str] = ...) -> None: ...

class GetServerStatusResponse(_message.Message):
    __slots__ = ("server_status",)
    SERVER_STATUS_FIELD_NUMBER: _ClassVar[int]
    server_status: _server_pb2.ServerStatus
    def __init__(self, server_status: _Optional[_Union[_server_pb2.ServerStatus, _Mapping]] = ...) -> None: ...

class ListServersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListServersResponse(_message.Message):
    __slots__ = ("servers", "next_page_token")
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    servers: _containers.RepeatedCompositeFieldContainer[_server_pb2.ServerStatus]
    next_page_token: str
    def __init__(self, servers: _Optional[_Iterable[_Union[_server_pb2.ServerStatus, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
