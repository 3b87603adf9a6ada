import pytest
from mt5gateway_server.webapi import (
    BreakerState,
    CircuitBreaker,
    ConstantBackoff,
    EqualJitterBackoff,
    ExponentialBackoff,
    FullJitterBackoff,
    NoBackoff,
    RetryPolicy,
    deadline_scope,
)
from mt5gateway_server.webapi.retry import (
    RetcodeAction,
    current_deadline,
    retcode_action,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_constant_and_none():
    assert [ConstantBackoff(0.5).compute(n) for n in (1, 2, 9)] == [0.5, 0.5, 0.5]
    assert NoBackoff().compute(3) == 0.0


def test_exponential_capped():
    b = ExponentialBackoff(base=0.1, cap=1.0)
    assert [b.compute(n) for n in range(1, 7)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    )
    assert b.compute(10_000) == 1.0


def test_full_jitter_uses_injected_rng():
    values = iter([0.0, 0.5, 0.999])
    b = FullJitterBackoff(base=1.0, cap=8.0, rng=lambda: next(values))
    assert b.compute(1) == 0.0
    assert b.compute(3) == pytest.approx(2.0)  # 0.5 * 4
    assert b.compute(10) == pytest.approx(7.992)  # capped at 8


def test_equal_jitter_bounds():
    lo = EqualJitterBackoff(base=1.0, cap=8.0, rng=lambda: 0.0)
    hi = EqualJitterBackoff(base=1.0, cap=8.0, rng=lambda: 0.9999)
    assert lo.compute(3) == 2.0
    assert hi.compute(3) == pytest.approx(4.0, abs=1e-3)


def test_breaker_state_machine():
    clock = FakeClock()
    br = CircuitBreaker(threshold=3, reset_timeout=10.0, clock=clock)
    assert br.state is BreakerState.CLOSED
    br.record_failure()
    br.record_failure()
    assert br.allow()
    br.record_failure()
    assert br.state is BreakerState.OPEN
    assert not br.allow()
    assert br.retry_after() == 10.0
    clock.now += 4
    assert br.retry_after() == 6.0
    clock.now += 6
    assert br.state is BreakerState.HALF_OPEN
    assert br.allow()  # the one trial
    assert not br.allow()  # no second trial concurrently
    br.record_failure()  # failed trial re-opens for a full period
    assert br.state is BreakerState.OPEN
    assert br.retry_after() == 10.0
    clock.now += 10
    assert br.allow()
    br.record_success()
    assert br.state is BreakerState.CLOSED
    assert br.failures == 0


def test_breaker_success_resets_count():
    br = CircuitBreaker(threshold=2, reset_timeout=1.0, clock=FakeClock())
    br.record_failure()
    br.record_success()
    br.record_failure()
    assert br.state is BreakerState.CLOSED


def test_retry_policy_attempts_and_deadline():
    clock = FakeClock()
    policy = RetryPolicy(attempts=3, backoff=ConstantBackoff(1.0), clock=clock)
    assert policy.delay(1, None) == 1.0
    assert policy.delay(2, None) == 1.0
    assert policy.delay(3, None) is None  # 3 attempts made
    assert policy.delay(1, clock.now + 0.5) is None  # would sleep past the deadline
    assert policy.delay(1, clock.now + 5) == 1.0


def test_deadline_scope_nests_to_earliest():
    assert current_deadline() is None
    with deadline_scope(10):
        outer = current_deadline()
        assert outer is not None
        with deadline_scope(100):
            assert current_deadline() == outer
        with deadline_scope(1):
            inner = current_deadline()
            assert inner is not None
            assert inner < outer
    assert current_deadline() is None


class FlakyError(Exception):
    pass


async def test_retry_loop_sleeps_between_attempts_until_success():
    sleeps, seen, calls = [], [], []

    async def sleep(delay):
        sleeps.append(delay)

    async def do():
        calls.append(1)
        if len(calls) < 3:
            raise FlakyError
        return "done"

    policy = RetryPolicy(attempts=4, backoff=ExponentialBackoff(0.1, 1.0), sleep=sleep)
    result = await policy.call(
        do,
        is_retryable=lambda exc: isinstance(exc, FlakyError),
        on_fail=lambda exc, delay: seen.append((type(exc), delay)),
    )
    assert result == "done"
    assert sleeps == pytest.approx([0.1, 0.2])
    assert seen == [(FlakyError, pytest.approx(0.1)), (FlakyError, pytest.approx(0.2))]


async def test_retry_loop_gives_up_with_the_last_error():
    seen, calls = [], []

    async def sleep(delay):
        pass

    async def do():
        calls.append(1)
        raise FlakyError(len(calls))

    policy = RetryPolicy(attempts=3, backoff=NoBackoff(), sleep=sleep)
    with pytest.raises(FlakyError) as info:
        await policy.call(
            do,
            is_retryable=lambda exc: isinstance(exc, FlakyError),
            on_fail=lambda _exc, delay: seen.append(delay),
        )
    assert info.value.args == (3,)
    assert seen == [0.0, 0.0, None]  # the last failure is reported too: no retry


async def test_retry_loop_raises_what_is_not_retryable_at_once():
    calls = []

    async def do():
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        await RetryPolicy().call(
            do, is_retryable=lambda exc: isinstance(exc, FlakyError)
        )
    assert len(calls) == 1


async def test_retry_loop_stops_before_sleeping_past_the_deadline():
    calls = []

    async def do():
        calls.append(1)
        raise FlakyError

    policy = RetryPolicy(attempts=10, backoff=ConstantBackoff(5.0))
    with deadline_scope(1.0), pytest.raises(FlakyError):
        await policy.call(do, is_retryable=lambda exc: isinstance(exc, FlakyError))
    assert len(calls) == 1


def test_retcode_table():
    read, write = {"write": False}, {"write": True}
    for code in (1, 7, 9, 10, 11, 12, 15, 1018, 10012, 10024):
        assert retcode_action(code, **read) is RetcodeAction.RETRY
        assert retcode_action(code, **write) is RetcodeAction.ANSWER
    for code in (2, 3, 8, 13, 14, 3006, 10019):
        assert retcode_action(code, **read) is RetcodeAction.ANSWER
    reauth = frozenset({8})
    assert retcode_action(8, write=True, reauth=reauth) is RetcodeAction.REAUTH
    # On a session that has just logged in, the same retcode is the answer.
    assert (
        retcode_action(8, write=False, reauth=reauth, established=False)
        is RetcodeAction.ANSWER
    )
