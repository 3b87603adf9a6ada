from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from mt5gateway.v1 import user_pb2 as _user_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateUserRequest(_message.Message):
    __slots__ = ("server", "request_id", "user", "main_password", "investor_password")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    MAIN_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    INVESTOR_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    server: str
    request_id: str
    user: _user_pb2.User
    main_password: str
    investor_password: str
    def __init__(self, server: _Optional[str] = ..., request_id: _Optional[str] = ..., user: _Optional[_Union[_user_pb2.User, _Mapping]] = ..., main_password: _Optional[str] = ..., investor_password: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("server", "login")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    server: str
    login: int
    def __init__(self, server: _Optional[str] = ..., login: _Optional[int] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("server", "request_id", "user", "update_mask")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    server: str
    request_id: str
    user: _user_pb2.User
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, server: _Optional[str] = ..., request_id: _Optional[str] = ..., user: _Optional[_Union[_user_pb2.User, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("server", "request_id", "login")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    server: str
    request_id: str
    login: int
    def __init__(self, server: _Optional[str] = ..., request_id: _Optional[str] = ..., login: _Optional[int] = ...) -> None: ...

class DeleteUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BatchGetUsersRequest(_message.Message):
    __slots__ = ("server", "logins", "groups", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGINS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    logins: _containers.RepeatedScalarFieldContainer[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., logins: _Optional[_Iterable[int]] = ..., groups: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class BatchGetUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_user_pb2.User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[_user_pb2.User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUserLoginsRequest(_message.Message):
    __slots__ = ("server", "groups", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserLoginsResponse(_message.Message):
    __slots__ = ("logins", "next_page_token")
    LOGINS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    logins: _containers.RepeatedScalarFieldContainer[int]
    next_page_token: str
    def __init__(self, logins: _Optional[_Iterable[int]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUserGroupRequest(_message.Message):
    __slots__ = ("server", "login")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    server: str
    login: int
    def __init__(self, server: _Optional[str] = ..., login: _Optional[int] = ...) -> None: ...

class GetUserGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class CheckUserPasswordRequest(_message.Message):
    __slots__ = ("server", "login", "password_type", "password")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    server: str
    login: int
    password_type: _user_pb2.PasswordType
    password: str
    def __init__(self, server: _Optional[str] = ..., login: _Optional[int] = ..., password_type: _Optional[_Union[_user_pb2.PasswordType, str]] = ..., password: _Optional[str] = ...) -> None: ...

class CheckUserPasswordResponse(_message.Message):
    __slots__ = ("valid",)
    VALID_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    def __init__(self, valid: _Optional[bool] = ...) -> None: ...

class ChangeUserPasswordRequest(_message.Message):
    __slots__ = ("server", "request_id", "login", "password_type", "new_password")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    server: str
    request_id: str
    login: int
    password_type: _user_pb2.PasswordType
    new_password: str
    def __init__(self, server: _Optional[str] = ..., request_id: _Optional[str] = ..., login: _Optional[int] = ..., password_type: _Optional[_Union[_user_pb2.PasswordType, str]] = ..., new_password: _Optional[str] = ...) -> None: ...

class ChangeUserPasswordResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("server", "login")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    server: str
    login: int
    def __init__(self, server: _Optional[str] = ..., login: _Optional[int] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _user_pb2.Account
    def __init__(self, account: _Optional[_Union[_user_pb2.Account, _Mapping]] = ...) -> None: ...

class BatchGetAccountsRequest(_message.Message):
    __slots__ = ("server", "logins", "groups", "page_size", "page_token")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    LOGINS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    server: str
    logins: _containers.RepeatedScalarFieldContainer[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, server: _Optional[str] = ..., logins: _Optional[_Iterable[int]] = ..., groups: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class BatchGetAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[_user_pb2.Account]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[_user_pb2.Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUserCountRequest(_message.Message):
    __slots__ = ("server",)
    SERVER_FIELD_NUMBER: _ClassVar[int]
    server: str
    def __init__(self, server: _Optional[str] = ...) -> None: ...

class GetUserCountResponse(_message.Message):
    __slots__ = ("user_count",)
    USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    user_count: int
    def __init__(self, user_count: _Optional[int] = ...) -> None: ...
