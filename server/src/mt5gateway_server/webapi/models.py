"""Typed DTOs of MT5 answers (never reused as API types).

Each record is parsed leniently (strings or numbers), money and prices as ``Decimal``,
lots from the ``...Ext`` volume (1/10^8 lot) with the 1/10^4 field as fallback, times as
aware datetimes (see ``wire.TimeConvention``; 0 becomes None). Fields we do not
model are kept in ``extra``, unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType, MemberDescriptorType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from mt5gateway_server.webapi.errors import ProtocolError
from mt5gateway_server.webapi.wire import (
    LOTS_PER_VOLUME,
    LOTS_PER_VOLUME_EXT,
    UTC_TIME,
    TimeConvention,
    to_decimal,
    to_int,
    to_str,
)

if TYPE_CHECKING:
    from decimal import Decimal

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Kind(enum.Enum):
    STR = "str"
    INT = "int"
    DEC = "dec"
    TIME = "time"  # seconds
    TIME_MS = "time_ms"
    LOTS = "lots"  # keys: (ext, legacy)
    RAW = "raw"  # nested JSON kept as is


@dataclass(frozen=True, slots=True)
class _F:
    attr: str
    keys: tuple[str, ...]
    kind: Kind


def _spec(*items: tuple[str, str | tuple[str, ...], Kind]) -> tuple[_F, ...]:
    return tuple(_F(a, (k,) if isinstance(k, str) else k, kind) for a, k, kind in items)


S, N, D, T, TM, L, R = (
    Kind.STR,
    Kind.INT,
    Kind.DEC,
    Kind.TIME,
    Kind.TIME_MS,
    Kind.LOTS,
    Kind.RAW,
)


# ---------------------------------------------------------------- fast value converters
#
# Same results and errors as ``wire.to_str`` / ``to_int`` / ``to_decimal`` /
# ``TimeConvention.from_seconds`` / ``from_millis`` / ``lots`` (the tests compare them
# on arbitrary input): the common wire shapes (a JSON string, an int) take a short
# path, anything else goes to the ``wire`` function itself.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Decimal text -> Decimal. MT5 repeats the same few texts ("0.00", prices, rates)
# across fields and records; a Decimal is immutable, so sharing one is safe. Cleared
# when full rather than evicted one by one: a hit rate, not a bound on staleness.
_DECIMALS: dict[str, Decimal] = {}
_DECIMALS_MAX = 4096


def fast_to_str(value: object) -> str:
    """``wire.to_str``."""
    return value if type(value) is str else to_str(value)


def fast_to_int(value: object) -> int:
    """``wire.to_int``: ``int()`` strips the same whitespace ``str.strip`` does."""
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass  # "", "1.0", "1e3", garbage: the reference decides
    elif type(value) is int:
        return value
    return to_int(value)


def fast_to_decimal(value: object) -> Decimal:
    """``wire.to_decimal``; results for strings are cached by their text."""
    if type(value) is not str:
        return to_decimal(value)
    number = _DECIMALS.get(value)
    if number is None:
        number = to_decimal(value)
        if len(_DECIMALS) >= _DECIMALS_MAX:
            _DECIMALS.clear()
        _DECIMALS[value] = number
    return number


# ``timedelta * int`` is exact and about twice as fast as ``timedelta(seconds=...)``;
# beyond these bounds (far outside datetime's years) the reference raises its own error.
_SECOND = timedelta(seconds=1)
_MILLISECOND = timedelta(milliseconds=1)
_MAX_SECONDS = 10**11
_MAX_MILLIS = 10**14


def fast_from_seconds(value: object, tc: TimeConvention) -> datetime | None:
    """``tc.from_seconds(value)``."""
    seconds = fast_to_int(value)
    if seconds == 0 and type(tc) is TimeConvention:
        return None
    if type(tc) is not TimeConvention or not -_MAX_SECONDS < seconds < _MAX_SECONDS:
        return tc.from_seconds(value)
    offset = tc.server_utc_offset
    instant = _EPOCH + _SECOND * seconds
    return instant - offset if offset else instant


def fast_from_millis(value: object, tc: TimeConvention) -> datetime | None:
    """``tc.from_millis(value)``."""
    millis = fast_to_int(value)
    if millis == 0 and type(tc) is TimeConvention:
        return None
    if type(tc) is not TimeConvention or not -_MAX_MILLIS < millis < _MAX_MILLIS:
        return tc.from_millis(value)
    offset = tc.server_utc_offset
    instant = _EPOCH + _MILLISECOND * millis
    return instant - offset if offset else instant


def fast_lots(record: Mapping[str, Any], ext_key: str, legacy_key: str) -> Decimal:
    """``wire.lots``."""
    ext = record.get(ext_key)
    if ext is not None and ext != "":
        return fast_to_decimal(ext) / LOTS_PER_VOLUME_EXT
    return fast_to_decimal(record.get(legacy_key)) / LOTS_PER_VOLUME


# One field of a record, bound once per class: (attr, key or None, converter). With a
# key the converter gets ``data.get(key)``; without (several keys, lots) it gets the
# whole record and picks its keys itself.
_Converter = Callable[[Any, TimeConvention], Any]
_Step = tuple[str, str | None, _Converter]
_MISSING: Any = object()


def _first_of(keys: tuple[str, ...], convert: _Converter) -> _Converter:
    # The first key present wins, even if its value is null (as before).
    def first(data: Mapping[str, Any], tc: TimeConvention) -> Any:  # noqa: ANN401
        for key in keys:
            value = data.get(key, _MISSING)
            if value is not _MISSING:
                return convert(value, tc)
        return convert(None, tc)

    return first


def _lots_of(ext_key: str, legacy_key: str) -> _Converter:
    def convert(data: Mapping[str, Any], _tc: TimeConvention) -> Decimal:
        return fast_lots(data, ext_key, legacy_key)

    return convert


def _str_field(value: object, _tc: TimeConvention) -> str:
    return value if type(value) is str else to_str(value)


def _int_field(value: object, _tc: TimeConvention) -> int:
    # fast_to_int inlined: one call per field instead of two.
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass
    elif type(value) is int:
        return value
    return to_int(value)


def _dec_field(value: object, _tc: TimeConvention) -> Decimal:
    # fast_to_decimal inlined.
    if type(value) is str:
        number = _DECIMALS.get(value)
        if number is not None:
            return number
    return fast_to_decimal(value)


def _raw_field(value: object, _tc: TimeConvention) -> object:
    return value


_CONVERTERS: Mapping[Kind, _Converter] = {
    Kind.STR: _str_field,
    Kind.INT: _int_field,
    Kind.DEC: _dec_field,
    Kind.TIME: fast_from_seconds,
    Kind.TIME_MS: fast_from_millis,
    Kind.RAW: _raw_field,
}


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one record class is read, derived from its SPEC on first use."""

    steps: tuple[_Step, ...]  # in SPEC order, so errors come in the same order
    used: frozenset[str]  # every key the SPEC reads; the rest goes to ``extra``
    # Slot setters (SPEC order, then ``extra``) when the class is a plain slotted
    # dataclass whose fields are exactly the SPEC attributes plus ``extra``: the
    # instance is then filled directly, as its generated ``__init__`` would (it only
    # assigns), at half the cost. None: call the class.
    setters: tuple[Callable[[object, Any], None], ...] | None


