# ruff: noqa: ARG002, ARG005, E501 - scripted fakes; reprs are asserted verbatim
import asyncio
import gc

import pytest
from mt5gateway_server.webapi import (
    CircuitBreaker,
    CircuitOpen,
    ConnectError,
    ConstantBackoff,
    ExponentialBackoff,
    NotFound,
    OutcomeUnknown,
    PoolManager,
    PoolTimeout,
    ReadError,
    RetryPolicy,
    ServerConfig,
    SessionPool,
    SessionState,
    TooFrequent,
    deadline_scope,
    retcode_error,
)
from mt5gateway_server.webapi.retry import current_deadline
from mt5gateway_server.webapi.wire import Envelope


def cfg(**kw):
    base = {"url": "http://mt5.invalid", "login": 1000, "password": "Password1"}
    return ServerConfig(**{**base, **kw})


class FakeSession:
    def __init__(self, index, script):
        self.index = index
        self.state = SessionState.READY
        self.calls = []
        self.closed_with = None
        self.script = script
        self.last_activity = 0.0

    async def request(
        self, command, params=None, *, body=None, write=False, accept=frozenset()
    ):
        self.calls.append(command)
        self.state = SessionState.BUSY
        try:
            outcome = self.script(self, command, write)
            if isinstance(outcome, asyncio.Future):
                outcome = await outcome
            if isinstance(outcome, BaseException):
                if isinstance(outcome, ReadError | ConnectError):
                    self.state = SessionState.BROKEN
                raise outcome
            if outcome.retcode and outcome.retcode not in accept:
                raise retcode_error(outcome.retcode, outcome.text, command=command)
            return outcome
        finally:
            if self.state is SessionState.BUSY:
                self.state = SessionState.READY

    async def aclose(self, *, send_quit=True):
        self.closed_with = send_quit
        self.state = SessionState.CLOSED


OK = Envelope(0, "Done", {"Total": "1"})


class Harness:
    """A pool over fake sessions, with recorded sleeps and a scripted factory."""

    def __init__(self, config, *, fail_opens=0, script=None, breaker=None, retry=None):
        self.sleeps = []
        self.sessions = []
        self.fail_opens = fail_opens
        self.opens = 0
        self.script = script or (lambda s, c, w: OK)
        self.gate = None
        self.pool = SessionPool(
            config,
            backoff=ExponentialBackoff(0.1, 1.0),
            breaker=breaker,
            retry=retry
            or RetryPolicy(attempts=3, backoff=ConstantBackoff(0.01), sleep=self.sleep),
            sleep=self.sleep,
            session_factory=self.factory,
        )

    async def sleep(self, delay):
        self.sleeps.append(round(delay, 6))
        await asyncio.sleep(0)

    async def factory(self, config, *, index, metrics, on_broken):
        self.opens += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_opens > 0:
            self.fail_opens -= 1
            raise ConnectError("refused")
        s = FakeSession(index, self.script)
        self.sessions.append(s)
        return s


async def settle():
    for _ in range(20):
        await asyncio.sleep(0)


async def test_start_ready_with_one_then_fills():
    h = Harness(cfg(pool_size=3))
    h.gate = asyncio.Event()
    task = asyncio.create_task(h.pool.start())
    await settle()
    assert (
        repr(h.pool)
        == "<SessionPool main [0 ready, 0 busy, 0 reauth, 0 broken, 3 connecting | 0 waiting]>"
    )
    assert not task.done()
    h.gate.set()
    await task
    await settle()
    assert (
        repr(h.pool)
        == "<SessionPool main [3 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
    )
    await h.pool.aclose()
    assert all(s.closed_with is True for s in h.sessions)  # /api/quit each
    assert repr(h.pool).startswith("<SessionPool main closed")


async def test_serving_while_a_session_is_ready_or_busy():
    h = Harness(cfg(pool_size=1))
    assert not h.pool.serving  # not started
    async with h.pool:
        assert h.pool.serving
        async with h.pool.lease():
            assert h.pool.serving  # busy: it takes the next request after this one
        h.sessions[0].state = SessionState.BROKEN
        assert not h.pool.serving
    assert not h.pool.serving


