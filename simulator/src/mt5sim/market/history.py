"""Deterministic price history: a random-access function of (seed, symbol, time).

Bars and ticks of any past range are computed on demand, so chart/get and
tick/history need no stored data and give the same rows for the same seed.
The shape is two slow waves plus per-minute hashed noise around the symbol's
reference price.
"""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mt5sim.market.instruments import SymbolSpec

_MASK64 = (1 << 64) - 1


def _mix(x: int) -> int:
    # splitmix64 finaliser: a cheap, well-spread integer hash.
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
    return x ^ (x >> 31)


def unit_noise(salt: int, n: int) -> float:
    """A deterministic value in [-1, 1) for (salt, n)."""
    return _mix((salt * 0x9E3779B97F4A7C15 + n) & _MASK64) / 2**63 - 1.0


def weekday(t: int) -> int:
    """Day of week of a unix time, Sunday = 0 (1970-01-01 was a Thursday)."""
    return (t // 86400 + 4) % 7


class PriceHistory:
    """Historical mid prices of one symbol, in points."""

    __slots__ = ("_base", "_phase1", "_phase2", "_salt", "spec")

    def __init__(self, spec: SymbolSpec, seed: int) -> None:
        self.spec = spec
        self._salt = zlib.crc32(f"{seed}:{spec.name}".encode())
        self._phase1 = (unit_noise(self._salt, -1) + 1) * math.pi
        self._phase2 = (unit_noise(self._salt, -2) + 1) * math.pi
        self._base = float(spec.to_points(spec.price))

    def is_open(self, t: int) -> bool:
        return self.spec.always_open or weekday(t) not in {0, 6}

    def mid(self, t: float) -> int:
        """Mid price in points at unix time ``t`` (seconds)."""
        minutes = t / 60.0
        wave = 0.015 * math.sin(minutes / 4_300.0 + self._phase1) + 0.003 * math.sin(
            minutes / 230.0 + self._phase2
        )
        noise = 0.0004 * unit_noise(self._salt, int(t) // 20)
        return round(self._base * (1.0 + wave + noise))

    def bar(self, minute_start: int) -> tuple[int, int, int, int, int]:
        """(open, high, low, close, tick volume) in points for the M1 bar."""
        o = self.mid(minute_start)
        c = self.mid(minute_start + 59)
        wiggle = max(1, self.spec.volatility)
        h = max(o, c) + int(abs(unit_noise(self._salt, minute_start + 1)) * 3 * wiggle)
        lo = min(o, c) - int(abs(unit_noise(self._salt, minute_start + 2)) * 3 * wiggle)
        ticks = 20 + int(abs(unit_noise(self._salt, minute_start + 3)) * 100)
        return o, h, lo, c, ticks

    def tick_msc(self, second: int) -> int | None:
        """The time (ms) of the tick in this second, or None: about one every 3 s."""
        r = _mix((self._salt << 32) ^ second)
        if r % 3:
            return None
        return second * 1000 + (r >> 8) % 1000
