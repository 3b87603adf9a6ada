"""Users and their trading accounts (``user/*``, ``user/account/*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway_server.webapi._record import (
    D,
    N,
    Record,
    S,
    T,
    record,
    unmodelled,
    wire,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from decimal import Decimal


@record
class User(Record):
    login: int = wire("Login", N)
    group: str = wire("Group", S)
    rights: int = wire("Rights", N)
    name: str = wire("Name", S)
    first_name: str = wire("FirstName", S)
    last_name: str = wire("LastName", S)
    middle_name: str = wire("MiddleName", S)
    company: str = wire("Company", S)
    country: str = wire("Country", S)
    city: str = wire("City", S)
    state: str = wire("State", S)
    zip_code: str = wire(("ZipCode", "ZIPCode"), S)
    address: str = wire("Address", S)
    phone: str = wire("Phone", S)
    email: str = wire("Email", S)
    comment: str = wire("Comment", S)
    status: str = wire("Status", S)
    id_number: str = wire("ID", S)
    leverage: int = wire("Leverage", N)
    agent: int = wire("Agent", N)
    color: int = wire("Color", N)
    language: int = wire("Language", N)
    registration_time: datetime | None = wire("Registration", T)
    last_access_time: datetime | None = wire("LastAccess", T)
    last_pass_change_time: datetime | None = wire("LastPassChange", T)
    last_ip: str = wire("LastIP", S)
    lead_source: str = wire("LeadSource", S)
    lead_campaign: str = wire("LeadCampaign", S)
    balance: Decimal = wire("Balance", D)
    credit: Decimal = wire("Credit", D)
    currency_digits: int = wire("CurrencyDigits", N)
    extra: Mapping[str, Any] = unmodelled()


@record
class Account(Record):
    login: int = wire("Login", N)
    currency_digits: int = wire("CurrencyDigits", N)
    balance: Decimal = wire("Balance", D)
    credit: Decimal = wire("Credit", D)
    margin: Decimal = wire("Margin", D)
    margin_free: Decimal = wire("MarginFree", D)
    margin_level: Decimal = wire("MarginLevel", D)
    margin_leverage: int = wire("MarginLeverage", N)
    margin_initial: Decimal = wire("MarginInitial", D)
    margin_maintenance: Decimal = wire("MarginMaintenance", D)
    profit: Decimal = wire("Profit", D)
    storage: Decimal = wire("Storage", D)
    floating: Decimal = wire("Floating", D)
    equity: Decimal = wire("Equity", D)
    so_activation: int = wire("SOActivation", N)
    so_time: datetime | None = wire("SOTime", T)
    so_level: Decimal = wire("SOLevel", D)
    so_equity: Decimal = wire("SOEquity", D)
    so_margin: Decimal = wire("SOMargin", D)
    blocked_commission: Decimal = wire("BlockedCommission", D)
    blocked_profit: Decimal = wire("BlockedProfit", D)
    assets: Decimal = wire("Assets", D)
    liabilities: Decimal = wire("Liabilities", D)
    extra: Mapping[str, Any] = unmodelled()
