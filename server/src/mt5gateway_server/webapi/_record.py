"""The record engine behind ``models``: wire fields declared once, parsed fast.

A record class is a frozen, slotted dataclass whose fields say where they come from::

    @record
    class Tick(Record):
        symbol: str = wire("Symbol", S)
        bid: Decimal = wire("Bid", D)
        extra: Mapping[str, Any] = unmodelled()

``record`` derives the class's ``SPEC`` from those fields; ``Record.from_wire`` turns
``SPEC`` into a per-class plan on first use. Values are read leniently (strings or
numbers), money and prices as ``Decimal``, lots from the ``...Ext`` volume (1/10^8
lot) with the 1/10^4 field as fallback, times as aware datetimes (see
``wire.TimeConvention``; 0 becomes None). Fields not modelled stay in ``extra``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType, MemberDescriptorType
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, dataclass_transform

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
    # A SPEC written out by hand (a Record subclass that is not ``@record``).
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


# The second argument is the TimeConvention the time converters need (unused here):
# one signature for every converter, so a plan calls each field's converter directly.


def fast_to_str(value: object, _tc: object = None) -> str:
    """``wire.to_str``."""
    return value if type(value) is str else to_str(value)


def fast_to_int(value: object, _tc: object = None) -> int:
    """``wire.to_int``: ``int()`` strips the same whitespace ``str.strip`` does."""
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass  # "", "1.0", "1e3", garbage: the reference decides
    elif type(value) is int:
        return value
    return to_int(value)


def fast_to_decimal(value: object, _tc: object = None) -> Decimal:
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


def _raw_field(value: object, _tc: TimeConvention) -> object:
    return value


_CONVERTERS: Mapping[Kind, _Converter] = {
    Kind.STR: fast_to_str,
    Kind.INT: fast_to_int,
    Kind.DEC: fast_to_decimal,
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


# ---------------------------------------------------------------- declaring records

_WIRE = "mt5_wire"  # dataclass field metadata key: (keys, kind)
RecordClass = TypeVar("RecordClass", bound=type[Record])


def wire(keys: str | tuple[str, ...], kind: Kind) -> Any:  # noqa: ANN401 - a field
    """A record field read from ``keys`` (the first present wins; lots: ext, legacy)."""
    return field(metadata={_WIRE: ((keys,) if isinstance(keys, str) else keys, kind)})


def unmodelled() -> Any:  # noqa: ANN401 - a field
    """The ``extra`` field: every key of the answer the record does not model."""
    return field(default_factory=lambda: _EMPTY, repr=False, compare=False)


@dataclass_transform(
    frozen_default=True, kw_only_default=True, field_specifiers=(field, wire)
)
def record(cls: RecordClass) -> RecordClass:
    """A frozen, slotted, keyword-only dataclass whose ``SPEC`` is its wire fields."""
    made = dataclass(frozen=True, slots=True, kw_only=True)(cls)
    made.SPEC = tuple(
        _F(f.name, *f.metadata[_WIRE])
        for f in fields(made)  # type: ignore[arg-type]
        if _WIRE in f.metadata
    )
    return made  # type: ignore[return-value]
