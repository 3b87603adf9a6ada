"""The fast parse and map paths against straightforward reference implementations.

``Record.from_wire``'s per-class plans, the text-keyed caches, the ``*_fields`` dicts
given to message constructors and the rewritten ``*_to_proto`` functions must give
exactly what the plain code gives (kept here as the reference): the same values (a
Decimal's text too: "1.10" is not "1.1"), the same bytes on the wire, the same
exception with the same message. Each fast call is made twice, so a cache hit is
checked as well as a miss.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from google.type import decimal_pb2, money_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt5gateway.v1 import trade_pb2, user_pb2
from mt5gateway_server.mapping import enums, money, time, trade, users
from mt5gateway_server.webapi import models, wire
from mt5gateway_server.webapi.errors import ProtocolError
from mt5gateway_server.webapi.models import Kind, Record

# ------------------------------------------------------------------------- helpers


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """What a call gives, comparable: a value (Decimals by text) or the exception."""
    try:
        value = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return ("raised", (type(exc), str(exc)))
    return ("value", canon(value))


def canon(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.tzinfo)
    if hasattr(value, "SerializeToString"):
        return (type(value).__name__, value.SerializeToString(deterministic=True))
    if isinstance(value, dict | MappingProxyType):
        return [(k, canon(v)) for k, v in value.items()]  # order matters too
    if isinstance(value, list | tuple):
        return [canon(v) for v in value]
    return (type(value).__name__, value)


def same(fast: Any, reference: Any, *args: Any) -> None:
    expected = outcome(reference, *args)
    assert outcome(fast, *args) == expected  # cold (may fill a cache)
    assert outcome(fast, *args) == expected  # warm


# ---------------------------------------------------------------------- strategies

# What MT5 sends: numbers as strings (with the odd space, sign, exponent, many
# digits), sometimes as JSON numbers; plus the malformed.
decimal_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(places=2, min_value=-(10**12), max_value=10**12).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "+0",
            "1E+2",
            "1e2",
            "-1E-7",
            "0E-12",
            "1.10868",
            "1.10",
            "00012",
            " 5 ",
            "\t7\n",
            "1_000",
            "1.5e3",
            "1.",
            ".5",
            "",
            " ",
            "-",
            "abc",
            "NaN",
            "Infinity",
            "-inf",
            "sNaN",
            "0x10",
            "1.0",
            "9" * 40,
            "-" + "9" * 25 + ".123456789",
            "123456789.1234567891",
            "9223372036854775807.999999999",
            "9223372036854775808",
            "١٢٣",
        ]
    ),
)
wire_values = st.one_of(
    decimal_texts,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
time_values = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.integers(min_value=0, max_value=2**41).map(str),
    wire_values,
)
offsets = st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(hours=-5)])
tcs = offsets.map(wire.TimeConvention)


# --------------------------------------------------------------- value converters


@given(wire_values)
def test_fast_to_str(value: object) -> None:
    same(models.fast_to_str, wire.to_str, value)


@given(wire_values)
def test_fast_to_int(value: object) -> None:
    same(models.fast_to_int, wire.to_int, value)


@given(wire_values)
def test_fast_to_decimal(value: object) -> None:
    same(models.fast_to_decimal, wire.to_decimal, value)


@given(time_values, tcs)
def test_fast_from_seconds(value: object, tc: wire.TimeConvention) -> None:
    same(models.fast_from_seconds, lambda v, t: t.from_seconds(v), value, tc)


@given(time_values, tcs)
def test_fast_from_millis(value: object, tc: wire.TimeConvention) -> None:
    same(models.fast_from_millis, lambda v, t: t.from_millis(v), value, tc)


@given(st.dictionaries(st.sampled_from(["VolumeExt", "Volume", "X"]), wire_values))
def test_fast_lots(record: dict[str, object]) -> None:
    same(models.fast_lots, wire.lots, record, "VolumeExt", "Volume")


# ------------------------------------------------------------------- from_wire


def reference_from_wire(cls: type[Record], data: object, tc: Any) -> Record:
    """``Record.from_wire`` as it was: one match on the kind per field."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.__name__}: expected an object")
    kwargs: dict[str, Any] = {}
    used: set[str] = set()
    for f in cls.SPEC:
        used |= set(f.keys)
        if f.kind is Kind.LOTS:
            kwargs[f.attr] = wire.lots(data, f.keys[0], f.keys[1])
            continue
        key = next((k for k in f.keys if k in data), None)
        value = None if key is None else data[key]
        match f.kind:
            case Kind.STR:
                kwargs[f.attr] = wire.to_str(value)
            case Kind.INT:
                kwargs[f.attr] = wire.to_int(value)
            case Kind.DEC:
                kwargs[f.attr] = wire.to_decimal(value)
            case Kind.TIME:
                kwargs[f.attr] = tc.from_seconds(value)
            case Kind.TIME_MS:
                kwargs[f.attr] = tc.from_millis(value)
            case _:
                kwargs[f.attr] = value
    extra = {k: v for k, v in data.items() if k not in used}
    kwargs["extra"] = MappingProxyType(extra) if extra else models._EMPTY
    return cls(**kwargs)


