"""Backoff strategy objects, the per-server circuit breaker and the retry policy.

Time and randomness are injected so tests assert exact delays without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Rng = Callable[[], float]  # uniform in [0, 1)


class Backoff(ABC):
    @abstractmethod
    def compute(self, failures: int) -> float:
        """Seconds to wait before the next attempt, after ``failures`` (>= 1)."""


class NoBackoff(Backoff):
    def compute(self, failures: int) -> float:  # noqa: ARG002
        return 0.0


@dataclass(frozen=True, slots=True)
class ConstantBackoff(Backoff):
    delay: float

    def compute(self, failures: int) -> float:  # noqa: ARG002
        return self.delay


def _exp(base: float, cap: float, failures: int) -> float:
    # Capped before exponentiation grows huge; 2**64 is plenty.
    exponent = min(max(failures - 1, 0), 64)
    return float(min(cap, base * 2.0**exponent))


@dataclass(frozen=True, slots=True)
class ExponentialBackoff(Backoff):
    base: float = 0.1
    cap: float = 10.0

    def compute(self, failures: int) -> float:
        return _exp(self.base, self.cap, failures)


@dataclass(frozen=True, slots=True)
class FullJitterBackoff(Backoff):
    """AWS "full jitter": uniform in [0, min(cap, base * 2^(n-1)))."""

    base: float = 0.1
    cap: float = 10.0
    rng: Rng = random.random

    def compute(self, failures: int) -> float:
        return self.rng() * _exp(self.base, self.cap, failures)


@dataclass(frozen=True, slots=True)
class EqualJitterBackoff(Backoff):
    """Half fixed, half random: [d/2, d) with d = min(cap, base * 2^(n-1))."""

    base: float = 0.1
    cap: float = 10.0
    rng: Rng = random.random

    def compute(self, failures: int) -> float:
        delay = _exp(self.base, self.cap, failures)
        return delay / 2 + self.rng() * delay / 2


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker: ``threshold`` failures open it for ``reset_timeout``
    seconds; then one trial call is let through (half-open); its success closes it."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        reset_timeout: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def failures(self) -> int:
        return self._failures

    def retry_after(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def allow(self) -> bool:
        """May an attempt go out now? In half-open state only one trial at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self._failures += 1
        self._trial_running = False
        if self._opened_at is not None or self._failures >= self.threshold:
            # A failed trial re-opens for a full period.
            self._opened_at = self._clock()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry an idempotent call; never past the deadline."""

    attempts: int = 4  # total, including the first
    backoff: Backoff = ExponentialBackoff(0.05, 1.0)
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.monotonic

    def delay(self, failures: int, deadline: float | None) -> float | None:
        """Delay before attempt ``failures + 1``, or None when no retry is allowed."""
        if failures >= self.attempts:
            return None
        pause = self.backoff.compute(failures)
        if deadline is not None and self.clock() + pause >= deadline:
            return None
        return pause


# ---------------------------------------------------------------------------- deadline

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "mt5_webapi_deadline", default=None
)


def current_deadline() -> float | None:
    """The caller's absolute deadline on ``time.monotonic()``, if one is set."""
    return _DEADLINE.get()


def remaining(clock: Clock = time.monotonic) -> float | None:
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - clock()


@contextlib.contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Cap every Web API call inside the block (e.g. the RPC's ``time_remaining()``).

    Nested scopes keep the earlier deadline.
    """
    if seconds is None:
        yield
        return
    new = time.monotonic() + seconds
    old = _DEADLINE.get()
    token = _DEADLINE.set(new if old is None else min(old, new))
    try:
        yield
    finally:
        _DEADLINE.reset(token)
