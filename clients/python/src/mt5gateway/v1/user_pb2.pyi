import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import decimal_pb2 as _decimal_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserRight(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_RIGHT_UNSPECIFIED: _ClassVar[UserRight]
    USER_RIGHT_ENABLED: _ClassVar[UserRight]
    USER_RIGHT_PASSWORD: _ClassVar[UserRight]
    USER_RIGHT_TRADE_DISABLED: _ClassVar[UserRight]
    USER_RIGHT_INVESTOR: _ClassVar[UserRight]
    USER_RIGHT_CONFIRMED: _ClassVar[UserRight]
    USER_RIGHT_TRAILING: _ClassVar[UserRight]
    USER_RIGHT_EXPERT: _ClassVar[UserRight]
    USER_RIGHT_OBSOLETE: _ClassVar[UserRight]
    USER_RIGHT_REPORTS: _ClassVar[UserRight]
    USER_RIGHT_READONLY: _ClassVar[UserRight]
    USER_RIGHT_RESET_PASSWORD: _ClassVar[UserRight]
    USER_RIGHT_OTP_ENABLED: _ClassVar[UserRight]
    USER_RIGHT_SPONSORED_HOSTING: _ClassVar[UserRight]
    USER_RIGHT_API_ENABLED: _ClassVar[UserRight]
    USER_RIGHT_PUSH_NOTIFICATION: _ClassVar[UserRight]
    USER_RIGHT_TECHNICAL: _ClassVar[UserRight]
    USER_RIGHT_EXCLUDE_REPORTS: _ClassVar[UserRight]

class PasswordType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PASSWORD_TYPE_UNSPECIFIED: _ClassVar[PasswordType]
    PASSWORD_TYPE_MAIN: _ClassVar[PasswordType]
    PASSWORD_TYPE_INVESTOR: _ClassVar[PasswordType]
    PASSWORD_TYPE_API: _ClassVar[PasswordType]

class SoActivation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SO_ACTIVATION_UNSPECIFIED: _ClassVar[SoActivation]
    SO_ACTIVATION_NONE: _ClassVar[SoActivation]
    SO_ACTIVATION_MARGIN_CALL: _ClassVar[SoActivation]
    SO_ACTIVATION_STOP_OUT: _ClassVar[SoActivation]
USER_RIGHT_UNSPECIFIED: UserRight
USER_RIGHT_ENABLED: UserRight
USER_RIGHT_PASSWORD: UserRight
USER_RIGHT_TRADE_DISABLED: UserRight
USER_RIGHT_INVESTOR: UserRight
USER_RIGHT_CONFIRMED: UserRight
USER_RIGHT_TRAILING: UserRight
USER_RIGHT_EXPERT: UserRight
USER_RIGHT_OBSOLETE: UserRight
USER_RIGHT_REPORTS: UserRight
USER_RIGHT_READONLY: UserRight
USER_RIGHT_RESET_PASSWORD: UserRight
USER_RIGHT_OTP_ENABLED: UserRight
USER_RIGHT_SPONSORED_HOSTING: UserRight
USER_RIGHT_API_ENABLED: UserRight
USER_RIGHT_PUSH_NOTIFICATION: UserRight
USER_RIGHT_TECHNICAL: UserRight
USER_RIGHT_EXCLUDE_REPORTS: UserRight
PASSWORD_TYPE_UNSPECIFIED: PasswordType
PASSWORD_TYPE_MAIN: PasswordType
PASSWORD_TYPE_INVESTOR: PasswordType
PASSWORD_TYPE_API: PasswordType
SO_ACTIVATION_UNSPECIFIED: SoActivation
SO_ACTIVATION_NONE: SoActivation
SO_ACTIVATION_MARGIN_CALL: SoActivation
SO_ACTIVATION_STOP_OUT: SoActivation

class User(_message.Message):
    __slots__ = ("login", "group", "rights", "rights_mask", "name", "first_name", "last_name", "middle_name", "company", "bank_account", "country", "city", "state", "zip_code", "address", "phone", "email", "document_id", "status", "comment", "language", "color", "leverage", "agent", "mqid", "client_id", "lead_source", "lead_campaign", "trade_accounts", "limit_orders", "limit_positions", "registration_time", "last_access_time", "last_password_change_time", "last_ip", "cert_serial_number", "balance", "credit", "interest_rate", "commission_daily", "commission_monthly", "agent_commission_daily", "agent_commission_monthly", "balance_prev_day", "balance_prev_month", "equity_prev_day", "equity_prev_month", "currency_digits")
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    RIGHTS_FIELD_NUMBER: _ClassVar[int]
    RIGHTS_MASK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    MIDDLE_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ZIP_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    MQID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LEAD_CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    TRADE_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ORDERS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ACCESS_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_PASSWORD_CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_IP_FIELD_NUMBER: _ClassVar[int]
    CERT_SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_RATE_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_DAILY_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_MONTHLY_FIELD_NUMBER: _ClassVar[int]
    AGENT_COMMISSION_DAILY_FIELD_NUMBER: _ClassVar[int]
    AGENT_COMMISSION_MONTHLY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PREV_DAY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PREV_MONTH_FIELD_NUMBER: _ClassVar[int]
    EQUITY_PREV_DAY_FIELD_NUMBER: _ClassVar[int]
    EQUITY_PREV_MONTH_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    login: int
    group: str
    rights: _containers.RepeatedScalarFieldContainer[UserRight]
    rights_mask: int
    name: str
    first_name: str
    last_name: str
    middle_name: str
    company: str
    bank_account: str
    country: str
    city: str
    state: str
    zip_code: str
    address: str
    phone: str
    email: str
    document_id: str
    status: str
    comment: str
    language: int
    color: int
    leverage: int
    agent: int
    mqid: str
    client_id: int
    lead_source: str
    lead_campaign: str
    trade_accounts: str
    limit_orders: int
    limit_positions: int
    registration_time: _timestamp_pb2.Timestamp
    last_access_time: _timestamp_pb2.Timestamp
    last_password_change_time: _timestamp_pb2.Timestamp
    last_ip: str
    cert_serial_number: int
    balance: _money_pb2.Money
    credit: _money_pb2.Money
    interest_rate: _decimal_pb2.Decimal
    commission_daily: _money_pb2.Money
    commission_monthly: _money_pb2.Money
    agent_commission_daily: _money_pb2.Money
    agent_commission_monthly: _money_pb2.Money
    balance_prev_day: _money_pb2.Money
    balance_prev_month: _money_pb2.Money
    equity_prev_day: _money_pb2.Money
    equity_prev_month: _money_pb2.Money
    currency_digits: int
    def __init__(self, login: _Optional[int] = ..., group: _Optional[str] = ..., rights: _Optional[_Iterable[_Union[UserRight, str]]] = ..., rights_mask: _Optional[int] = ..., name: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., middle_name: _Optional[str] = ..., company: _Optional[str] = ..., bank_account: _Optional[str] = ..., country: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., zip_code: _Optional[str] = ..., address: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., document_id: _Optional[str] = ..., status: _Optional[str] = ..., comment: _Optional[str] = ..., language: _Optional[int] = ..., color: _Optional[int] = ..., leverage: _Optional[int] = ..., agent: _Optional[int] = ..., mqid: _Optional[str] = ..., client_id: _Optional[int] = ..., lead_source: _Optional[str] = ..., lead_campaign: _Optional[str] = ..., trade_accounts: _Optional[str] = ..., limit_orders: _Optional[int] = ..., limit_positions: _Optional[int] = ..., registration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_access_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_password_change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_ip: _Optional[str] = ..., cert_serial_number: _Optional[int] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., interest_rate: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., commission_daily: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., commission_monthly: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., agent_commission_daily: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., agent_commission_monthly: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., balance_prev_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., balance_prev_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., equity_prev_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., equity_prev_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., currency_digits: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("login", "currency_digits", "balance", "credit", "margin", "margin_free", "margin_level", "margin_leverage", "margin_initial", "margin_maintenance", "profit", "storage", "floating", "equity", "so_activation", "so_time", "so_level", "so_equity", "so_margin", "blocked_commission", "blocked_profit", "assets", "liabilities", "commission")
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_DIGITS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FREE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MARGIN_LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_INITIAL_FIELD_NUMBER: _ClassVar[int]
    MARGIN_MAINTENANCE_FIELD_NUMBER: _ClassVar[int]
    PROFIT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    FLOATING_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    SO_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    SO_TIME_FIELD_NUMBER: _ClassVar[int]
    SO_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SO_EQUITY_FIELD_NUMBER: _ClassVar[int]
    SO_MARGIN_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_PROFIT_FIELD_NUMBER: _ClassVar[int]
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    LIABILITIES_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    login: int
    currency_digits: int
    balance: _money_pb2.Money
    credit: _money_pb2.Money
    margin: _money_pb2.Money
    margin_free: _money_pb2.Money
    margin_level: _decimal_pb2.Decimal
    margin_leverage: int
    margin_initial: _money_pb2.Money
    margin_maintenance: _money_pb2.Money
    profit: _money_pb2.Money
    storage: _money_pb2.Money
    floating: _money_pb2.Money
    equity: _money_pb2.Money
    so_activation: SoActivation
    so_time: _timestamp_pb2.Timestamp
    so_level: _decimal_pb2.Decimal
    so_equity: _money_pb2.Money
    so_margin: _money_pb2.Money
    blocked_commission: _money_pb2.Money
    blocked_profit: _money_pb2.Money
    assets: _money_pb2.Money
    liabilities: _money_pb2.Money
    commission: _money_pb2.Money
    def __init__(self, login: _Optional[int] = ..., currency_digits: _Optional[int] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., margin: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., margin_free: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., margin_level: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., margin_leverage: _Optional[int] = ..., margin_initial: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., margin_maintenance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., profit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., storage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., floating: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., equity: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., so_activation: _Optional[_Union[SoActivation, str]] = ..., so_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., so_level: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., so_equity: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., so_margin: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., blocked_commission: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., blocked_profit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., assets: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., liabilities: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., commission: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