RECORDS: list[type[Record]] = [
    models.User,
    models.Account,
    models.Position,
    models.Order,
    models.Deal,
    models.Tick,
    models.TickStat,
    models.Symbol,
    models.Group,
    models.CommonConfig,
    models.TimeConfig,
]


def record_dump(record: Record) -> Any:
    assert isinstance(record.extra, MappingProxyType)
    return [
        (f.name, canon(getattr(record, f.name)))
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
    ]


def plausible(kind: Kind) -> st.SearchStrategy[object]:
    if kind in {Kind.TIME, Kind.TIME_MS}:
        return time_values
    if kind is Kind.STR:
        return st.one_of(st.text(max_size=8), wire_values)
    if kind is Kind.RAW:
        return st.one_of(st.none(), st.lists(st.dictionaries(st.text(), st.text())))
    # Mostly well-formed, so whole records get through, sometimes not.
    good = st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.decimals(places=5, min_value=-(10**9), max_value=10**9).map(str),
        st.integers(min_value=-(10**12), max_value=10**12),
    )
    return st.one_of(good, good, good, wire_values)


@st.composite
def wire_records(draw: st.DrawFn, cls: type[Record]) -> dict[str, object]:
    data: dict[str, object] = {}
    for f in cls.SPEC:
        for key in f.keys:
            if draw(st.integers(0, 9)):  # a key is sometimes missing
                data[key] = draw(plausible(f.kind))
    extra = draw(
        st.dictionaries(st.sampled_from(["ApiData", "Foo", "Zip"]), wire_values)
    )
    data.update(extra)
    keys = list(data)
    order = draw(st.permutations(keys))
    return {k: data[k] for k in order}


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), tc=tcs)
def test_from_wire_matches_reference(
    cls: type[Record], data: st.DataObject, tc: wire.TimeConvention
) -> None:
    record = data.draw(wire_records(cls))

    def fast(d: object, t: Any) -> Any:
        return record_dump(cls.from_wire(d, t))

    def reference(d: object, t: Any) -> Any:
        return record_dump(reference_from_wire(cls, d, t))

    same(fast, reference, record, tc)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_from_wire_builds_a_normal_instance(cls: type[Record]) -> None:
    # Filled slot by slot, the instance is still what the constructor makes.
    record = cls.from_wire({"Comment": "x", "Foo": "1"})
    again = cls(
        **{
            f.name: getattr(record, f.name)
            for f in dataclasses.fields(record)  # type: ignore[arg-type]
        }
    )
    assert record == again
    assert repr(record) == repr(again)
    assert models._PLANS[cls].setters is not None  # the fast construction is used
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.extra = {}  # type: ignore[misc]


def test_from_wire_without_slots_calls_the_class() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Plain(Record):
        SPEC = models._spec(("login", "Login", Kind.INT))
        login: int
        extra: Any = dataclasses.field(default_factory=lambda: models._EMPTY)

        def __post_init__(self) -> None:
            object.__setattr__(self, "login", self.login + 1)

    assert Plain.from_wire({"Login": "4", "X": 1}).login == 5
    assert models._PLANS[Plain].setters is None


def test_from_wire_first_present_key_wins_even_if_null() -> None:
    position = models.Position.from_wire(
        {"ModificationFlags": None, "ModifyFlags": "3"}
    )
    assert position.modification_flags == 0
    position = models.Position.from_wire({"ModifyFlags": "3"})
    assert position.modification_flags == 3


