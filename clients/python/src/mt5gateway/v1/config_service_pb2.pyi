from google.api import field_behavior_pb2 as _field_behavior_pb2
from mt5gateway.v1 import config_pb2 as _config_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListSymbolNamesRequest(_message.Message):
    __slots__ = ("server", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSymbolNamesResponse(_message.Message):
    __slots__ = ("symbols", "next_page_token", "total_size")
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    symbols: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    total_size: int
    def __init__(self, symbols: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListSymbolsRequest(_message.Message):
    __slots__ = ("server", "masks", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    MASKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    masks: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., masks: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSymbolsResponse(_message.Message):
    __slots__ = ("symbols", "next_page_token", "total_size")
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    symbols: _containers.RepeatedCompositeFieldContainer[_config_pb2.Symbol]
    next_page_token: str
    total_size: int
    def __init__(self, symbols: _Optional[_Iterable[_Union[_config_pb2.Symbol, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetSymbolRequest(_message.Message):
    __slots__ = ("server", "symbol")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbol: str
    def __init__(self, server: _Optional[str] = ..., symbol: _Optional[str] = ...) -> None: ...

class GetSymbolResponse(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: _config_pb2.Symbol
    def __init__(self, symbol: _Optional[_Union[_config_pb2.Symbol, _Mapping]] = ...) -> None: ...

class BatchGetSymbolsRequest(_message.Message):
    __slots__ = ("server", "symbols")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, server: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetSymbolsResponse(_message.Message):
    __slots__ = ("symbols",)
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    symbols: _containers.RepeatedCompositeFieldContainer[_config_pb2.Symbol]
    def __init__(self, symbols: _Optional[_Iterable[_Union[_config_pb2.Symbol, _Mapping]]] = ...) -> None: ...

class GetGroupSymbolRequest(_message.Message):
    __slots__ = ("server", "symbol", "group")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    server: str
    symbol: str
    group: str
    def __init__(self, server: _Optional[str] = ..., symbol: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class GetGroupSymbolResponse(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: _config_pb2.Symbol
    def __init__(self, symbol: _Optional[_Union[_config_pb2.Symbol, _Mapping]] = ...) -> None: ...

class ListGroupNamesRequest(_message.Message):
    __slots__ = ("server", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGroupNamesResponse(_message.Message):
    __slots__ = ("groups", "next_page_token", "total_size")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    total_size: int
    def __init__(self, groups: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("server", "masks", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    MASKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    masks: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., masks: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token", "total_size")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[_config_pb2.Group]
    next_page_token: str
    total_size: int
    def __init__(self, groups: _Optional[_Iterable[_Union[_config_pb2.Group, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("server", "group")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    server: str
    group: str
    def __init__(self, server: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class GetGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: _config_pb2.Group
    def __init__(self, group: _Optional[_Union[_config_pb2.Group, _Mapping]] = ...) -> None: ...
