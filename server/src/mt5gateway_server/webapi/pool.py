"""SessionPool: N authenticated sessions per MT5 server; PoolManager: several servers.

One request in flight per session; a caller waits a bounded time for a free session and
then gets ``PoolTimeout``. Broken sessions are replaced in the background with backoff,
guarded by a per-server circuit breaker so a dead server fails fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import structlog

from mt5gateway_server.webapi.client import WebApiClient
from mt5gateway_server.webapi.errors import (
    AuthError,
    CircuitOpen,
    ConnectError,
    DeadlineExceeded,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RetcodeError,
    TransportError,
    WebApiError,
)
from mt5gateway_server.webapi.metrics import NullMetrics, PoolSnapshot, WebApiMetrics
from mt5gateway_server.webapi.retry import (
    Backoff,
    BreakerState,
    CircuitBreaker,
    Clock,
    ExponentialBackoff,
    FullJitterBackoff,
    RetcodeAction,
    RetryPolicy,
    Sleep,
    current_deadline,
    retcode_action,
)
from mt5gateway_server.webapi.session import Mt5Session, SessionState
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from types import TracebackType

    from mt5gateway_server.webapi.config import ServerConfig
    from mt5gateway_server.webapi.wire import Envelope, JsonBody, QueryValue

log = structlog.get_logger("mt5gateway.webapi")

SessionFactory = Callable[..., Awaitable[Mt5Session]]


@dataclass(eq=False, slots=True)
class _Slot:
    index: int
    session: Mt5Session | None = None
    leased: bool = False
    failing: bool = False  # the last attempt to (re)open failed
    filler: asyncio.Task[None] | None = None
    last_used: float = 0.0


async def _default_factory(config: ServerConfig, **kwargs: object) -> Mt5Session:
    return await Mt5Session.open(config, **kwargs)  # type: ignore[arg-type]


class SessionPool:
    def __init__(
        self,
        config: ServerConfig,
        *,
        metrics: WebApiMetrics | None = None,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        session_factory: SessionFactory = _default_factory,
    ) -> None:
        self.config = config
        self.name = config.name
        self._metrics = metrics or NullMetrics()
        self._backoff = backoff or FullJitterBackoff(
            config.backoff_base, config.backoff_cap
        )
        self._breaker = breaker or CircuitBreaker(
            threshold=config.breaker_failure_threshold,
            reset_timeout=config.breaker_reset_timeout,
            clock=clock,
        )
        self._retry = retry or RetryPolicy(
            attempts=1 + config.read_retries,
            backoff=ExponentialBackoff(min(0.05, config.backoff_base), 1.0),
            sleep=sleep,
            clock=clock,
        )
        self._sleep = sleep
        self._clock = clock
        self._factory = session_factory
        self._slots = [_Slot(i) for i in range(config.pool_size)]
        self._waiters: deque[asyncio.Future[_Slot]] = deque()
        self._started = False
        self._closing = False
        self._close_task: asyncio.Future[None] | None = None
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self.last_error: BaseException | None = None

    # ------------------------------------------------------------------ state

    def snapshot(self) -> PoolSnapshot:
        counts = dict.fromkeys(SessionState, 0)
        connecting = broken = 0
        for slot in self._slots:
            s = slot.session
            if s is None:
                if slot.failing:
                    broken += 1
                else:
                    connecting += 1
            elif s.state is SessionState.READY and slot.leased:
                counts[SessionState.BUSY] += 1
            else:
                counts[s.state] += 1
        return PoolSnapshot(
            server=self.name,
            size=len(self._slots),
            connecting=connecting + counts[SessionState.CONNECTING],
            ready=counts[SessionState.READY],
            busy=counts[SessionState.BUSY],
            reauthenticating=counts[SessionState.REAUTHENTICATING],
            broken=broken + counts[SessionState.BROKEN] + counts[SessionState.CLOSED],
            waiting=sum(
                1 for w in tuple(self._waiters) if not w.done()
            ),  # scrape thread
        )

    def __repr__(self) -> str:
        s = self.snapshot()
        connecting = f", {s.connecting} connecting" if s.connecting else ""
        closed = " closed" if self._closing else ""
        return (
            f"<SessionPool {self.name}{closed} [{s.ready} ready, {s.busy} busy,"
            f" {s.reauthenticating} reauth, {s.broken} broken{connecting}"
            f" | {s.waiting} waiting]>"
        )

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def serving(self) -> bool:
        """A session can take a request now or after the current one (health)."""
        snap = self.snapshot()
        return not self._closing and snap.ready + snap.busy > 0

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    @property
    def sessions(self) -> list[Mt5Session]:
        return [slot.session for slot in self._slots if slot.session is not None]

    def _notify_changed(self) -> None:
        # Metrics pull ``snapshot()`` at scrape time (registered in ``start``): the
        # hot path only wakes whoever waits for a state change.
        self._changed.set()

    # ------------------------------------------------------------------ start / fill

    async def start(self, *, wait: bool = True) -> None:
        """Open every session in the background; with ``wait``, return once one is
        ready. Raises the last error when no slot got a session and either the
        handshake was refused or the breaker opened (transient failures are retried)."""
        if self._started:
            return
        self._started = True
        self._metrics.watch_pool(self.name, self.snapshot)
        for slot in self._slots:
            self._spawn_filler(slot, failures=0)
        self._notify_changed()
        if not wait:
            return
        while not self._ready.is_set():
            if self._closing:
                raise ConnectError("pool closed while starting", server=self.name)
            err = self.last_error
            hopeless = (
                isinstance(err, AuthError) or self._breaker.state is BreakerState.OPEN
            )
            if err is not None and hopeless and all(s.failing for s in self._slots):
                # Wrong credentials or a dead server: fail start-up instead of hanging.
                raise err
            self._changed.clear()
            await self._changed.wait()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _spawn_filler(self, slot: _Slot, failures: int) -> None:
        # Often called from inside a call (``release_slot``): ``spawn`` keeps that
        # call's deadline and log fields out of the re-connect.
        slot.filler = spawn(
            self._fill(slot, failures), name=f"mt5-fill-{self.name}-{slot.index}"
        )

    async def _fill(self, slot: _Slot, failures: int) -> None:
        while not self._closing:
            if failures:
                # Wait out the backoff, and at least until the breaker allows a trial.
                await self._sleep(
                    max(self._backoff.compute(failures), self._breaker.retry_after())
                )
                if self.closing:
                    return
            if not self._breaker.allow():
                failures = max(failures, 1)
                continue
            try:
                session = await self._factory(
                    self.config,
                    index=slot.index,
                    metrics=self._metrics,
                    on_broken=self._on_broken,
                )
            except (WebApiError, OSError) as exc:
                failures += 1
                self._breaker.record_failure()
                self.last_error = exc
                slot.failing = True
                log.warning(
                    "mt5_session_open_failed",
                    server=self.name,
                    index=slot.index,
                    failures=failures,
                    error=type(exc).__name__,
                    breaker=self._breaker.state.value,
                )
                self._notify_changed()
                continue
            self._breaker.record_success()
            slot.failing = False
            if self.closing:
                await session.aclose()
                return
            slot.session = session
            slot.last_used = self._clock()
            self._ready.set()
            self._hand_over(slot)
            self._notify_changed()
            return

    def _on_broken(self, session: Mt5Session) -> None:
        # Called by a session whose idle ping failed.
        for slot in self._slots:
            if slot.session is session and not slot.leased:
                self._replace(slot, reason="ping_failed")
        self._notify_changed()

    def _replace(self, slot: _Slot, *, reason: str) -> None:
        old = slot.session
        slot.session = None
        slot.failing = True
        self._metrics.reconnect(self.name, reason)
        log.info(
            "mt5_session_replaced", server=self.name, index=slot.index, reason=reason
        )
        if old is not None:
            spawn(old.aclose(send_quit=False), name=f"mt5-close-{self.name}")
        if not self._closing:
            self._spawn_filler(slot, failures=1)

    # ------------------------------------------------------------ acquire / release

    def _pick(self) -> _Slot | None:
        best: _Slot | None = None
        for slot in self._slots:
            s = slot.session
            if slot.leased or s is None or s.state is not SessionState.READY:
                continue
            # Least recently used: spreads load, so no session idles into a ping.
            if best is None or slot.last_used < best.last_used:
                best = slot
        return best

    def _hand_over(self, slot: _Slot) -> None:
        """Give a free slot to the first live waiter, or leave it idle."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                slot.leased = True
                fut.set_result(slot)
                return
        slot.leased = False

    def _any_live(self) -> bool:
        return any(slot.session is not None for slot in self._slots)

    async def _acquire(self, max_wait: float | None = None) -> _Slot:
        if self._closing:
            raise ConnectError("pool is closed", server=self.name)
        slot = self._pick()
        if slot is not None:
            slot.leased = True
            self._notify_changed()
            self._metrics.acquire(self.name, 0.0, ok=True)
            return slot
        if not self._any_live() and self._breaker.state is BreakerState.OPEN:
            raise CircuitOpen(
                "MT5 server is failing; not queueing",
                retry_after=self._breaker.retry_after(),
                server=self.name,
            )
        wait = self.config.acquire_timeout if max_wait is None else max_wait
        deadline = current_deadline()
        if deadline is not None:
            wait = min(wait, deadline - self._clock())
        started = self._clock()
        fut: asyncio.Future[_Slot] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._notify_changed()
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                slot = await fut
        except TimeoutError:
            self._metrics.acquire(self.name, self._clock() - started, ok=False)
            if fut.done() and not fut.cancelled():
                self.release_slot(fut.result())
            raise PoolTimeout(
                f"no free session within {wait:.3f}s ({self!r})", server=self.name
            ) from None
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release_slot(fut.result())
            raise
        finally:
            if not fut.done():
                fut.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)
            self._notify_changed()
        self._metrics.acquire(self.name, self._clock() - started, ok=True)
        return slot

    def release_slot(self, slot: _Slot) -> None:
        slot.last_used = self._clock()
        s = slot.session
        if s is not None and s.state in (SessionState.BROKEN, SessionState.CLOSED):
            slot.leased = False
            self._replace(slot, reason="broken")
        elif self._closing:
            slot.leased = False
        else:
            self._hand_over(slot)
        self._notify_changed()

    @contextlib.asynccontextmanager
    async def lease(self, max_wait: float | None = None) -> AsyncIterator[Mt5Session]:
        """Exclusive use of one ready session; ``PoolTimeout`` after a bounded wait."""
        slot = await self._acquire(max_wait)
        try:
            session = slot.session
            if session is None:  # pragma: no cover - a leased slot keeps its session
                raise ConnectError("session vanished", server=self.name)
            yield session
        finally:
            self.release_slot(slot)

    # ------------------------------------------------------------------ calls

    async def request(
        self,
        command: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        body: JsonBody = None,
        write: bool = False,
        accept: frozenset[int] = frozenset(),
    ) -> Envelope:
        """Run a command on any free session: ``Mt5Session.request`` plus retries.

        Reads are retried on another session after transport errors and the retcodes
        ``retry.retcode_action`` retries, within the deadline. Writes are retried only
        when they provably never left (connect failed, handshake failed). Retcode 0
        and those in ``accept`` are returned; others raise ``RetcodeError``.
        """

        async def attempt() -> Envelope:
            async with self.lease() as session:
                try:
                    env = await session.request(
                        command, params, body=body, write=write, accept=accept
                    )
                except RetcodeError:
                    self._breaker.record_success()  # MT5 answered
                    raise
            self._breaker.record_success()
            return env

        def on_fail(exc: Exception, retry_in: float | None) -> None:
            if isinstance(exc, ConnectError):
                self._breaker.record_failure()
            if retry_in is not None:
                log.info(
                    "mt5_request_retry",
                    server=self.name,
                    command=command,
                    error=type(exc).__name__,
                    retcode=exc.retcode if isinstance(exc, RetcodeError) else None,
                    delay=round(retry_in, 4),
                )

        return await self._retry.call(
            attempt,
            is_retryable=lambda exc: _may_resend(exc, write=write),
            on_fail=on_fail,
        )

    # ------------------------------------------------------------------ shutdown

    async def aclose(self) -> None:
        """Log out of every session and close; idempotent and cancellation-safe."""
        if self._close_task is None:
            self._close_task = spawn(self._close(), name=f"mt5-pool-close-{self.name}")
        await asyncio.shield(self._close_task)

    async def _close(self) -> None:
        self._closing = True
        fillers = [slot.filler for slot in self._slots if slot.filler is not None]
        for task in fillers:
            task.cancel()
        await asyncio.gather(*fillers, return_exceptions=True)
        for fut in self._waiters:
            if not fut.done():
                fut.set_exception(ConnectError("pool is closed", server=self.name))
        self._waiters.clear()
        sessions = [slot.session for slot in self._slots if slot.session is not None]
        await asyncio.gather(*(s.aclose() for s in sessions), return_exceptions=True)
        self._notify_changed()
        self._metrics.unwatch_pool(self.name)
        log.info("mt5_pool_closed", server=self.name, sessions=len(sessions))

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_started", False) and self._close_task is None:
            _warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)

    def client(self, session: Mt5Session | None = None) -> WebApiClient:
        """Typed commands over this pool, or over one session leased from it (a
        caller whose requests must share one session, e.g. a quote poller's round
        with that session's ``trans_id`` cursor)."""
        return WebApiClient(
            self if session is None else session, self.config, sleep=self._sleep
        )