# ---------------------------------------------------------------- money and time


def reference_decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def reference_units_nanos(amount: Decimal) -> tuple[int, int]:
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    nanos_total = amount.scaleb(9)
    if nanos_total != nanos_total.to_integral_value():
        raise ValueError(f"{amount} has more than 9 decimal places")
    total = int(nanos_total)
    sign = -1 if total < 0 else 1
    units, nanos = divmod(abs(total), money.NANOS_PER_UNIT)
    if units > 2**63 - 1:
        raise ValueError(f"{amount} does not fit in Money.units")
    return sign * units, sign * nanos


def reference_money(amount: Decimal, currency: str) -> money_pb2.Money:
    units, nanos = reference_units_nanos(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def reference_trade_money(amount: Decimal, currency: str) -> money_pb2.Money:
    return reference_money(amount.quantize(Decimal("1e-9"), ROUND_HALF_EVEN), currency)


def reference_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: MT5 times must be converted to UTC first")
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    seconds, micro = divmod(micros, 1_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=micro * 1000)


def as_message(cls: Any, fields: dict[str, Any] | None) -> Any:
    return None if fields is None else cls(**fields)


edge_decimals = st.one_of(
    st.decimals(),  # NaN, sNaN, Infinity included
    st.decimals(places=9, min_value=-(10**19), max_value=10**19),
    st.decimals(places=12, min_value=-(10**6), max_value=10**6),
    st.builds(
        Decimal,
        st.sampled_from(
            [
                "-0",
                "-0.00",
                "0E-20",
                "0E+5",
                "-0E+3",
                "1E+2",
                "-1E+2",
                "1E-7",
                "-1.5E-10",
                "1.10",
                "1.100",
                "9223372036854775807.999999999",
                "9223372036854775808",
                "-9223372036854775808",
                "1E+19",
                "1E+30",
                "123456789012345678901234567890.123",
                "0.1234567895",
                "0.0000001",
                "-0.000000000",
                "5E-9",
                "5E-10",
            ]
        ),
    ),
)


@given(edge_decimals)
def test_decimal_text(value: Decimal) -> None:
    same(money.decimal_text, reference_decimal_text, value)
    same(
        lambda v: as_message(decimal_pb2.Decimal, money.decimal_fields(v)),
        lambda v: decimal_pb2.Decimal(value=reference_decimal_text(v)),
        value,
    )
    same(
        money.decimal_to_proto,
        lambda v: decimal_pb2.Decimal(value=reference_decimal_text(v)),
        value,
    )


@given(edge_decimals, st.sampled_from(["USD", "EUR", ""]))
def test_money(value: Decimal, currency: str) -> None:
    same(money.money_to_proto, reference_money, value, currency)
    same(
        lambda v, c: as_message(money_pb2.Money, money.money_fields(v, c)),
        reference_money,
        value,
        currency,
    )


@given(edge_decimals, st.sampled_from(["USD", "JPY"]))
def test_trade_money(value: Decimal, currency: str) -> None:
    same(trade.money_to_proto, reference_trade_money, value, currency)
    same(
        lambda v, c: as_message(money_pb2.Money, trade._money(v, c)),
        reference_trade_money,
        value,
        currency,
    )


datetimes = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.datetimes(
        timezones=st.builds(
            lambda m: __import__("datetime").timezone(timedelta(minutes=m)),
            st.integers(-600, 600),
        )
    ),
)


@given(datetimes)
def test_timestamp_fields(value: datetime | None) -> None:
    same(
        lambda v: as_message(timestamp_pb2.Timestamp, time.timestamp_fields(v)),
        reference_timestamp,
        value,
    )
    same(time.optional_timestamp, reference_timestamp, value)


@given(st.integers(min_value=-(2**64), max_value=2**64))
def test_rights(mask: int) -> None:
    expected = [p for p, bit in enums._RIGHTS_BY_VALUE if mask & bit]
    assert enums.rights_from_mask(mask) == expected
    assert list(enums.rights_tuple(mask)) == expected
    enums.rights_from_mask(mask).append(0)  # a fresh list: the cache is not shared
    assert enums.rights_from_mask(mask) == expected


# ----------------------------------------------------------- whole messages


def _dec(value: Decimal) -> decimal_pb2.Decimal:
    return decimal_pb2.Decimal(value=reference_decimal_text(value))


