"""Positions, orders (open and history) and deals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway_server.webapi._record import (
    TM,
    D,
    L,
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
class Position(Record):
    ticket: int = wire("Position", N)
    external_id: str = wire("ExternalID", S)
    login: int = wire("Login", N)
    dealer: int = wire("Dealer", N)
    symbol: str = wire("Symbol", S)
    action: int = wire("Action", N)  # EnPositionAction: 0 buy, 1 sell
    digits: int = wire("Digits", N)
    digits_currency: int = wire("DigitsCurrency", N)
    contract_size: Decimal = wire("ContractSize", D)
    create_time: datetime | None = wire("TimeCreate", T)
    update_time: datetime | None = wire("TimeUpdate", T)
    create_time_msc: datetime | None = wire("TimeCreateMsc", TM)
    update_time_msc: datetime | None = wire("TimeUpdateMsc", TM)
    price_open: Decimal = wire("PriceOpen", D)
    price_current: Decimal = wire("PriceCurrent", D)
    price_sl: Decimal = wire("PriceSL", D)
    price_tp: Decimal = wire("PriceTP", D)
    volume: Decimal = wire(("VolumeExt", "Volume"), L)  # lots
    profit: Decimal = wire("Profit", D)
    storage: Decimal = wire("Storage", D)
    rate_profit: Decimal = wire("RateProfit", D)
    rate_margin: Decimal = wire("RateMargin", D)
    expert_id: int = wire("ExpertID", N)
    expert_position_id: int = wire("ExpertPositionID", N)
    comment: str = wire("Comment", S)
    reason: int = wire("Reason", N)
    modification_flags: int = wire(("ModificationFlags", "ModifyFlags"), N)
    extra: Mapping[str, Any] = unmodelled()


@record
class Order(Record):
    """An open order (``order/*``) or a closed one (``history/*``)."""

    ticket: int = wire("Order", N)
    external_id: str = wire("ExternalID", S)
    login: int = wire("Login", N)
    dealer: int = wire("Dealer", N)
    symbol: str = wire("Symbol", S)
    digits: int = wire("Digits", N)
    digits_currency: int = wire("DigitsCurrency", N)
    contract_size: Decimal = wire("ContractSize", D)
    state: int = wire("State", N)  # EnOrderState
    reason: int = wire("Reason", N)
    setup_time: datetime | None = wire("TimeSetup", T)
    expiration_time: datetime | None = wire("TimeExpiration", T)
    done_time: datetime | None = wire("TimeDone", T)
    setup_time_msc: datetime | None = wire("TimeSetupMsc", TM)
    done_time_msc: datetime | None = wire("TimeDoneMsc", TM)
    type: int = wire("Type", N)  # EnOrderType
    type_fill: int = wire("TypeFill", N)
    type_time: int = wire("TypeTime", N)
    price_order: Decimal = wire("PriceOrder", D)
    price_trigger: Decimal = wire("PriceTrigger", D)
    price_current: Decimal = wire("PriceCurrent", D)
    price_sl: Decimal = wire("PriceSL", D)
    price_tp: Decimal = wire("PriceTP", D)
    volume_initial: Decimal = wire(("VolumeInitialExt", "VolumeInitial"), L)  # lots
    volume_current: Decimal = wire(("VolumeCurrentExt", "VolumeCurrent"), L)  # lots
    expert_id: int = wire("ExpertID", N)
    position_id: int = wire("PositionID", N)
    position_by_id: int = wire("PositionByID", N)
    comment: str = wire("Comment", S)
    rate_margin: Decimal = wire("RateMargin", D)
    modification_flags: int = wire(("ModificationFlags", "ModifyFlags"), N)
    extra: Mapping[str, Any] = unmodelled()


@record
class Deal(Record):
    ticket: int = wire("Deal", N)
    external_id: str = wire("ExternalID", S)
    login: int = wire("Login", N)
    dealer: int = wire("Dealer", N)
    order: int = wire("Order", N)
    action: int = wire("Action", N)  # EnDealAction
    entry: int = wire("Entry", N)  # EnDealEntry
    reason: int = wire("Reason", N)
    digits: int = wire("Digits", N)
    digits_currency: int = wire("DigitsCurrency", N)
    contract_size: Decimal = wire("ContractSize", D)
    time: datetime | None = wire("Time", T)
    time_msc: datetime | None = wire("TimeMsc", TM)
    symbol: str = wire("Symbol", S)
    price: Decimal = wire("Price", D)
    price_sl: Decimal = wire("PriceSL", D)
    price_tp: Decimal = wire("PriceTP", D)
    volume: Decimal = wire(("VolumeExt", "Volume"), L)  # lots
    volume_closed: Decimal = wire(("VolumeClosedExt", "VolumeClosed"), L)  # lots
    profit: Decimal = wire("Profit", D)
    value: Decimal = wire("Value", D)
    storage: Decimal = wire("Storage", D)
    commission: Decimal = wire("Commission", D)
    fee: Decimal = wire("Fee", D)
    rate_profit: Decimal = wire("RateProfit", D)
    rate_margin: Decimal = wire("RateMargin", D)
    expert_id: int = wire("ExpertID", N)
    position_id: int = wire("PositionID", N)
    comment: str = wire("Comment", S)
    price_position: Decimal = wire("PricePosition", D)
    gateway: str = wire("Gateway", S)
    modification_flags: int = wire(("ModificationFlags", "ModifyFlags"), N)
    extra: Mapping[str, Any] = unmodelled()
