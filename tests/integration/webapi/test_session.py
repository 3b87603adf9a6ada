import asyncio

import pytest
from aiohttp import web
from mt5gateway_server.webapi import (
    AuthError,
    ConnectError,
    Mt5Session,
    ServerNotAuthenticated,
    SessionState,
)
from mt5sim import SimConfig

from .conftest import server_config


@pytest.fixture
def sim_config():
    return SimConfig(tls=True, seed=1, ticks_per_second=0, idle_timeout=30.0)


async def test_tls_handshake_with_ca_file(sim, control):
    session = await Mt5Session.open(server_config(sim), ping=False)
    try:
        assert session.state is SessionState.READY
        assert session.version_access == "3470"
        env = await session.request("user/total")
        assert env.retcode == 0
    finally:
        await session.aclose()
    stats = await control.stats()
    assert stats["handshakes"]["completed"] == 1
    assert stats["requests"].get("quit") == 1


async def test_tls_without_ca_is_refused_and_unverified_is_opt_in(sim):
    with pytest.raises(ConnectError):
        await Mt5Session.open(server_config(sim, ca_file=None), ping=False)
    session = await Mt5Session.open(
        server_config(sim, ca_file=None, tls_verify=False), ping=False
    )
    await session.aclose()


async def test_unverified_tls_reads_no_ca_file(sim, tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(FileNotFoundError):  # verified: the CA file is read
        await Mt5Session.open(server_config(sim, ca_file=missing), ping=False)
    session = await Mt5Session.open(
        server_config(sim, ca_file=missing, tls_verify=False), ping=False
    )
    try:
        assert (await session.request("user/total")).retcode == 0
    finally:
        await session.aclose()


async def test_wrong_password_is_an_auth_error(sim):
    with pytest.raises(AuthError) as info:
        await Mt5Session.open(server_config(sim, password="Wrong123!"), ping=False)
    assert "Wrong123" not in str(info.value)
    assert "Wrong123" not in repr(info.value)


async def test_reauth_after_server_drop_over_tls(sim, control):
    session = await Mt5Session.open(server_config(sim, url=sim.url), ping=False)
    try:
        await control.drop_sessions()
        # The dropped connection is noticed before sending; re-auth, then the request.
        env = await session.request("user/total")
        assert env.retcode == 0
        assert session.handshakes == 2
    finally:
        await session.aclose()


async def test_cli_rand_answer_mismatch_rejected(unused_tcp_port):
    # The one hand-written fake: mt5sim always answers correctly.
    async def start(_request):
        return web.json_response(
            {"retcode": "0 Done", "version_access": "1", "srv_rand": "00" * 16}
        )

    async def answer(_request):
        return web.json_response({"retcode": "0 Done", "cli_rand_answer": "ab" * 16})

    app = web.Application()
    app.router.add_get("/api/auth/start", start)
    app.router.add_get("/api/auth/answer", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    try:
        with pytest.raises(ServerNotAuthenticated, match="server not authenticated"):
            await Mt5Session.open(
                server_config_url(f"http://127.0.0.1:{unused_tcp_port}"), ping=False
            )
    finally:
        await runner.cleanup()


def server_config_url(url):
    from mt5gateway_server.webapi import ServerConfig  # noqa: PLC0415

    return ServerConfig(url=url, login=1000, password="Password1")


class TestPing:
    @pytest.fixture
    def sim_config(self):
        return SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=0.6)

    async def test_pings_keep_session_alive_across_idle_timeout(self, sim, control):
        session = await Mt5Session.open(server_config(sim, ping_interval=0.15))
        try:
            await asyncio.sleep(1.5)  # well past the 0.6 s idle drop
            assert (await session.request("user/total")).retcode == 0
            assert session.handshakes == 1
        finally:
            await session.aclose()
        stats = await control.stats()
        assert stats["requests"].get("test/access", 0) >= 3
        assert stats["handshakes"]["completed"] == 1

    async def test_without_pings_the_session_reauthenticates(self, sim):
        session = await Mt5Session.open(
            server_config(sim, ping_interval=60), ping=False
        )
        try:
            await asyncio.sleep(1.2)
            assert (await session.request("user/total")).retcode == 0
            assert session.handshakes == 2
        finally:
            await session.aclose()


class TestForgottenSession:
    """The server forgets a session but keeps its connection (mt5sim
    ``/_sim/sessions/expire``) and answers 403, or a retcode when so configured."""

    @pytest.fixture
    def sim_config(self):
        return SimConfig(
            tls=False,
            seed=1,
            ticks_per_second=0,
            unauthenticated="retcode",
            unauthenticated_retcode=8,
        )

    async def test_configured_retcode_reauthenticates_and_repeats(self, sim, control):
        session = await Mt5Session.open(
            server_config(sim, reauth_retcodes=frozenset({8})), ping=False
        )
        try:
            assert (await session.request("user/total")).retcode == 0
            assert await control.expire_sessions() == 1
            # A write too: the refused request was not applied, so it is repeated.
            env = await session.request("user/total", write=True)  # POST, as writes go
            assert env.retcode == 0
            assert session.handshakes == 2
        finally:
            await session.aclose()
        stats = await control.stats()
        assert stats["requests"]["user/total"] == 3  # before, refused, repeated

    async def test_without_the_setting_the_retcode_is_the_answer(self, sim, control):
        session = await Mt5Session.open(server_config(sim), ping=False)
        try:
            await control.expire_sessions()
            env = await session.request("user/total", accept=frozenset({8}))
            assert env.retcode == 8
            assert session.handshakes == 1
        finally:
            await session.aclose()

    async def test_on_a_fresh_session_the_retcode_is_not_retried(self, sim, control):
        # A manager without the right gets 8 for real: one re-login, then the answer.
        session = await Mt5Session.open(
            server_config(sim, reauth_retcodes=frozenset({8})), ping=False
        )
        try:
            await control.expire_sessions()
            await control.faults(
                error_rate=1.0, error_retcode=8, commands=["user/total"]
            )
            env = await session.request("user/total", accept=frozenset({8}))
            assert env.retcode == 8
            assert session.handshakes == 2  # exactly one extra login, no loop
        finally:
            await control.faults()
            await session.aclose()


class TestReauthRetcodeThatLeavesTheOutcomeOpen:
    """9 / 10012 answer a write whose outcome is unknown (balance.py reconciles them):
    repeating such a write after a re-login could apply it twice."""

    @pytest.fixture
    def sim_config(self):
        return SimConfig(tls=False, seed=1, ticks_per_second=0)

    async def test_write_answered_10012_is_not_repeated(self, sim, control):
        with pytest.raises(ValueError, match="outcome"):
            server_config(sim, reauth_retcodes=frozenset({8, 10012}))
        with pytest.raises(ValueError, match="outcome"):
            server_config(sim, reauth_retcodes=frozenset({9}))
        # What the refusal prevents: an established session whose write is answered
        # 10012 must hand that answer back, not log in again and send the write twice.
        session = await Mt5Session.open(
            server_config(sim, reauth_retcodes=frozenset({8})), ping=False
        )
        try:
            await control.faults(
                error_rate=1.0, error_retcode=10012, commands=["user/total"]
            )
            env = await session.request(
                "user/total", write=True, accept=frozenset({10012})
            )
            assert env.retcode == 10012
            assert session.handshakes == 1
        finally:
            await control.faults()
            await session.aclose()
        stats = await control.stats()
        assert stats["requests"]["user/total"] == 1