def _x_int(extra: Any, key: str) -> int:
    return wire.to_int(extra[key]) if key in extra else 0


def _x_dec(extra: Any, key: str) -> decimal_pb2.Decimal:
    return _dec(wire.to_decimal(extra.get(key)))


def reference_user(user: models.User, currency: str, _tc: Any = None) -> user_pb2.User:
    extra = user.extra

    def m(value: Decimal) -> money_pb2.Money:
        return reference_money(value, currency)

    def xm(key: str) -> money_pb2.Money:
        return m(wire.to_decimal(extra.get(key)))

    return user_pb2.User(
        login=user.login,
        group=user.group,
        rights=[p for p, bit in enums._RIGHTS_BY_VALUE if user.rights & bit],
        rights_mask=user.rights,
        name=user.name,
        first_name=user.first_name,
        last_name=user.last_name,
        middle_name=user.middle_name,
        company=user.company,
        bank_account=wire.to_str(extra.get("Account")),
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
        mqid=wire.to_str(extra.get("MQID")),
        client_id=wire.to_int(extra.get("ClientID")),
        lead_source=user.lead_source,
        lead_campaign=user.lead_campaign,
        trade_accounts=wire.to_str(extra.get("TradeAccounts")),
        limit_orders=wire.to_int(extra.get("LimitOrders")),
        limit_positions=wire.to_int(extra.get("LimitPositions")),
        registration_time=reference_timestamp(user.registration_time),
        last_access_time=reference_timestamp(user.last_access_time),
        last_password_change_time=reference_timestamp(user.last_pass_change_time),
        last_ip=user.last_ip,
        cert_serial_number=wire.to_int(extra.get("CertSerialNumber")),
        balance=m(user.balance),
        credit=m(user.credit),
        interest_rate=_dec(wire.to_decimal(extra.get("InterestRate"))),
        currency_digits=user.currency_digits,
        commission_daily=xm("CommissionDaily"),
        commission_monthly=xm("CommissionMonthly"),
        agent_commission_daily=xm("CommissionAgentDaily"),
        agent_commission_monthly=xm("CommissionAgentMonthly"),
        balance_prev_day=xm("BalancePrevDay"),
        balance_prev_month=xm("BalancePrevMonth"),
        equity_prev_day=xm("EquityPrevDay"),
        equity_prev_month=xm("EquityPrevMonth"),
    )


def reference_account(
    a: models.Account, currency: str, _tc: Any = None
) -> user_pb2.Account:
    def m(value: Decimal) -> money_pb2.Money:
        return reference_money(value, currency)

    return user_pb2.Account(
        login=a.login,
        currency_digits=a.currency_digits,
        balance=m(a.balance),
        credit=m(a.credit),
        margin=m(a.margin),
        margin_free=m(a.margin_free),
        margin_level=_dec(a.margin_level),
        margin_leverage=a.margin_leverage,
        margin_initial=m(a.margin_initial),
        margin_maintenance=m(a.margin_maintenance),
        profit=m(a.profit),
        storage=m(a.storage),
        floating=m(a.floating),
        equity=m(a.equity),
        so_activation=enums.SO_ACTIVATION.to_proto(a.so_activation),  # type: ignore[arg-type]
        so_time=reference_timestamp(a.so_time),
        so_level=_dec(a.so_level),
        so_equity=m(a.so_equity),
        so_margin=m(a.so_margin),
        blocked_commission=m(a.blocked_commission),
        blocked_profit=m(a.blocked_profit),
        assets=m(a.assets),
        liabilities=m(a.liabilities),
        commission=m(wire.to_decimal(a.extra.get("Commission"))),
    )


