"""User and Account DTOs -> protos, and User protos -> Web API writes (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import user_pb2

from mt5gateway_server.mapping.enums import SO_ACTIVATION, rights_from_mask
from mt5gateway_server.mapping.money import decimal_to_proto, money_to_proto
from mt5gateway_server.mapping.time import optional_timestamp
from mt5gateway_server.webapi import UserUpdate
from mt5gateway_server.webapi.wire import to_decimal, to_int, to_str

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mt5gateway_server.webapi import Account, User

__all__ = [
    "OUTPUT_ONLY_USER_FIELDS",
    "UPDATABLE_USER_FIELDS",
    "account_to_proto",
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

# Money fields MT5 sends only in the raw record (kept in the DTO's ``extra``).
_USER_EXTRA_MONEY = {
    "commission_daily": "CommissionDaily",
    "commission_monthly": "CommissionMonthly",
    "agent_commission_daily": "CommissionAgentDaily",
    "agent_commission_monthly": "CommissionAgentMonthly",
    "balance_prev_day": "BalancePrevDay",
    "balance_prev_month": "BalancePrevMonth",
    "equity_prev_day": "EquityPrevDay",
    "equity_prev_month": "EquityPrevMonth",
}


def _extra_str(extra: Mapping[str, Any], key: str) -> str:
    return to_str(extra.get(key))


def _extra_int(extra: Mapping[str, Any], key: str) -> int:
    return to_int(extra.get(key))


def user_to_proto(user: User, currency: str) -> user_pb2.User:
    """``currency``: the account currency (the user's group's)."""
    extra = user.extra
    return user_pb2.User(
        login=user.login,
        group=user.group,
        rights=rights_from_mask(user.rights),  # type: ignore[arg-type]
        rights_mask=user.rights,
        name=user.name,
        first_name=user.first_name,
        last_name=user.last_name,
        middle_name=user.middle_name,
        company=user.company,
        bank_account=_extra_str(extra, "Account"),
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
        mqid=_extra_str(extra, "MQID"),
        client_id=_extra_int(extra, "ClientID"),
        lead_source=user.lead_source,
        lead_campaign=user.lead_campaign,
        trade_accounts=_extra_str(extra, "TradeAccounts"),
        limit_orders=_extra_int(extra, "LimitOrders"),
        limit_positions=_extra_int(extra, "LimitPositions"),
        registration_time=optional_timestamp(user.registration_time),
        last_access_time=optional_timestamp(user.last_access_time),
        last_password_change_time=optional_timestamp(user.last_pass_change_time),
        last_ip=user.last_ip,
        cert_serial_number=_extra_int(extra, "CertSerialNumber"),
        balance=money_to_proto(user.balance, currency),
        credit=money_to_proto(user.credit, currency),
        interest_rate=decimal_to_proto(to_decimal(extra.get("InterestRate"))),
        currency_digits=user.currency_digits,
        # One constructor call, not a CopyFrom per field afterwards.
        **{
            field: money_to_proto(to_decimal(extra.get(key)), currency)
            for field, key in _USER_EXTRA_MONEY.items()
        },
    )


def user_update(user: user_pb2.User, paths: list[str]) -> UserUpdate:
    """The ``user/update`` changes for the validated ``update_mask`` paths."""
    changes = {UPDATABLE_USER_FIELDS[path]: getattr(user, path) for path in paths}
    return UserUpdate(**changes)


def account_to_proto(account: Account, currency: str) -> user_pb2.Account:
    def money(value: Any) -> Any:  # noqa: ANN401 - Decimal in, Money out
        return money_to_proto(value, currency)

    return user_pb2.Account(
        login=account.login,
        currency_digits=account.currency_digits,
        balance=money(account.balance),
        credit=money(account.credit),
        margin=money(account.margin),
        margin_free=money(account.margin_free),
        margin_level=decimal_to_proto(account.margin_level),
        margin_leverage=account.margin_leverage,
        margin_initial=money(account.margin_initial),
        margin_maintenance=money(account.margin_maintenance),
        profit=money(account.profit),
        storage=money(account.storage),
        floating=money(account.floating),
        equity=money(account.equity),
        so_activation=SO_ACTIVATION.to_proto(account.so_activation),  # type: ignore[arg-type]
        so_time=optional_timestamp(account.so_time),
        so_level=decimal_to_proto(account.so_level),
        so_equity=money(account.so_equity),
        so_margin=money(account.so_margin),
        blocked_commission=money(account.blocked_commission),
        blocked_profit=money(account.blocked_profit),
        assets=money(account.assets),
        liabilities=money(account.liabilities),
        commission=money(to_decimal(account.extra.get("Commission"))),
    )
