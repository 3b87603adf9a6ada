"""Prices: ticks and their statistics (``tick/*``), tick history rows and M1 bars
(``tick/history``, ``chart/get``), and the page a history read returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mt5gateway_server.webapi._record import (
    TM,
    D,
    N,
    Record,
    S,
    T,
    record,
    unmodelled,
    wire,
)
from mt5gateway_server.webapi.errors import ProtocolError
from mt5gateway_server.webapi.wire import UTC_TIME, TimeConvention, to_decimal, to_int

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from decimal import Decimal


@record
class Tick(Record):
    symbol: str = wire("Symbol", S)
    digits: int = wire("Digits", N)
    time: datetime | None = wire("Datetime", T)
    time_msc: datetime | None = wire("DatetimeMsc", TM)
    bid: Decimal = wire("Bid", D)
    ask: Decimal = wire("Ask", D)
    last: Decimal = wire("Last", D)
    volume: int = wire("Volume", N)
    volume_real: Decimal = wire("VolumeReal", D)
    extra: Mapping[str, Any] = unmodelled()


@record
class TickStat(Record):
    symbol: str = wire("Symbol", S)
    digits: int = wire("Digits", N)
    time: datetime | None = wire("Datetime", T)
    time_msc: datetime | None = wire("DatetimeMsc", TM)
    bid: Decimal = wire("Bid", D)
    bid_low: Decimal = wire("BidLow", D)
    bid_high: Decimal = wire("BidHigh", D)
    bid_dir: int = wire("BidDir", N)
    ask: Decimal = wire("Ask", D)
    ask_low: Decimal = wire("AskLow", D)
    ask_high: Decimal = wire("AskHigh", D)
    ask_dir: int = wire("AskDir", N)
    last: Decimal = wire("Last", D)
    last_low: Decimal = wire("LastLow", D)
    last_high: Decimal = wire("LastHigh", D)
    last_dir: int = wire("LastDir", N)
    volume: int = wire("Volume", N)
    volume_low: int = wire("VolumeLow", N)
    volume_high: int = wire("VolumeHigh", N)
    trade_deals: int = wire("TradeDeals", N)
    trade_volume: int = wire("TradeVolume", N)
    price_open: Decimal = wire("PriceOpen", D)
    price_close: Decimal = wire("PriceClose", D)
    price_change: Decimal = wire("PriceChange", D)
    extra: Mapping[str, Any] = unmodelled()


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


# One row of a history answer: what a HistoryPage holds.
HistoryRow = TypeVar("HistoryRow", TickRow, ChartBar)


@dataclass(frozen=True, slots=True)
class HistoryPosition:
    """Where a history read resumes: at ``time`` (a whole second), after the first
    ``skip`` rows of that second (returned by an earlier page)."""

    time: datetime
    skip: int = 0


@dataclass(frozen=True, slots=True)
class HistoryPage(Generic[HistoryRow]):
    rows: list[HistoryRow]
    next: HistoryPosition | None  # None: nothing is left in the range