def _setters(
    cls: type, attrs: list[str]
) -> tuple[Callable[[object, Any], None], ...] | None:
    if not is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    names = [f.name for f in fields(cls)]
    if sorted(names) != sorted(attrs):
        return None
    descriptors = [cls.__dict__.get(name) for name in attrs]
    if not all(isinstance(d, MemberDescriptorType) for d in descriptors):
        return None
    return tuple(d.__set__ for d in descriptors)  # type: ignore[union-attr]


def _plan(cls: type[Record]) -> _Plan:
    steps: list[_Step] = []
    for f in cls.SPEC:
        if f.kind is Kind.LOTS:
            steps.append((f.attr, None, _lots_of(f.keys[0], f.keys[1])))
        elif len(f.keys) == 1:
            steps.append((f.attr, f.keys[0], _CONVERTERS[f.kind]))
        else:
            steps.append((f.attr, None, _first_of(f.keys, _CONVERTERS[f.kind])))
    return _Plan(
        steps=tuple(steps),
        used=frozenset(k for f in cls.SPEC for k in f.keys),
        setters=_setters(cls, [f.attr for f in cls.SPEC] + ["extra"]),
    )


_PLANS: dict[type[Record], _Plan] = {}


class Record:
    """Base of all MT5 records: ``from_wire`` builds one from a JSON object."""

    SPEC: ClassVar[tuple[_F, ...]] = ()

    @classmethod
    def from_wire(cls, data: object, tc: TimeConvention = UTC_TIME) -> Self:
        if not isinstance(data, Mapping):
            raise ProtocolError(f"{cls.__name__}: expected an object")
        plan = _PLANS.get(cls)
        if plan is None:
            plan = _PLANS[cls] = _plan(cls)
        get = data.get
        # A copy minus the modelled keys: faster than filtering every key, same order.
        extra = dict(data)
        pop = extra.pop
        for name in plan.used:
            pop(name, None)
        setters = plan.setters
        if setters is None:
            kwargs: dict[str, Any] = {
                attr: convert(data if key is None else get(key), tc)
                for attr, key, convert in plan.steps
            }
            kwargs["extra"] = MappingProxyType(extra) if extra else _EMPTY
            return cls(**kwargs)
        record = cls.__new__(cls)
        for setter, (_, key, convert) in zip(setters, plan.steps, strict=False):
            setter(record, convert(data if key is None else get(key), tc))
        setters[-1](record, MappingProxyType(extra) if extra else _EMPTY)
        return record

    @classmethod
    def list_from_wire(cls, data: object, tc: TimeConvention = UTC_TIME) -> list[Self]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ProtocolError(f"{cls.__name__}: expected an array")
        return [cls.from_wire(item, tc) for item in data]


