"""PriceFeed: moves quotes with a random walk around the history curve until
cancelled."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mt5sim.market.broker import Broker

_WAKEUP = 0.05  # seconds between batches; updates are spread evenly over symbols


class PriceFeed:
    """``ticks_per_second`` is per symbol; 0 or less freezes prices."""

    def __init__(
        self,
        broker: Broker,
        ticks_per_second: float,
        seed: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker = broker
        self._clock = clock  # the server's (possibly shifted) wall clock
        self.ticks_per_second = ticks_per_second
        self._rng = random.Random(seed ^ 0x5EED)
        self._names = list(broker.ticks)

    def step(self, now: float, count: int = 1) -> None:
        """Move ``count`` randomly chosen symbols once (tests call this directly)."""
        rng = self._rng
        broker = self.broker
        for _ in range(count):
            name = rng.choice(self._names)
            tick = broker.ticks[name]
            spec = tick.symbol
            # Quotes wander around the seeded history curve (mean-reverting offset),
            # so chart/get and tick/history stay close to what tick/last showed.
            curve = broker.price_history[name].mid(now) - spec.spread // 2
            offset = round((tick.bid - curve) * 0.98 + rng.gauss(0, spec.volatility))
            bid = max(1, curve + offset)
            ask = bid + spec.spread + rng.choice((0, 0, 0, 1, 2))
            broker.apply_tick(name, bid, ask, int(now * 1000))

    async def run(self) -> None:
        if self.ticks_per_second <= 0:
            await asyncio.Event().wait()  # frozen prices: idle until cancelled
        rate = self.ticks_per_second * len(self._names)
        budget = 0.0
        last = time.monotonic()
        while True:
            await asyncio.sleep(_WAKEUP)
            current = time.monotonic()
            budget += (current - last) * rate
            last = current
            count = int(budget)
            if count:
                budget -= count
                self.step(self._clock(), count)
