# ruff: noqa: ARG002 - RecordingMetrics implements the full hooks protocol
"""Pool behaviour against mt5sim faults: drops, errors, latency, rejected handshakes."""

import asyncio
from decimal import Decimal

import pytest
import structlog.testing
from mt5gateway_server.webapi import (
    AuthError,
    BalanceOperation,
    CircuitOpen,
    DeadlineExceeded,
    OutcomeUnknown,
    PoolManager,
    PoolTimeout,
    ReadTimeout,
    SessionPool,
    TooFrequent,
    deadline_scope,
)
from mt5sim import SimConfig, Simulator
from pydantic import SecretStr

from .conftest import MANAGER_PASSWORD, SimControl, server_config


async def a_trader(client):
    logins = await client.user_logins(["*"])
    return next(lg for lg in logins if lg >= 100000)


async def test_drop_sessions_mid_load_all_reads_succeed(open_pool, control):
    async with open_pool(pool_size=5) as pool:
        client = pool.client()
        login = await a_trader(client)

        done = asyncio.Event()
        calls = 0

        async def reader(i):
            nonlocal calls
            while not done.is_set():
                if i % 2:
                    await client.user_get(login)
                else:
                    await client.tick_last(["EURUSD"])
                calls += 1

        async def dropper():
            for _ in range(3):
                await asyncio.sleep(0.05)
                await control.drop_sessions()
            await asyncio.sleep(0.05)
            done.set()

        await asyncio.gather(*(reader(i) for i in range(10)), dropper())
        assert calls > 10
        stats = await control.stats()
        assert stats["connections_dropped"] >= 1
        assert stats["handshakes"]["completed"] > 5  # sessions re-authenticated


async def test_read_drops_are_retried(open_pool, control):
    async with open_pool(pool_size=3) as pool:
        client = pool.client()
        await control.faults(drop_rate=0.3, commands=["user/total"])
        for _ in range(20):
            assert await client.user_total() > 0
        stats = await control.stats()
        assert stats["faults_injected"].get("drop", 0) >= 1


async def test_write_lost_after_apply_is_outcome_unknown_never_duplicated(
    open_pool, control
):
    async with open_pool(pool_size=3) as pool:
        client = pool.client()
        login = await a_trader(client)
        await control.faults(
            drop_rate=1.0, drop_after_apply=True, commands=["trade/balance"]
        )
        with pytest.raises(OutcomeUnknown) as info:
            await client.trade_balance(
                login, BalanceOperation.BALANCE, Decimal(50), "dep-42"
            )
        err = info.value
        assert err.command == "trade/balance"
        assert err.params["comment"] == "dep-42"
        assert err.params["balance"] == "50"
        stats = await control.stats()
        # Applied exactly once by the server, never re-sent by the client.
        assert stats["balance_operations"]["count"] == 1
        assert stats["requests"]["trade/balance"] == 1
        await control.faults()
        # The pool recovered: the next read works.
        assert (await client.user_get(login)).login == login


async def test_write_dropped_before_apply_is_still_unknown(open_pool, control):
    # The client cannot tell "dropped before" from "dropped after": never retried.
    async with open_pool(pool_size=2) as pool:
        client = pool.client()
        login = await a_trader(client)
        await control.faults(drop_rate=1.0, commands=["trade/balance"])
        with pytest.raises(OutcomeUnknown):
            await client.trade_balance(login, BalanceOperation.CREDIT, Decimal(5))
        stats = await control.stats()
        assert stats["requests"]["trade/balance"] == 1
        assert stats["balance_operations"]["count"] == 0


async def test_too_frequent_retried_then_raised(open_pool, control):
    async with open_pool(pool_size=2, read_retries=2) as pool:
        client = pool.client()
        await control.faults(error_rate=1.0, error_retcode=12, commands=["user/total"])
        with pytest.raises(TooFrequent) as info:
            await client.user_total()
        assert info.value.retcode == 12
        stats = await control.stats()
        assert stats["requests"]["user/total"] == 3  # 1 + 2 retries


async def test_latency_read_timeout_and_deadline(open_pool, control):
    async with open_pool(pool_size=2, read_timeout=0.1, read_retries=1) as pool:
        client = pool.client()
        await control.faults(latency_ms=400, commands=["user/total"])
        with pytest.raises(ReadTimeout):
            await client.user_total()
        await control.faults(latency_ms=200, commands=["group/total"])
        with deadline_scope(0.05), pytest.raises(ReadTimeout):
            await client.group_total()
        await control.faults()
        assert await client.symbol_total() > 0