def _kw(cls: type[Record]) -> None:
    # Sanity check at import: every spec attribute is a dataclass field.
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    missing = [f.attr for f in cls.SPEC if f.attr not in names]
    if missing:  # pragma: no cover
        raise TypeError(f"{cls.__name__}: {missing}")


def _extra() -> Mapping[str, Any]:
    extra: Mapping[str, Any] = field(
        default_factory=lambda: _EMPTY, repr=False, compare=False
    )
    return extra


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("login", "Login", N),
        ("group", "Group", S),
        ("rights", "Rights", N),
        ("name", "Name", S),
        ("first_name", "FirstName", S),
        ("last_name", "LastName", S),
        ("middle_name", "MiddleName", S),
        ("company", "Company", S),
        ("country", "Country", S),
        ("city", "City", S),
        ("state", "State", S),
        ("zip_code", ("ZipCode", "ZIPCode"), S),
        ("address", "Address", S),
        ("phone", "Phone", S),
        ("email", "Email", S),
        ("comment", "Comment", S),
        ("status", "Status", S),
        ("id_number", "ID", S),
        ("leverage", "Leverage", N),
        ("agent", "Agent", N),
        ("color", "Color", N),
        ("language", "Language", N),
        ("registration_time", "Registration", T),
        ("last_access_time", "LastAccess", T),
        ("last_pass_change_time", "LastPassChange", T),
        ("last_ip", "LastIP", S),
        ("lead_source", "LeadSource", S),
        ("lead_campaign", "LeadCampaign", S),
        ("balance", "Balance", D),
        ("credit", "Credit", D),
        ("currency_digits", "CurrencyDigits", N),
    )
    login: int
    group: str
    rights: int
    name: str
    first_name: str
    last_name: str
    middle_name: str
    company: str
    country: str
    city: str
    state: str
    zip_code: str
    address: str
    phone: str
    email: str
    comment: str
    status: str
    id_number: str
    leverage: int
    agent: int
    color: int
    language: int
    registration_time: datetime | None
    last_access_time: datetime | None
    last_pass_change_time: datetime | None
    last_ip: str
    lead_source: str
    lead_campaign: str
    balance: Decimal
    credit: Decimal
    currency_digits: int
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("login", "Login", N),
        ("currency_digits", "CurrencyDigits", N),
        ("balance", "Balance", D),
        ("credit", "Credit", D),
        ("margin", "Margin", D),
        ("margin_free", "MarginFree", D),
        ("margin_level", "MarginLevel", D),
        ("margin_leverage", "MarginLeverage", N),
        ("margin_initial", "MarginInitial", D),
        ("margin_maintenance", "MarginMaintenance", D),
        ("profit", "Profit", D),
        ("storage", "Storage", D),
        ("floating", "Floating", D),
        ("equity", "Equity", D),
        ("so_activation", "SOActivation", N),
        ("so_time", "SOTime", T),
        ("so_level", "SOLevel", D),
        ("so_equity", "SOEquity", D),
        ("so_margin", "SOMargin", D),
        ("blocked_commission", "BlockedCommission", D),
        ("blocked_profit", "BlockedProfit", D),
        ("assets", "Assets", D),
        ("liabilities", "Liabilities", D),
    )
    login: int
    currency_digits: int
    balance: Decimal
    credit: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal
    margin_leverage: int
    margin_initial: Decimal
    margin_maintenance: Decimal
    profit: Decimal
    storage: Decimal
    floating: Decimal
    equity: Decimal
    so_activation: int
    so_time: datetime | None
    so_level: Decimal
    so_equity: Decimal
    so_margin: Decimal
    blocked_commission: Decimal
    blocked_profit: Decimal
    assets: Decimal
    liabilities: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Position(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("ticket", "Position", N),
        ("external_id", "ExternalID", S),
        ("login", "Login", N),
        ("dealer", "Dealer", N),
        ("symbol", "Symbol", S),
        ("action", "Action", N),
        ("digits", "Digits", N),
        ("digits_currency", "DigitsCurrency", N),
        ("contract_size", "ContractSize", D),
        ("create_time", "TimeCreate", T),
        ("update_time", "TimeUpdate", T),
        ("create_time_msc", "TimeCreateMsc", TM),
        ("update_time_msc", "TimeUpdateMsc", TM),
        ("price_open", "PriceOpen", D),
        ("price_current", "PriceCurrent", D),
        ("price_sl", "PriceSL", D),
        ("price_tp", "PriceTP", D),
        ("volume", ("VolumeExt", "Volume"), L),
        ("profit", "Profit", D),
        ("storage", "Storage", D),
        ("rate_profit", "RateProfit", D),
        ("rate_margin", "RateMargin", D),
        ("expert_id", "ExpertID", N),
        ("expert_position_id", "ExpertPositionID", N),
        ("comment", "Comment", S),
        ("reason", "Reason", N),
        ("modification_flags", ("ModificationFlags", "ModifyFlags"), N),
    )
    ticket: int
    external_id: str
    login: int
    dealer: int
    symbol: str
    action: int  # EnPositionAction: 0 buy, 1 sell
    digits: int
    digits_currency: int
    contract_size: Decimal
    create_time: datetime | None
    update_time: datetime | None
    create_time_msc: datetime | None
    update_time_msc: datetime | None
    price_open: Decimal
    price_current: Decimal
    price_sl: Decimal
    price_tp: Decimal
    volume: Decimal  # lots
    profit: Decimal
    storage: Decimal
    rate_profit: Decimal
    rate_margin: Decimal
    expert_id: int
    expert_position_id: int
    comment: str
    reason: int
    modification_flags: int
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(Record):
    """An open order (``order/*``) or a closed one (``history/*``)."""

    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("ticket", "Order", N),
        ("external_id", "ExternalID", S),
        ("login", "Login", N),
        ("dealer", "Dealer", N),
        ("symbol", "Symbol", S),
        ("digits", "Digits", N),
        ("digits_currency", "DigitsCurrency", N),
        ("contract_size", "ContractSize", D),
        ("state", "State", N),
        ("reason", "Reason", N),
        ("setup_time", "TimeSetup", T),
        ("expiration_time", "TimeExpiration", T),
        ("done_time", "TimeDone", T),
        ("setup_time_msc", "TimeSetupMsc", TM),
        ("done_time_msc", "TimeDoneMsc", TM),
        ("type", "Type", N),
        ("type_fill", "TypeFill", N),
        ("type_time", "TypeTime", N),
        ("price_order", "PriceOrder", D),
        ("price_trigger", "PriceTrigger", D),
        ("price_current", "PriceCurrent", D),
        ("price_sl", "PriceSL", D),
        ("price_tp", "PriceTP", D),
        ("volume_initial", ("VolumeInitialExt", "VolumeInitial"), L),
        ("volume_current", ("VolumeCurrentExt", "VolumeCurrent"), L),
        ("expert_id", "ExpertID", N),
        ("position_id", "PositionID", N),
        ("position_by_id", "PositionByID", N),
        ("comment", "Comment", S),
        ("rate_margin", "RateMargin", D),
        ("modification_flags", ("ModificationFlags", "ModifyFlags"), N),
    )
    ticket: int
    external_id: str
    login: int
    dealer: int
    symbol: str
    digits: int
    digits_currency: int
    contract_size: Decimal
    state: int  # EnOrderState
    reason: int
    setup_time: datetime | None
    expiration_time: datetime | None
    done_time: datetime | None
    setup_time_msc: datetime | None
    done_time_msc: datetime | None
    type: int  # EnOrderType
    type_fill: int
    type_time: int
    price_order: Decimal
    price_trigger: Decimal
    price_current: Decimal
    price_sl: Decimal
    price_tp: Decimal
    volume_initial: Decimal  # lots
    volume_current: Decimal  # lots
    expert_id: int
    position_id: int
    position_by_id: int
    comment: str
    rate_margin: Decimal
    modification_flags: int
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Deal(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("ticket", "Deal", N),
        ("external_id", "ExternalID", S),
        ("login", "Login", N),
        ("dealer", "Dealer", N),
        ("order", "Order", N),
        ("action", "Action", N),
        ("entry", "Entry", N),
        ("reason", "Reason", N),
        ("digits", "Digits", N),
        ("digits_currency", "DigitsCurrency", N),
        ("contract_size", "ContractSize", D),
        ("time", "Time", T),
        ("time_msc", "TimeMsc", TM),
        ("symbol", "Symbol", S),
        ("price", "Price", D),
        ("price_sl", "PriceSL", D),
        ("price_tp", "PriceTP", D),
        ("volume", ("VolumeExt", "Volume"), L),
        ("volume_closed", ("VolumeClosedExt", "VolumeClosed"), L),
        ("profit", "Profit", D),
        ("value", "Value", D),
        ("storage", "Storage", D),
        ("commission", "Commission", D),
        ("fee", "Fee", D),
        ("rate_profit", "RateProfit", D),
        ("rate_margin", "RateMargin", D),
        ("expert_id", "ExpertID", N),
        ("position_id", "PositionID", N),
        ("comment", "Comment", S),
        ("price_position", "PricePosition", D),
        ("gateway", "Gateway", S),
        ("modification_flags", ("ModificationFlags", "ModifyFlags"), N),
    )
    ticket: int
    external_id: str
    login: int
    dealer: int
    order: int
    action: int  # EnDealAction
    entry: int  # EnDealEntry
    reason: int
    digits: int
    digits_currency: int
    contract_size: Decimal
    time: datetime | None
    time_msc: datetime | None
    symbol: str
    price: Decimal
    price_sl: Decimal
    price_tp: Decimal
    volume: Decimal  # lots
    volume_closed: Decimal  # lots
    profit: Decimal
    value: Decimal
    storage: Decimal
    commission: Decimal
    fee: Decimal
    rate_profit: Decimal
    rate_margin: Decimal
    expert_id: int
    position_id: int
    comment: str
    price_position: Decimal
    gateway: str
    modification_flags: int
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("symbol", "Symbol", S),
        ("digits", "Digits", N),
        ("time", "Datetime", T),
        ("time_msc", "DatetimeMsc", TM),
        ("bid", "Bid", D),
        ("ask", "Ask", D),
        ("last", "Last", D),
        ("volume", "Volume", N),
        ("volume_real", "VolumeReal", D),
    )
    symbol: str
    digits: int
    time: datetime | None
    time_msc: datetime | None
    bid: Decimal
    ask: Decimal
    last: Decimal
    volume: int
    volume_real: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class TickStat(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("symbol", "Symbol", S),
        ("digits", "Digits", N),
        ("time", "Datetime", T),
        ("time_msc", "DatetimeMsc", TM),
        ("bid", "Bid", D),
        ("bid_low", "BidLow", D),
        ("bid_high", "BidHigh", D),
        ("bid_dir", "BidDir", N),
        ("ask", "Ask", D),
        ("ask_low", "AskLow", D),
        ("ask_high", "AskHigh", D),
        ("ask_dir", "AskDir", N),
        ("last", "Last", D),
        ("last_low", "LastLow", D),
        ("last_high", "LastHigh", D),
        ("last_dir", "LastDir", N),
        ("volume", "Volume", N),
        ("volume_low", "VolumeLow", N),
        ("volume_high", "VolumeHigh", N),
        ("trade_deals", "TradeDeals", N),
        ("trade_volume", "TradeVolume", N),
        ("price_open", "PriceOpen", D),
        ("price_close", "PriceClose", D),
        ("price_change", "PriceChange", D),
    )
    symbol: str
    digits: int
    time: datetime | None
    time_msc: datetime | None
    bid: Decimal
    bid_low: Decimal
    bid_high: Decimal
    bid_dir: int
    ask: Decimal
    ask_low: Decimal
    ask_high: Decimal
    ask_dir: int
    last: Decimal
    last_low: Decimal
    last_high: Decimal
    last_dir: int
    volume: int
    volume_low: int
    volume_high: int
    trade_deals: int
    trade_volume: int
    price_open: Decimal
    price_close: Decimal
    price_change: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Symbol(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("symbol", "Symbol", S),
        ("path", "Path", S),
        ("description", "Description", S),
        ("currency_base", "CurrencyBase", S),
        ("currency_profit", "CurrencyProfit", S),
        ("currency_margin", "CurrencyMargin", S),
        ("digits", "Digits", N),
        ("point", "Point", D),
        ("contract_size", "ContractSize", D),
        ("tick_value", "TickValue", D),
        ("tick_size", "TickSize", D),
        ("trade_mode", "TradeMode", N),
        ("calc_mode", "CalcMode", N),
        ("exec_mode", "ExecMode", N),
        ("spread", "Spread", N),
        ("stops_level", "StopsLevel", N),
        ("volume_min", ("VolumeMinExt", "VolumeMin"), L),
        ("volume_max", ("VolumeMaxExt", "VolumeMax"), L),
        ("volume_step", ("VolumeStepExt", "VolumeStep"), L),
        ("swap_long", "SwapLong", D),
        ("swap_short", "SwapShort", D),
        ("sessions_quotes", "SessionsQuotes", R),
        ("sessions_trades", "SessionsTrades", R),
    )
    symbol: str
    path: str
    description: str
    currency_base: str
    currency_profit: str
    currency_margin: str
    digits: int
    point: Decimal
    contract_size: Decimal
    tick_value: Decimal
    tick_size: Decimal
    trade_mode: int
    calc_mode: int
    exec_mode: int
    spread: int
    stops_level: int
    volume_min: Decimal  # lots
    volume_max: Decimal
    volume_step: Decimal
    swap_long: Decimal
    swap_short: Decimal
    sessions_quotes: Any
    sessions_trades: Any
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class Group(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("group", "Group", S),
        ("server", "Server", N),
        ("company", "Company", S),
        ("currency", "Currency", S),
        ("currency_digits", "CurrencyDigits", N),
        ("margin_call", "MarginCall", D),
        ("margin_stop_out", "MarginStopOut", D),
        ("margin_so_mode", "MarginSOMode", N),
        ("margin_mode", "MarginMode", N),
        ("auth_password_min", "AuthPasswordMin", N),
        ("demo_leverage", "DemoLeverage", N),
        ("demo_deposit", "DemoDeposit", D),
        ("limit_history", "LimitHistory", N),
        ("limit_orders", "LimitOrders", N),
        ("limit_symbols", "LimitSymbols", N),
        ("limit_positions", "LimitPositions", N),
        ("trade_flags", "TradeFlags", N),
        ("symbols", "Symbols", R),
        ("commissions", "Commissions", R),
    )
    group: str
    server: int
    company: str
    currency: str
    currency_digits: int
    margin_call: Decimal
    margin_stop_out: Decimal
    margin_so_mode: int
    margin_mode: int
    auth_password_min: int
    demo_leverage: int
    demo_deposit: Decimal
    limit_history: int
    limit_orders: int
    limit_symbols: int
    limit_positions: int
    trade_flags: int
    symbols: Any
    commissions: Any
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class CommonConfig(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("name", "Name", S),
        ("name_full", "NameFull", S),
        ("owner", "Owner", S),
        ("owner_id", "OwnerID", S),
        ("owner_host", "OwnerHost", S),
        ("owner_email", "OwnerEmail", S),
        ("product", "Product", S),
        ("limit_trade_servers", "LimitTradeServers", N),
        ("limit_web_servers", "LimitWebServers", N),
        ("limit_accounts", "LimitAccounts", N),
        ("total_users", "TotalUsers", N),
        ("total_users_real", "TotalUsersReal", N),
        ("total_deals", "TotalDeals", N),
        ("total_orders", "TotalOrders", N),
        ("total_positions", "TotalPositions", N),
    )
    name: str
    name_full: str
    owner: str
    owner_id: str
    owner_host: str
    owner_email: str
    product: str
    limit_trade_servers: int
    limit_web_servers: int
    limit_accounts: int
    total_users: int
    total_users_real: int
    total_deals: int
    total_orders: int
    total_positions: int
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeConfig(Record):
    SPEC: ClassVar[tuple[_F, ...]] = _spec(
        ("daylight", "Daylight", N),
        ("daylight_state", "DaylightState", N),
        ("timezone_minutes", "TimeZone", N),
        ("time_server", "TimeServer", S),
        ("days", "Days", R),
    )
    daylight: int
    daylight_state: int
    timezone_minutes: int  # minutes east of GMT
    time_server: str
    days: Any
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class ServerTime:
    time: datetime
    text: str  # "yyyy.mm.dd hh:mm:ss" as the server formatted it


