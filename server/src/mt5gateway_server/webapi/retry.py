"""Backoff strategies, the per-server circuit breaker, the one retry loop
(``RetryPolicy.call``), the one table of retcode actions, and the call deadline.

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
from typing import TypeVar

T = TypeVar("T")
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
    """The one retry loop (``call``): how often, how long, never past the deadline."""

    attempts: int = 4  # total, including the first
    backoff: Backoff = ExponentialBackoff(0.05, 1.0)
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.monotonic

    def delay(self, failures: int, deadline: float | None) -> float | None:
        """Delay before attempt ``failures + 1``, or None when no retry is allowed."""
        if failures >= self.attempts:
            return None
        pause = self.backoff.compute(failures)
        # Without a pause the next attempt itself reports a deadline that has passed.
        if pause and deadline is not None and self.clock() + pause >= deadline:
            return None
        return pause

    async def call(
        self,
        do: Callable[[], Awaitable[T]],
        *,
        is_retryable: Callable[[Exception], bool],
        on_fail: Callable[[Exception, float | None], None] | None = None,
    ) -> T:
        """``await do()`` until it returns; an exception ``is_retryable`` refuses, or
        the last one once attempts or the deadline run out, is raised. ``on_fail`` sees
        every retryable failure with the delay before the next attempt (None: none)."""
        failures = 0
        while True:
            try:
                return await do()
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                failures += 1
                delay = self.delay(failures, current_deadline())
                if on_fail is not None:
                    on_fail(exc, delay)
                if delay is None:
                    raise
                if delay:
                    await self.sleep(delay)


class RetcodeAction(enum.Enum):
    ANSWER = "answer"  # returned (0 or accepted) or raised as RetcodeError
    RETRY = "retry"  # reads only: sent again, on any session, after a backoff
    REAUTH = "reauth"  # an established session logs in again and repeats it once


# Reads answered so are sent again: the server was busy, unavailable or timed out
# (7, 9, 10, 11, 12, 15, 1018, 10012, 10024) or has not loaded the data yet (1).
RETRY_RETCODES = frozenset({1, 7, 9, 10, 11, 12, 15, 1018, 10012, 10024})


def retcode_action(
    retcode: int,
    *,
    write: bool,
    reauth: frozenset[int] = frozenset(),
    established: bool = True,
) -> RetcodeAction:
    """The one table of what a retcode does to the request that got it.

    ``reauth`` (``ServerConfig.reauth_retcodes``, never 0, 9 or 10012): a server that
    answers a forgotten session with a retcode instead of HTTP 403 refused the request,
    so an established session logs in again and repeats it; on a fresh session the
    retcode is the real answer. A write is never retried on a retcode: 9 and 10012
    leave its outcome open (``OUTCOME_OPEN_RETCODES``, reconciled by the caller), any
    other is its answer.
    """
    if retcode in reauth and established:
        return RetcodeAction.REAUTH
    if retcode in RETRY_RETCODES and not write:
        return RetcodeAction.RETRY
    return RetcodeAction.ANSWER


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