def reference_position(p: models.Position, currency: str, tc: Any) -> Any:
    x = p.extra
    return trade_pb2.Position(
        ticket=p.ticket,
        external_id=p.external_id,
        login=p.login,
        dealer=p.dealer,
        symbol=p.symbol,
        type=trade.POSITION_TYPE.to_proto(p.action),  # type: ignore[arg-type]
        digits=p.digits,
        currency_digits=p.digits_currency,
        contract_size=_dec(p.contract_size),
        create_time=reference_timestamp(p.create_time_msc or p.create_time),
        update_time=reference_timestamp(p.update_time_msc or p.update_time),
        open_price=_dec(p.price_open),
        current_price=_dec(p.price_current),
        stop_loss=_dec(p.price_sl),
        take_profit=_dec(p.price_tp),
        volume=_dec(p.volume),
        profit=reference_trade_money(p.profit, currency),
        storage=reference_trade_money(p.storage, currency),
        profit_rate=_dec(p.rate_profit),
        margin_rate=_dec(p.rate_margin),
        expert_id=p.expert_id,
        expert_position_id=p.expert_position_id,
        comment=p.comment,
        activation_mode=trade.ACTIVATION_POSITION.to_proto(_x_int(x, "ActivationMode")),  # type: ignore[arg-type]
        activation_time=reference_timestamp(tc.from_seconds(x.get("ActivationTime"))),
        activation_price=_x_dec(x, "ActivationPrice"),
        activation_flags=_x_int(x, "ActivationFlags"),
        modification_flags=p.modification_flags,
        reason=trade.TRADE_REASON.to_proto(p.reason),  # type: ignore[arg-type]
    )


def reference_order(o: models.Order, _currency: str, tc: Any) -> Any:
    x = o.extra
    return trade_pb2.Order(
        ticket=o.ticket,
        external_id=o.external_id,
        login=o.login,
        dealer=o.dealer,
        symbol=o.symbol,
        digits=o.digits,
        currency_digits=o.digits_currency,
        contract_size=_dec(o.contract_size),
        state=trade.ORDER_STATE.to_proto(o.state),  # type: ignore[arg-type]
        reason=trade.TRADE_REASON.to_proto(o.reason),  # type: ignore[arg-type]
        setup_time=reference_timestamp(o.setup_time_msc or o.setup_time),
        expiration_time=reference_timestamp(o.expiration_time),
        done_time=reference_timestamp(o.done_time_msc or o.done_time),
        type=trade.ORDER_TYPE.to_proto(o.type),  # type: ignore[arg-type]
        filling=trade.ORDER_FILLING.to_proto(o.type_fill),  # type: ignore[arg-type]
        time_type=trade.ORDER_TIME.to_proto(o.type_time),  # type: ignore[arg-type]
        order_price=_dec(o.price_order),
        trigger_price=_dec(o.price_trigger),
        current_price=_dec(o.price_current),
        stop_loss=_dec(o.price_sl),
        take_profit=_dec(o.price_tp),
        initial_volume=_dec(o.volume_initial),
        current_volume=_dec(o.volume_current),
        expert_id=o.expert_id,
        position_id=o.position_id,
        position_by_id=o.position_by_id,
        comment=o.comment,
        activation_mode=trade.ACTIVATION_ORDER.to_proto(_x_int(x, "ActivationMode")),  # type: ignore[arg-type]
        activation_time=reference_timestamp(tc.from_seconds(x.get("ActivationTime"))),
        activation_price=_x_dec(x, "ActivationPrice"),
        activation_flags=_x_int(x, "ActivationFlags"),
        margin_rate=_dec(o.rate_margin),
        modification_flags=o.modification_flags,
    )


def reference_deal(d: models.Deal, currency: str, _tc: Any) -> Any:
    x = d.extra

    def m(value: Decimal) -> money_pb2.Money:
        return reference_trade_money(value, currency)

    return trade_pb2.Deal(
        ticket=d.ticket,
        external_id=d.external_id,
        login=d.login,
        dealer=d.dealer,
        order_ticket=d.order,
        action=trade.DEAL_ACTION.to_proto(d.action),  # type: ignore[arg-type]
        entry=trade.DEAL_ENTRY.to_proto(d.entry),  # type: ignore[arg-type]
        reason=trade.TRADE_REASON.to_proto(d.reason),  # type: ignore[arg-type]
        digits=d.digits,
        currency_digits=d.digits_currency,
        contract_size=_dec(d.contract_size),
        execute_time=reference_timestamp(d.time_msc or d.time),
        symbol=d.symbol,
        price=_dec(d.price),
        stop_loss=_dec(d.price_sl),
        take_profit=_dec(d.price_tp),
        volume=_dec(d.volume),
        closed_volume=_dec(d.volume_closed),
        profit=m(d.profit),
        value=m(d.value),
        storage=m(d.storage),
        commission=m(d.commission),
        fee=m(d.fee),
        profit_rate=_dec(d.rate_profit),
        margin_rate=_dec(d.rate_margin),
        expert_id=d.expert_id,
        position_id=d.position_id,
        comment=d.comment,
        raw_profit=_x_dec(x, "ProfitRaw"),
        position_price=_dec(d.price_position),
        tick_value=_x_dec(x, "TickValue"),
        tick_size=_x_dec(x, "TickSize"),
        flags=_x_int(x, "Flags"),
        gateway=d.gateway,
        gateway_price=_x_dec(x, "PriceGateway"),
        market_bid=_x_dec(x, "MarketBid"),
        market_ask=_x_dec(x, "MarketAsk"),
        market_last=_x_dec(x, "MarketLast"),
        modification_flags=d.modification_flags,
    )