@dataclass(frozen=True, slots=True)
class TickSnapshot:
    """``tick/last``: ticks changed since the ``trans_id`` sent, and the new cursor."""

    ticks: list[Tick]
    trans_id: int


@dataclass(frozen=True, slots=True)
class TickStatSnapshot:
    stats: list[TickStat]
    trans_id: int


@dataclass(frozen=True, slots=True)
class TickRow:
    """One ``tick/history`` row; fields absent from ``data`` are None."""

    time: datetime | None  # "d", milliseconds
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    volume: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One M1 ``chart/get`` bar; fields absent from ``data`` are None."""

    time: datetime | None  # "d", seconds
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None
    tick_volume: int | None = None
    volume: int | None = None
    spread: int | None = None


_TICK_COLUMNS: Mapping[str, str] = {"b": "bid", "a": "ask", "l": "last", "v": "volume"}
_BAR_COLUMNS: Mapping[str, tuple[str, Callable[[object], Any]]] = {
    "o": ("open", to_decimal),
    "h": ("high", to_decimal),
    "l": ("low", to_decimal),
    "c": ("close", to_decimal),
    "t": ("tick_volume", to_int),
    "v": ("volume", to_int),
    "s": ("spread", to_int),
}


def _rows(data: object) -> list[Sequence[object]]:
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise ProtocolError("history answer: expected an array of arrays")
    return data


def parse_tick_rows(
    data: object, columns: str, tc: TimeConvention = UTC_TIME
) -> list[TickRow]:
    out = []
    for row in _rows(data):
        kw: dict[str, Any] = {"time": None}
        for letter, value in zip(columns, row, strict=False):
            if letter == "d":
                kw["time"] = tc.from_millis(value)
            elif letter in _TICK_COLUMNS:
                kw[_TICK_COLUMNS[letter]] = to_decimal(value)
        out.append(TickRow(**kw))
    return out


def parse_chart_bars(
    data: object, columns: str, tc: TimeConvention = UTC_TIME
) -> list[ChartBar]:
    out = []
    for row in _rows(data):
        kw: dict[str, Any] = {"time": None}
        for letter, value in zip(columns, row, strict=False):
            if letter == "d":
                kw["time"] = tc.from_seconds(value)
            elif letter in _BAR_COLUMNS:
                attr, conv = _BAR_COLUMNS[letter]
                kw[attr] = conv(value)
        out.append(ChartBar(**kw))
    return out


for _cls in (
    User,
    Account,
    Position,
    Order,
    Deal,
    Tick,
    TickStat,
    Symbol,
    Group,
    CommonConfig,
    TimeConfig,
):
    _kw(_cls)