def _may_resend(exc: Exception, *, write: bool) -> bool:
    """May a request that failed so go out again (on any session)?"""
    if isinstance(exc, PoolTimeout | CircuitOpen | DeadlineExceeded):
        return False  # out of time or sessions: the caller decides
    if isinstance(exc, ConnectError | AuthError):
        return True  # nothing reached MT5, writes included
    if isinstance(exc, ReadError | ReadTimeout):
        # Reads, or a write whose re-login failed before it was sent; a write that
        # may have reached MT5 raised OutcomeUnknown instead.
        return True
    if isinstance(exc, RetcodeError):
        return retcode_action(exc.retcode, write=write) is RetcodeAction.RETRY
    return False


class PoolManager:
    """A registry of named pools, one per MT5 server, chosen per call."""

    def __init__(
        self,
        configs: Iterable[ServerConfig],
        *,
        metrics: WebApiMetrics | None = None,
        pool_factory: Callable[[ServerConfig], SessionPool] | None = None,
    ) -> None:
        make = pool_factory or (lambda cfg: SessionPool(cfg, metrics=metrics))
        self._pools: dict[str, SessionPool] = {}
        for cfg in configs:
            if cfg.name in self._pools:
                raise ValueError(f"duplicate MT5 server name {cfg.name!r}")
            self._pools[cfg.name] = make(cfg)
        if not self._pools:
            raise ValueError("at least one MT5 server is required")
        self.default = next(iter(self._pools))

    def __repr__(self) -> str:
        return f"<PoolManager {list(self._pools.values())!r}>"

    @property
    def names(self) -> list[str]:
        return list(self._pools)

    def pool(self, name: str | None = None) -> SessionPool:
        try:
            return self._pools[name or self.default]
        except KeyError:
            raise KeyError(f"unknown MT5 server {name!r}") from None

    def client(self, name: str | None = None) -> WebApiClient:
        return self.pool(name).client()

    async def start(self, *, wait: bool = True) -> None:
        await asyncio.gather(*(p.start(wait=wait) for p in self._pools.values()))

    async def aclose(self) -> None:
        await asyncio.gather(
            *(p.aclose() for p in self._pools.values()), return_exceptions=True
        )

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["PoolManager", "SessionPool", "TransportError"]