async def test_pool_timeout_under_saturation(open_pool, control):
    async with open_pool(pool_size=1, acquire_timeout=0.05) as pool:
        client = pool.client()
        await control.faults(latency_ms=300, commands=["user/total"])
        slow = asyncio.create_task(client.user_total())
        await asyncio.sleep(0.05)
        assert "1 busy" in repr(pool)
        with pytest.raises(PoolTimeout):
            await client.symbol_total()
        assert await slow > 0
        assert (
            repr(pool)
            == "<SessionPool main [1 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )


async def test_rejected_handshakes_open_the_breaker(sim, control):
    await control.faults(reject_handshakes=1018)
    pool = SessionPool(
        server_config(
            sim, pool_size=2, breaker_failure_threshold=3, breaker_reset_timeout=0.5
        )
    )
    try:
        # 1018 "server busy" is transient: start() gives up only once the breaker opens.
        with pytest.raises(TooFrequent):
            await pool.start()
        with pytest.raises(CircuitOpen) as info:
            await pool.request("user/total")
        assert 0 < info.value.retry_after <= 0.5
        assert "2 broken" in repr(pool)
        # Server back: the half-open trial succeeds and the pool refills.
        await control.faults()
        for _ in range(100):
            if "0 broken" in repr(pool):
                break
            await asyncio.sleep(0.05)
        assert await pool.client().user_total() > 0
    finally:
        await pool.aclose()


async def test_wrong_password_fails_start(sim):
    pool = SessionPool(server_config(sim, password="Nope1234!"))
    with pytest.raises(AuthError):
        await pool.start()
    await pool.aclose()


async def test_several_servers_at_once(sim):
    async with Simulator(SimConfig(tls=True, seed=2, ticks_per_second=0)) as other:
        manager = PoolManager(
            [
                server_config(sim, name="eu"),
                server_config(other, name="asia", pool_size=3),
            ]
        )
        async with manager:
            eu, asia = manager.client("eu"), manager.client("asia")
            a, b = await asyncio.gather(eu.user_total(), asia.user_total())
            assert a > 0
            assert b > 0
            assert manager.pool("asia").config.url.startswith("https://")
            assert "asia" in repr(manager)
        other_stats = await SimControl(other).stats()
        assert other_stats["handshakes"]["completed"] == 3


async def test_shutdown_leaves_no_connections_or_tasks(sim, control):
    before = {t for t in asyncio.all_tasks() if t.get_name().startswith("mt5-")}
    pool = SessionPool(server_config(sim, pool_size=4))
    await pool.start()
    client = pool.client()
    await asyncio.gather(*(client.user_total() for _ in range(20)))
    for _ in range(50):
        if "4 ready" in repr(pool):
            break
        await asyncio.sleep(0.02)
    assert (await control.stats())["sessions_live"] == 4
    await pool.aclose()
    await pool.aclose()
    await asyncio.sleep(0.05)
    stats = await control.stats()
    assert stats["sessions_live"] == 0
    assert stats["requests"]["quit"] == 4
    left = {t for t in asyncio.all_tasks() if t.get_name().startswith("mt5-")} - before
    assert not [t for t in left if not t.done()]
    assert all(s.closed for s in pool.sessions)


class TestIdle:
    @pytest.fixture
    def sim_config(self):
        return SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=0.5)

    async def test_pool_pings_keep_sessions_alive(self, open_pool, control):
        async with open_pool(pool_size=2, ping_interval=0.1) as pool:
            await asyncio.sleep(1.2)
            assert await pool.client().user_total() > 0
            stats = await control.stats()
            assert stats["handshakes"]["completed"] == 2
            assert stats["requests"]["test/access"] >= 4


class RecordingMetrics:
    def __init__(self):
        self.watched = {}  # server -> snapshot callable, while the pool runs
        self.unwatched = []
        self.acquires = []
        self.handshakes = []
        self.requests = []
        self.reconnects = []

    def watch_pool(self, server, snapshot):
        self.watched[server] = snapshot

    def unwatch_pool(self, server):
        self.unwatched.append(server)
        self.watched.pop(server, None)

    def acquire(self, server, wait_seconds, *, ok):
        self.acquires.append((server, ok))

    def handshake(self, server, seconds, *, ok):
        self.handshakes.append((server, ok))

    def request(self, server, command, seconds, error):
        self.requests.append((command, error))

    def reconnect(self, server, reason):
        self.reconnects.append(reason)


