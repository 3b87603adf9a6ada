"""Explicit MT5 integer <-> proto enum tables, both ways (docs/architecture.md#enums).

Proto numbers never equal MT5's (``*_UNSPECIFIED = 0`` comes first). An MT5 value a
table does not know maps to the enum's UNSPECIFIED (MT5 adds members in new builds);
mapping a proto value MT5 has no number for raises ValueError (validation catches it
first).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, TypeVar

from google.type import dayofweek_pb2
from mt5gateway.v1 import config_pb2, quote_pb2, server_pb2, user_pb2

from mt5gateway_server.webapi import BreakerState, PasswordType

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "BREAKER_STATE",
    "DAY_OF_WEEK",
    "PASSWORD_TYPE",
    "SO_ACTIVATION",
    "SYMBOL_TRADE_MODE",
    "TICK_DIRECTION",
    "USER_RIGHT_BITS",
    "EnumTable",
    "rights_from_mask",
    "rights_to_mask",
    "rights_tuple",
]

K = TypeVar("K")


class EnumTable(Generic[K]):
    """One MT5 enum: ``to_proto`` total (unknown -> 0), ``to_mt5`` strict."""

    def __init__(self, name: str, pairs: Mapping[K, int]) -> None:
        values = list(pairs.values())
        if len(set(values)) != len(values) or 0 in values:
            raise ValueError(f"{name}: proto values must be unique and non-zero")
        self.name = name
        self.forward: Mapping[K, int] = MappingProxyType(dict(pairs))
        self.backward: Mapping[int, K] = MappingProxyType(
            {v: k for k, v in pairs.items()}
        )

    def __repr__(self) -> str:
        return f"<EnumTable {self.name} {dict(self.forward)}>"

    def to_proto(self, mt5: K) -> int:
        return self.forward.get(mt5, 0)

    def to_mt5(self, proto: int) -> K:
        try:
            return self.backward[proto]
        except KeyError:
            raise ValueError(f"{self.name}: no MT5 value for {proto}") from None

    def accepts(self, proto: int) -> bool:
        return proto in self.backward


_U = user_pb2

# EnUsersRights bit -> UserRight.
USER_RIGHT_BITS: EnumTable[int] = EnumTable(
    "UserRight",
    {
        0x1: _U.USER_RIGHT_ENABLED,
        0x2: _U.USER_RIGHT_PASSWORD,
        0x4: _U.USER_RIGHT_TRADE_DISABLED,
        0x8: _U.USER_RIGHT_INVESTOR,
        0x10: _U.USER_RIGHT_CONFIRMED,
        0x20: _U.USER_RIGHT_TRAILING,
        0x40: _U.USER_RIGHT_EXPERT,
        0x80: _U.USER_RIGHT_OBSOLETE,
        0x100: _U.USER_RIGHT_REPORTS,
        0x200: _U.USER_RIGHT_READONLY,
        0x400: _U.USER_RIGHT_RESET_PASSWORD,
        0x800: _U.USER_RIGHT_OTP_ENABLED,
        0x2000: _U.USER_RIGHT_SPONSORED_HOSTING,
        0x4000: _U.USER_RIGHT_API_ENABLED,
        0x8000: _U.USER_RIGHT_PUSH_NOTIFICATION,
        0x10000: _U.USER_RIGHT_TECHNICAL,
        0x20000: _U.USER_RIGHT_EXCLUDE_REPORTS,
    },
)


_RIGHTS_BY_VALUE = sorted((p, bit) for bit, p in USER_RIGHT_BITS.forward.items())
_KNOWN_RIGHT_BITS = sum(USER_RIGHT_BITS.forward)
# Known bits of a mask -> its rights; at most 2**17 keys, in practice a handful.
_RIGHTS: dict[int, tuple[int, ...]] = {}


def rights_tuple(mask: int) -> tuple[int, ...]:
    """``rights_from_mask`` as a shared (cached) tuple."""
    known = mask & _KNOWN_RIGHT_BITS
    rights = _RIGHTS.get(known)
    if rights is None:
        rights = _RIGHTS[known] = tuple(p for p, bit in _RIGHTS_BY_VALUE if known & bit)
    return rights


def rights_from_mask(mask: int) -> list[int]:
    """The UserRight values of the known bits set in ``mask``, ascending."""
    return list(rights_tuple(mask))


def rights_to_mask(rights: Iterable[int]) -> int:
    mask = 0
    for right in rights:
        mask |= USER_RIGHT_BITS.to_mt5(right)
    return mask


PASSWORD_TYPE: EnumTable[PasswordType] = EnumTable(
    "PasswordType",
    {
        PasswordType.MAIN: _U.PASSWORD_TYPE_MAIN,
        PasswordType.INVESTOR: _U.PASSWORD_TYPE_INVESTOR,
        PasswordType.API: _U.PASSWORD_TYPE_API,
    },
)

# EnSoActivation.
SO_ACTIVATION: EnumTable[int] = EnumTable(
    "SoActivation",
    {
        0: _U.SO_ACTIVATION_NONE,
        1: _U.SO_ACTIVATION_MARGIN_CALL,
        2: _U.SO_ACTIVATION_STOP_OUT,
    },
)

# EnTradeMode of a symbol.
SYMBOL_TRADE_MODE: EnumTable[int] = EnumTable(
    "SymbolTradeMode",
    {
        0: config_pb2.SYMBOL_TRADE_MODE_DISABLED,
        1: config_pb2.SYMBOL_TRADE_MODE_LONG_ONLY,
        2: config_pb2.SYMBOL_TRADE_MODE_SHORT_ONLY,
        3: config_pb2.SYMBOL_TRADE_MODE_CLOSE_ONLY,
        4: config_pb2.SYMBOL_TRADE_MODE_FULL,
    },
)

# TickStat *Dir.
TICK_DIRECTION: EnumTable[int] = EnumTable(
    "TickDirection",
    {
        0: quote_pb2.TICK_DIRECTION_UNCHANGED,
        1: quote_pb2.TICK_DIRECTION_UP,
        2: quote_pb2.TICK_DIRECTION_DOWN,
    },
)

# MT5 day numbers (0 = Sunday, as in C's tm_wday) -> google.type.DayOfWeek.
DAY_OF_WEEK: EnumTable[int] = EnumTable(
    "DayOfWeek",
    {
        0: dayofweek_pb2.SUNDAY,
        1: dayofweek_pb2.MONDAY,
        2: dayofweek_pb2.TUESDAY,
        3: dayofweek_pb2.WEDNESDAY,
        4: dayofweek_pb2.THURSDAY,
        5: dayofweek_pb2.FRIDAY,
        6: dayofweek_pb2.SATURDAY,
    },
)

BREAKER_STATE: EnumTable[BreakerState] = EnumTable(
    "BreakerState",
    {
        BreakerState.CLOSED: server_pb2.BREAKER_STATE_CLOSED,
        BreakerState.OPEN: server_pb2.BREAKER_STATE_OPEN,
        BreakerState.HALF_OPEN: server_pb2.BREAKER_STATE_HALF_OPEN,
    },
)