USER_EXTRA_KEYS = [
    "Account", "MQID", "ClientID", "TradeAccounts", "LimitOrders", "LimitPositions",
    "CertSerialNumber", "InterestRate", "CommissionDaily", "CommissionMonthly",
    "CommissionAgentDaily", "CommissionAgentMonthly", "BalancePrevDay",
    "BalancePrevMonth", "EquityPrevDay", "EquityPrevMonth", "Commission",
    "ActivationMode", "ActivationTime", "ActivationPrice", "ActivationFlags",
    "ProfitRaw", "TickValue", "TickSize", "Flags", "PriceGateway", "MarketBid",
    "MarketAsk", "MarketLast",
]  # fmt: skip

MAPPINGS: list[tuple[type[Record], Any, Any]] = [
    (models.User, lambda r, c, _tc: users.user_to_proto(r, c), reference_user),
    (models.Account, lambda r, c, _tc: users.account_to_proto(r, c), reference_account),
    (models.Position, trade.position_to_proto, reference_position),
    (models.Order, trade.order_to_proto, reference_order),
    (models.Deal, trade.deal_to_proto, reference_deal),
]


@pytest.mark.parametrize(
    ("cls", "fast", "reference"), MAPPINGS, ids=lambda v: getattr(v, "__name__", "")
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), tc=tcs, currency=st.sampled_from(["USD", "JPY"]))
def test_to_proto_matches_reference(  # noqa: PLR0917 - hypothesis + parametrize
    cls: type[Record],
    fast: Any,
    reference: Any,
    data: st.DataObject,
    tc: wire.TimeConvention,
    currency: str,
) -> None:
    raw = data.draw(wire_records(cls))
    extras = data.draw(
        st.dictionaries(
            st.sampled_from(USER_EXTRA_KEYS),
            st.one_of(plausible(Kind.DEC), plausible(Kind.DEC), time_values),
        )
    )
    raw.update(extras)
    try:
        record = reference_from_wire(cls, raw, tc)
    except (ProtocolError, ValueError, ArithmeticError):
        return  # from_wire's errors are covered above ("sNaN" ints: InvalidOperation)
    same(fast, reference, record, currency, tc)


def test_simulator_records_map_identically() -> None:
    """The records the simulator sends (realistic: what the benchmark maps)."""
    from mt5sim.market import wire as sim_wire  # noqa: PLC0415
    from mt5sim.market.broker import Broker  # noqa: PLC0415

    broker = Broker.seeded(1, 1_767_225_600.0)
    user_json = [sim_wire.user(u) for u in broker.users.values()]
    accounts = [sim_wire.account(broker.account(u)) for u in broker.users.values()]
    positions = [sim_wire.position(broker, p) for p in broker.positions.values()]
    orders = [sim_wire.order(broker, o) for o in broker.history_orders.values()]
    deals = [sim_wire.deal(d) for d in broker.deals.values()]
    cases: list[tuple[type[Record], Any, Any, list[dict[str, Any]]]] = [
        (*MAPPINGS[0], user_json),
        (*MAPPINGS[1], accounts),
        (*MAPPINGS[2], positions),
        (*MAPPINGS[3], orders),
        (*MAPPINGS[4], deals),
    ]
    tc = wire.UTC_TIME
    for cls, fast, reference, items in cases:
        assert items
        for raw in items:
            ref_record = reference_from_wire(cls, raw, tc)
            record = cls.from_wire(raw, tc)
            assert record_dump(record) == record_dump(ref_record)
            same(fast, reference, record, "USD", tc)