async def test_metrics_hooks_and_no_secrets_in_logs(sim, control):
    metrics = RecordingMetrics()
    with structlog.testing.capture_logs() as logs:
        pool = SessionPool(server_config(sim, pool_size=2), metrics=metrics)
        async with pool:
            client = pool.client()
            login = await a_trader(client)
            assert await client.user_check_password(login, "NotIt123!x") is False
            await control.drop_sessions()
            await client.user_total()
            await control.faults(drop_rate=1.0, commands=["user/change_password"])
            with pytest.raises(OutcomeUnknown) as info:
                await client.user_change_password(login, "Secret99!z")
            assert info.value.params["Password"] == "<redacted>"
            assert "Secret99" not in str(info.value)
            # Pulled, not pushed: the registered callable reads the live state.
            for _ in range(100):
                if metrics.watched["main"]().ready == 2:
                    break
                await asyncio.sleep(0.02)
            assert metrics.watched["main"]().ready == 2
            assert metrics.watched["main"]().size == 2
    assert metrics.unwatched == ["main"]
    assert "main" not in metrics.watched
    text = repr(logs)
    for secret in ("Password1", "NotIt123", "Secret99"):
        assert secret not in text
    assert ("main", True) in metrics.handshakes
    assert ("user/total", None) in metrics.requests
    assert ("user/change_password", "OutcomeUnknown") in metrics.requests
    assert (
        "connection_replaced" in metrics.reconnects
        or "reauthenticated" in metrics.reconnects
    )
    assert metrics.acquires
    assert metrics.acquires[0] == ("main", True)
    assert any(e["event"] == "mt5_write_outcome_unknown" for e in logs)


async def test_cancelled_calls_leave_the_pool_usable(open_pool, control):
    async with open_pool(pool_size=2) as pool:
        client = pool.client()
        await control.faults(latency_ms=200, commands=["user/total"])
        tasks = [asyncio.create_task(client.user_total()) for _ in range(4)]
        await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await control.faults()
        await control.drop_sessions()
        assert await client.symbol_total() > 0
        assert await client.group_total() > 0
        for _ in range(50):
            if "2 ready" in repr(pool):
                break
            await asyncio.sleep(0.02)
        assert (
            repr(pool)
            == "<SessionPool main [2 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )


async def test_failed_ping_breaks_and_replaces_sessions(open_pool, control):
    metrics = RecordingMetrics()
    async with open_pool(pool_size=2, ping_interval=0.1) as pool:
        pool._metrics = metrics
        await control.faults(reject_handshakes=1018)
        await control.drop_sessions()  # the next ping must re-authenticate, and cannot
        for _ in range(100):
            if "2 broken" in repr(pool):
                break
            await asyncio.sleep(0.02)
        assert "0 ready" in repr(pool)
        assert "ping_failed" in metrics.reconnects
        await control.faults()
        for _ in range(200):
            if "2 ready" in repr(pool):
                break
            await asyncio.sleep(0.02)
        assert (
            repr(pool)
            == "<SessionPool main [2 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )
        assert await pool.client().user_total() > 0


async def test_expired_deadline_sends_nothing_and_keeps_sessions(open_pool, control):
    async with open_pool(pool_size=1) as pool:
        async with pool.lease() as session:
            with deadline_scope(-1), pytest.raises(DeadlineExceeded):
                await session.request("trade/balance", {"login": 1}, write=True)
        assert (
            repr(pool)
            == "<SessionPool main [1 ready, 0 busy, 0 reauth, 0 broken | 0 waiting]>"
        )
        assert "trade/balance" not in (await control.stats())["requests"]


async def test_password_source_is_read_before_every_handshake(sim, control, tmp_path):
    secret = tmp_path / "mt5-password"
    secret.write_text(MANAGER_PASSWORD + "\n")

    def read() -> SecretStr:
        return SecretStr(secret.read_text().rstrip("\n"))

    config = server_config(
        sim, pool_size=1, password_source=read, breaker_reset_timeout=0.2
    )
    with structlog.testing.capture_logs() as logs:
        async with SessionPool(config) as pool:
            client = pool.client()
            assert await client.user_total() > 0
            # Rotated to a password the server does not know: the next handshake
            # uses it (and fails), so the file really is read again.
            secret.write_text("Rotated-but-wrong1\n")
            await control.drop_sessions()
            with pytest.raises((AuthError, PoolTimeout, CircuitOpen)):
                await client.user_total()
            # Rotated back; the pool's own retry loop logs in with it.
            secret.write_text(MANAGER_PASSWORD + "\n")
            for _ in range(200):
                if "1 ready" in repr(pool):
                    break
                await asyncio.sleep(0.02)
            assert await client.user_total() > 0
            # An unreadable file keeps the last good password.
            secret.unlink()
            await control.drop_sessions()
            assert await client.user_total() > 0
    events = [e["event"] for e in logs]
    assert events.count("mt5_password_reloaded") >= 2
    assert "mt5_password_reload_failed" in events
    assert "Rotated-but-wrong1" not in repr(logs)
