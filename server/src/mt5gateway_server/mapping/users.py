"""User and Account DTOs -> protos, and User protos -> Web API writes (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import user_pb2

from mt5gateway_server.mapping.enums import SO_ACTIVATION, rights_tuple
from mt5gateway_server.mapping.money import decimal_fields, money_fields
from mt5gateway_server.mapping.time import timestamp_fields
from mt5gateway_server.webapi import NewUser, UserUpdate
from mt5gateway_server.webapi.models import (
    fast_to_decimal,
    fast_to_int,
    fast_to_str,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mt5gateway.v1.user_service_pb2 import CreateUserRequest

    from mt5gateway_server.webapi import Account, User

__all__ = [
    "OUTPUT_ONLY_USER_FIELDS",
    "UNWRITTEN_USER_FIELDS",
    "UPDATABLE_USER_FIELDS",
    "account_to_proto",
    "new_user",
    "user_to_proto",
    "user_update",
]

# User fields MT5 computes; UpdateUser rejects them in update_mask.
OUTPUT_ONLY_USER_FIELDS = frozenset(
    {
        "login",
        "rights",
        "registration_time",
        "last_access_time",
        "last_password_change_time",
        "last_ip",
        "cert_serial_number",
        "balance",
        "credit",
        "commission_daily",
        "commission_monthly",
        "agent_commission_daily",
        "agent_commission_monthly",
        "balance_prev_day",
        "balance_prev_month",
        "equity_prev_day",
        "equity_prev_month",
        "currency_digits",
    }
)

# update_mask path -> UserUpdate attribute (what user/update can write).
UPDATABLE_USER_FIELDS: Mapping[str, str] = {
    "group": "group",
    "name": "name",
    "leverage": "leverage",
    "rights_mask": "rights",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "country": "country",
    "city": "city",
    "state": "state",
    "zip_code": "zip_code",
    "address": "address",
    "phone": "phone",
    "email": "email",
    "comment": "comment",
    "status": "status",
    "agent": "agent",
    "lead_source": "lead_source",
    "lead_campaign": "lead_campaign",
}

# Fields MT5 can store but the gateway does not write (yet): CreateUser and UpdateUser
# refuse them when set instead of dropping them. Taken from the descriptor, so a field
# added to User is refused until it is mapped here.
UNWRITTEN_USER_FIELDS = (
    frozenset(f.name for f in user_pb2.User.DESCRIPTOR.fields)
    - OUTPUT_ONLY_USER_FIELDS
    - UPDATABLE_USER_FIELDS.keys()
)


# EnumTable.to_proto as a plain dict's get: no Python-level call per field.
_SO_ACTIVATION = dict(SO_ACTIVATION.forward).get


def user_to_proto(user: User, currency: str) -> user_pb2.User:
    """``currency``: the account currency (the user's group's)."""
    # Nested messages go in as dicts (see money.money_fields), all in one constructor
    # call; fields MT5 sends only in the raw record come from the DTO's ``extra``.
    get = user.extra.get
    return user_pb2.User(
        login=user.login,
        group=user.group,
        rights=rights_tuple(user.rights),  # type: ignore[arg-type]
        rights_mask=user.rights,
        name=user.name,
        first_name=user.first_name,
        last_name=user.last_name,
        middle_name=user.middle_name,
        company=user.company,
        bank_account=fast_to_str(get("Account")),
        country=user.country,
        city=user.city,
        state=user.state,
        zip_code=user.zip_code,
        address=user.address,
        phone=user.phone,
        email=user.email,
        document_id=user.id_number,
        status=user.status,
        comment=user.comment,
        language=user.language,
        color=user.color,
        leverage=user.leverage,
        agent=user.agent,
        mqid=fast_to_str(get("MQID")),
        client_id=fast_to_int(get("ClientID")),
        lead_source=user.lead_source,
        lead_campaign=user.lead_campaign,
        trade_accounts=fast_to_str(get("TradeAccounts")),
        limit_orders=fast_to_int(get("LimitOrders")),
        limit_positions=fast_to_int(get("LimitPositions")),
        registration_time=timestamp_fields(user.registration_time),
        last_access_time=timestamp_fields(user.last_access_time),
        last_password_change_time=timestamp_fields(user.last_pass_change_time),
        last_ip=user.last_ip,
        cert_serial_number=fast_to_int(get("CertSerialNumber")),
        balance=money_fields(user.balance, currency),
        credit=money_fields(user.credit, currency),
        interest_rate=decimal_fields(fast_to_decimal(get("InterestRate"))),
        currency_digits=user.currency_digits,
        commission_daily=_extra_money(get("CommissionDaily"), currency),
        commission_monthly=_extra_money(get("CommissionMonthly"), currency),
        agent_commission_daily=_extra_money(get("CommissionAgentDaily"), currency),
        agent_commission_monthly=_extra_money(get("CommissionAgentMonthly"), currency),
        balance_prev_day=_extra_money(get("BalancePrevDay"), currency),
        balance_prev_month=_extra_money(get("BalancePrevMonth"), currency),
        equity_prev_day=_extra_money(get("EquityPrevDay"), currency),
        equity_prev_month=_extra_money(get("EquityPrevMonth"), currency),
    )


def _extra_money(value: object, currency: str) -> dict[str, str | int]:
    return money_fields(fast_to_decimal(value), currency)


def new_user(request: CreateUserRequest) -> NewUser:
    """The ``user/add`` record of a validated CreateUser; zero values are left to
    MT5's defaults (0 rights = the default rights, 0 agent = none)."""
    user = request.user
    optional: dict[str, Any] = {
        attr: getattr(user, path) or None
        for path, attr in UPDATABLE_USER_FIELDS.items()
    }
    return NewUser(
        **optional,
        login=user.login,
        password_main=request.main_password,
        password_investor=request.investor_password,
    )


def user_update(user: user_pb2.User, paths: list[str]) -> UserUpdate:
    """The ``user/update`` changes for the validated ``update_mask`` paths."""
    changes = {UPDATABLE_USER_FIELDS[path]: getattr(user, path) for path in paths}
    return UserUpdate(**changes)


def account_to_proto(account: Account, currency: str) -> user_pb2.Account:
    c = currency
    return user_pb2.Account(
        login=account.login,
        currency_digits=account.currency_digits,
        balance=money_fields(account.balance, c),
        credit=money_fields(account.credit, c),
        margin=money_fields(account.margin, c),
        margin_free=money_fields(account.margin_free, c),
        margin_level=decimal_fields(account.margin_level),
        margin_leverage=account.margin_leverage,
        margin_initial=money_fields(account.margin_initial, c),
        margin_maintenance=money_fields(account.margin_maintenance, c),
        profit=money_fields(account.profit, c),
        storage=money_fields(account.storage, c),
        floating=money_fields(account.floating, c),
        equity=money_fields(account.equity, c),
        so_activation=_SO_ACTIVATION(account.so_activation, 0),  # type: ignore[arg-type]
        so_time=timestamp_fields(account.so_time),
        so_level=decimal_fields(account.so_level),
        so_equity=money_fields(account.so_equity, c),
        so_margin=money_fields(account.so_margin, c),
        blocked_commission=money_fields(account.blocked_commission, c),
        blocked_profit=money_fields(account.blocked_profit, c),
        assets=money_fields(account.assets, c),
        liabilities=money_fields(account.liabilities, c),
        commission=_extra_money(account.extra.get("Commission"), c),
    )