async def test_lease_busy_waiting_and_handover():
    h = Harness(cfg(pool_size=1, acquire_timeout=5))
    async with h.pool:
        async with h.pool.lease() as s1:
            assert (
                repr(h.pool)
                == "<SessionPool main [0 ready, 1 busy, 0 reauth, 0 broken | 0 waiting]>"
            )
            waiter = asyncio.create_task(h.pool.request("user/total"))
            await settle()
            assert (
                repr(h.pool)
                == "<SessionPool main [0 ready, 1 busy, 0 reauth, 0 broken | 1 waiting]>"
            )
        env = await waiter
        assert env is OK
        assert s1.calls == ["user/total"]
        assert (
            repr(h.pool)
            == "<SessionPool main [1 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )


async def test_pool_timeout_when_saturated():
    h = Harness(cfg(pool_size=1, acquire_timeout=0.01))
    async with h.pool:
        async with h.pool.lease():
            with pytest.raises(PoolTimeout):
                await h.pool.request("user/total")
        # The timed-out waiter left no trace.
        assert (
            repr(h.pool)
            == "<SessionPool main [1 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )


async def test_least_recently_used_dispatch():
    h = Harness(cfg(pool_size=3))
    async with h.pool:
        await settle()
        for _ in range(6):
            await h.pool.request("user/total")
        assert sorted(len(s.calls) for s in h.sessions) == [2, 2, 2]


async def test_failed_opens_back_off_exponentially():
    h = Harness(cfg(pool_size=1, breaker_failure_threshold=100), fail_opens=3)
    async with h.pool:
        assert h.opens == 4
        assert h.sleeps == [0.1, 0.2, 0.4]


async def test_start_raises_once_the_breaker_opens():
    h = Harness(cfg(pool_size=2, breaker_failure_threshold=3), fail_opens=10**6)
    with pytest.raises(ConnectError):
        await h.pool.start()
    assert "2 broken" in repr(h.pool)
    await h.pool.aclose()


async def test_breaker_open_fails_fast_with_retry_after():
    clock_now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_timeout=30, clock=lambda: clock_now[0])
    h = Harness(cfg(pool_size=1), fail_opens=10**6, breaker=breaker)
    with pytest.raises(ConnectError):
        await h.pool.start()
    await settle()
    with pytest.raises(CircuitOpen) as info:
        await h.pool.request("user/total")
    assert info.value.retry_after == 30
    await h.pool.aclose()


async def test_read_retried_on_another_session_after_transport_error():
    def script(session, command, write):
        if session.index == 0 and len(session.calls) == 1:
            return ReadError("connection reset")
        return OK

    h = Harness(cfg(pool_size=2), script=script)
    async with h.pool:
        await settle()
        env = await h.pool.request("user/get")
        assert env is OK
        await settle()
        # The broken session was replaced (closed without quit), one sleep for the retry.
        assert any(s.closed_with is False for s in h.sessions)
        assert 0.01 in h.sleeps


async def test_write_outcome_unknown_is_never_retried():
    def script(session, command, write):
        return OutcomeUnknown("lost", command=command, params={"login": "1"})

    h = Harness(cfg(pool_size=2), script=script)
    async with h.pool:
        await settle()
        with pytest.raises(OutcomeUnknown):
            await h.pool.request("trade/balance", {"login": 1}, write=True)
        assert sum(len(s.calls) for s in h.sessions) == 1


async def test_write_retried_when_it_never_left():
    def script(session, command, write):
        return (
            ConnectError("refused")
            if len(session.calls) == 1 and session.index == 0
            else OK
        )

    h = Harness(cfg(pool_size=2), script=script)
    async with h.pool:
        await settle()
        assert await h.pool.request("trade/balance", write=True) is OK


async def test_retcodes_raise_and_reads_retry_too_frequent():
    answers = iter([Envelope(12, "Too frequent requests"), OK])

    h = Harness(cfg(pool_size=1), script=lambda s, c, w: next(answers))
    async with h.pool:
        assert await h.pool.request("user/get") is OK
    h2 = Harness(cfg(pool_size=1), script=lambda s, c, w: Envelope(13, "Not found"))
    async with h2.pool:
        with pytest.raises(NotFound) as info:
            await h2.pool.request("user/get")
        assert info.value.retcode == 13
        assert (await h2.pool.request("user/get", accept=frozenset({13}))).retcode == 13
    h3 = Harness(cfg(pool_size=1), script=lambda s, c, w: Envelope(12, "Too frequent"))
    async with h3.pool:
        with pytest.raises(TooFrequent):
            await h3.pool.request("trade/balance", write=True)
        assert len(h3.sessions[0].calls) == 1  # writes are not retried on retcodes


async def test_aclose_idempotent_and_cancellation_safe():
    h = Harness(cfg(pool_size=2))
    await h.pool.start()
    await settle()
    closer = asyncio.create_task(h.pool.aclose())
    await asyncio.sleep(0)
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    await h.pool.aclose()  # finishes the shielded close
    await h.pool.aclose()
    assert all(s.state is SessionState.CLOSED for s in h.sessions)
    with pytest.raises(ConnectError):
        await h.pool.request("user/get")


async def test_waiters_fail_on_close():
    h = Harness(cfg(pool_size=1, acquire_timeout=5))
    await h.pool.start()
    async with h.pool.lease():
        waiter = asyncio.create_task(h.pool.request("user/get"))
        await settle()
        await h.pool.aclose()
        with pytest.raises(ConnectError):
            await waiter


def test_unclosed_pool_warns():
    async def leak():
        h = Harness(cfg(pool_size=1))
        await h.pool.start()
        for s in h.sessions:
            s.state = SessionState.CLOSED
        h.pool._closing = True  # stop fillers without closing
        return h

    holder = [asyncio.run(leak())]

    def drop():
        holder.clear()
        gc.collect()

    with pytest.warns(ResourceWarning, match="unclosed"):
        drop()


async def test_pool_manager_registry():
    pools = {}

    def make(config):
        h = Harness(config)
        pools[config.name] = h
        return h.pool

    mgr = PoolManager([cfg(name="eu"), cfg(name="us", pool_size=2)], pool_factory=make)
    async with mgr:
        assert mgr.names == ["eu", "us"]
        assert mgr.pool().name == "eu"
        assert mgr.client("us").transport is pools["us"].pool
        with pytest.raises(KeyError):
            mgr.pool("asia")
    with pytest.raises(ValueError, match="duplicate"):
        PoolManager([cfg(name="eu"), cfg(name="eu")])


def test_config_validation():
    c = cfg()
    assert c.pool_size == 5
    assert c.ping_interval == 20
    assert "Password1" not in repr(c)
    assert c.keepalive_timeout > c.ping_interval
    for bad in ({"pool_size": 0}, {"pool_size": 65}, {"agent": "a b"}, {"version": 10}):
        with pytest.raises(ValueError):  # noqa: PT011
            cfg(**bad)


async def test_close_while_starting_unblocks_start():
    h = Harness(cfg(pool_size=2))
    h.gate = asyncio.Event()
    starting = asyncio.create_task(h.pool.start())
    await settle()
    await h.pool.aclose()
    with pytest.raises(ConnectError, match="closed while starting"):
        await starting


async def test_reconnect_started_inside_a_call_has_none_of_its_context():
    # A session that breaks under a call is replaced by a task that call starts; the
    # task must not inherit the call's deadline (it would outlive it and fail for ever).
    seen = []
    h = Harness(cfg(pool_size=1))

    async def factory(config, *, index, metrics, on_broken):
        seen.append(current_deadline())
        s = FakeSession(index, lambda s, c, w: ReadError("reset"))
        h.sessions.append(s)
        return s

    h.pool._factory = factory
    async with h.pool:
        with deadline_scope(30.0):
            with pytest.raises(ReadError):
                await h.pool.request("user/get")
            assert current_deadline() is not None
        await settle()
    assert len(seen) >= 2
    assert seen == [None] * len(seen)
