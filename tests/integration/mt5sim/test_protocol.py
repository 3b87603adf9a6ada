"""Transport conformance over real sockets: handshake, sessions, envelope, parameters.

Commands here are stand-ins (echo, fail, boom) so the transport is tested on its own;
command behaviour is tested with the real registry elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from mt5sim import ManagerSpec, SimConfig, Simulator
from mt5sim.commands.base import Command, CommandContext, Reply
from mt5sim.retcodes import Mt5Error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def mt5_password_hash(password: str) -> bytes:
    # Independent of mt5sim.auth on purpose (docs/mt5-webapi.md#password-hash).
    h1 = hashlib.md5(password.encode("utf-16-le")).digest()  # noqa: S324
    return hashlib.md5(h1 + b"WebAPI").digest()  # noqa: S324


def mt5_rand_answer(pw_hash: bytes, rand_hex: str) -> str:
    return hashlib.md5(pw_hash + bytes.fromhex(rand_hex)).hexdigest()  # noqa: S324


OFFICIAL_SRV_RAND = "73007dc7184747ce0f7c98516ef1c851"
OFFICIAL_SRV_ANSWER = "77fe51827f7fa69dd80fbec9aa33f1bb"
OFFICIAL_CLI_RAND = "4db98fec17aab4dc5a240bdc659e8395"
OFFICIAL_CLI_ANSWER = "1732021b1b332f51660b2b315eed3a35"
ECHO_NAMES = ("name", "login", "group", "comment", "amount")


class FakeBroker:
    def __init__(self, seed: int, now: float) -> None:  # noqa: ARG002
        self.seed = seed
        self.trans_id = 7
        self.resets = 0
        self.applied = 0

    def reset(self, now: float) -> None:  # noqa: ARG002
        self.resets += 1
        self.applied = 0

    def balance_stats(self) -> dict[str, object]:
        return {"count": self.applied, "per_login": {}}


def _echo(ctx: CommandContext, params) -> Reply:
    return Reply(
        answer={
            "get": {n: params.get(n) for n in ECHO_NAMES},
            "list": params.get_list("login"),
            "manager": str(ctx.manager.login),
            "groups": list(ctx.manager.groups),
        },
        extra={"trans_id": "5"},
    )


def _apply(ctx: CommandContext, params) -> Reply:
    ctx.broker.applied += 1  # type: ignore[attr-defined]
    return Reply(answer={"Ticket": str(ctx.broker.applied)})  # type: ignore[attr-defined]


def _fail(ctx: CommandContext, params) -> Reply:
    raise Mt5Error(13)


def _boom(ctx: CommandContext, params) -> Reply:
    raise RuntimeError("handler bug")


STAND_INS = {
    "sim/echo": Command("sim/echo", "SIM_ECHO", _echo),
    "sim/apply": Command("sim/apply", "SIM_APPLY", _apply),
    "sim/fail": Command("sim/fail", "SIM_FAIL", _fail),
    "sim/boom": Command("sim/boom", "SIM_BOOM", _boom),
}


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        tls=False,
        ticks_per_second=0,
        managers=(
            ManagerSpec(1000, "Password1"),
            ManagerSpec(1001, "Secret#12", ("demo\\*", "!demo\\vip")),
        ),
    )


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(
        sim_config, commands=STAND_INS, broker_factory=FakeBroker
    ) as s:
        yield s


@pytest.fixture
async def client(sim: Simulator, mt5_session) -> AsyncIterator[Any]:
    async with mt5_session(sim) as c:
        yield c


# -- handshake -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, srv_rand=OFFICIAL_SRV_RAND)]
)
async def test_official_handshake_example(sim: Simulator, mt5_session) -> None:
    # The example of docs/mt5-webapi.md#example-session, byte for byte.
    async with mt5_session(sim, authenticate=False) as c:
        status, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        assert status == 200
        assert start == {
            "retcode": "0 Done",
            "version_access": "3470",
            "srv_rand": OFFICIAL_SRV_RAND,
        }
        assert mt5_rand_answer(mt5_password_hash("Password1"), OFFICIAL_SRV_RAND) == (
            OFFICIAL_SRV_ANSWER
        )
        status, answer = await c.get(
            "auth/answer",
            srv_rand_answer=OFFICIAL_SRV_ANSWER,
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert status == 200
        assert answer == {
            "retcode": "0 Done",
            "version_access": "3470",
            "version_trade": "3470",
            "cli_rand_answer": OFFICIAL_CLI_ANSWER,
        }
        assert await c.get("test/access") == (200, {"retcode": "0 Done"})


async def test_response_headers(client: Any) -> None:
    async with client.http.get(client.base_url + "/api/test/access") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        assert await resp.json() == {"retcode": "0 Done"}


async def test_wrong_password_rejected_with_403(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        wrong = mt5_rand_answer(mt5_password_hash("Password2"), start["srv_rand"])
        status, body = await c.get(
            "auth/answer", srv_rand_answer=wrong, cli_rand=OFFICIAL_CLI_RAND
        )
        assert (status, body) == (403, None)
        # The connection stays unauthenticated.
        assert await c.get("test/access") == (403, None)


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, auth_failure="retcode")]
)
async def test_wrong_password_retcode_mode(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        # UTF-8 instead of UTF-16LE: a classic client bug.
        h1 = hashlib.md5(b"Password1").digest()  # noqa: S324
        bad_hash = hashlib.md5(h1 + b"WebAPI").digest()  # noqa: S324
        status, body = await c.get(
            "auth/answer",
            srv_rand_answer=mt5_rand_answer(bad_hash, start["srv_rand"]),
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert (status, body) == (200, {"retcode": "3006 Invalid account password"})


@pytest.mark.parametrize(
    ("sim_config", "expected"),
    [
        (
            SimConfig(tls=False, ticks_per_second=0, auth_answer_timeout=0.2),
            (403, None),
        ),
        (
            SimConfig(
                tls=False,
                ticks_per_second=0,
                auth_answer_timeout=0.2,
                auth_failure="retcode",
            ),
            (200, {"retcode": "3006 Invalid account password"}),
        ),
    ],
)
async def test_late_answer_rejected(sim: Simulator, mt5_session, expected) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        await asyncio.sleep(0.3)
        result = await c.get(
            "auth/answer",
            srv_rand_answer=mt5_rand_answer(
                mt5_password_hash("Password1"), start["srv_rand"]
            ),
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert result == expected
        assert await c.get("test/access") == (403, None)
    stats = sim.stats()
    assert stats["handshakes"] == {"started": 1, "completed": 0, "failed": 1}


async def test_answer_without_start_rejected(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        status, _ = await c.get(
            "auth/answer",
            srv_rand_answer=OFFICIAL_SRV_ANSWER,
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert status == 403


@pytest.mark.parametrize(
    ("params", "retcode"),
    [
        (
            {"version": 3470, "agent": "WebManager", "login": 4242, "type": "manager"},
            "1001 Invalid account",
        ),
        (
            {"version": 400, "agent": "WebManager", "login": 1000, "type": "manager"},
            "1010 Client has old version",
        ),
        (
            {"version": 3470, "agent": "Web Manager", "login": 1000, "type": "manager"},
            "3 Invalid parameters",
        ),
        (
            {"version": 3470, "agent": "", "login": 1000, "type": "manager"},
            "3 Invalid parameters",
        ),
        (
            {"version": 3470, "agent": "WebManager", "login": 1000, "type": "client"},
            "1000 Invalid terminal type",
        ),
        (
            {"version": 3470, "agent": "WebManager", "login": 1000},
            "3 Invalid parameters",
        ),
        (
            {"version": "x", "agent": "WebManager", "login": 1000, "type": "manager"},
            "3 Invalid parameters",
        ),
    ],
)
async def test_auth_start_validation(
    sim: Simulator, params, retcode, mt5_session
) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        status, body = await c.get("auth/start", **params)
        assert (status, body) == (200, {"retcode": retcode})


async def test_unauthenticated_connection_rejected(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        assert await c.get("test/access") == (403, None)
        assert await c.get("sim/echo", name="x") == (403, None)
        assert await c.get("no/such/command") == (403, None)
        assert await c.get("/sim_echo") == (403, None)


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, unauthenticated="retcode")]
)
async def test_unauthenticated_retcode_mode(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        assert await c.get("test/access") == (
            200,
            {"retcode": "8 Not enough permissions"},
        )


async def test_new_connection_is_unauthenticated(sim: Simulator, mt5_session) -> None:
    async with (
        mt5_session(sim) as first,
        mt5_session(sim, authenticate=False) as second,
    ):
        assert await first.get("test/access") == (200, {"retcode": "0 Done"})
        assert await second.get("test/access") == (403, None)
    assert sim.stats()["sessions_live"] == 0


async def test_reauth_restarts_handshake(client: Any) -> None:
    _status, start = await client.get(
        "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
    )
    assert start["retcode"] == "0 Done"
    # Between start and answer the old session is gone.
    assert await client.get("test/access") == (403, None)
    await client.authenticate()
    assert await client.get("test/access") == (200, {"retcode": "0 Done"})


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, idle_timeout=0.3)]
)
async def test_idle_connection_dropped(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        assert sim.stats()["sessions_live"] == 1
        for _ in range(50):
            await asyncio.sleep(0.05)
            if sim.stats()["connections_live"] == 0:
                break
        assert sim.stats()["connections_live"] == 0
        # The client reconnects transparently: the new connection is unauthenticated.
        try:
            status, _ = await c.get("test/access")
        except aiohttp.ServerDisconnectedError:
            status = 0
        assert status in (0, 403)


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, idle_timeout=1.0)]
)
async def test_requests_keep_connection_alive(sim: Simulator, mt5_session) -> None:
    # 4 x 0.4 s > the idle timeout in total, but never idle that long at once.
    async with mt5_session(sim) as c:
        for _ in range(4):
            await asyncio.sleep(0.4)
            assert await c.get("test/access") == (200, {"retcode": "0 Done"})
    assert sim.stats()["connections_opened"] == 1


async def test_quit_closes_connection(client: Any, sim: Simulator) -> None:
    async with client.http.get(client.base_url + "/api/quit") as resp:
        assert await resp.json() == {"retcode": "0 Done"}
        assert resp.headers.get("Connection", "").lower() == "close"
    await asyncio.sleep(0.05)
    assert sim.stats()["connections_live"] == 0
    assert await client.get("test/access") == (403, None)


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, max_sessions_per_login=1)]
)
async def test_max_sessions_per_login(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim), mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        status, body = await c.get(
            "auth/answer",
            srv_rand_answer=mt5_rand_answer(
                mt5_password_hash("Password1"), start["srv_rand"]
            ),
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert (status, body) == (200, {"retcode": "1018 Server is busy"})


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, issue_cookie=True)]
)
async def test_cookie_issued_but_not_required(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "auth/start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        srv_answer = mt5_rand_answer(mt5_password_hash("Password1"), start["srv_rand"])
        url = (
            f"{c.base_url}/api/auth/answer?srv_rand_answer={srv_answer}"
            f"&cli_rand={OFFICIAL_CLI_RAND}"
        )
        async with c.http.get(url) as resp:
            assert resp.status == 200
            cookie = resp.cookies["MT5SIM_SESSION"].value
        assert await c.get("test/access") == (200, {"retcode": "0 Done"})
    # The cookie does not authenticate a new connection.
    async with (
        aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            cookies={"MT5SIM_SESSION": cookie},
        ) as other,
        other.get(sim.url + "/api/test/access") as resp,
    ):
        assert resp.status == 403


# -- TLS -------------------------------------------------------------------------


@pytest.mark.parametrize("sim_config", [SimConfig(ticks_per_second=0)])
async def test_tls_with_generated_certificate(sim: Simulator, mt5_session) -> None:
    assert sim.url.startswith("https://127.0.0.1:")
    assert sim.ca_file is not None
    async with mt5_session(sim) as c:
        assert await c.get("test/access") == (200, {"retcode": "0 Done"})
    # Without trusting the CA the handshake fails.
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(sim.url + "/api/test/access")
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    connector = aiohttp.TCPConnector(ssl=ctx)
    url = sim.url.replace("127.0.0.1", "localhost") + "/api/x"
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(url) as r,
    ):
        assert r.status == 403


# -- envelope, routing, parameters ------------------------------------------------


async def test_envelope_and_manager(client: Any) -> None:
    status, body = await client.get("sim/echo", name="x")
    assert status == 200
    assert list(body) == ["retcode", "trans_id", "answer"]
    assert body["retcode"] == "0 Done"
    assert body["answer"]["manager"] == "1000"
    assert body["answer"]["groups"] == ["*"]


async def test_group_limited_manager(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, 1001, "Secret#12") as c:
        _, body = await c.get("sim/echo")
        assert body["answer"]["groups"] == ["demo\\*", "!demo\\vip"]


async def test_errors_have_no_answer(client: Any) -> None:
    assert await client.get("sim/fail") == (200, {"retcode": "13 Not found"})
    assert await client.get("sim/boom") == (200, {"retcode": "2 Common error"})


async def test_unknown_command(client: Any) -> None:
    assert await client.get("no/such") == (
        200,
        {"retcode": "12002 Command doesn't supported"},
    )
    assert await client.get("/no_such") == (404, None)
    assert await client.get("/") == (404, None)


async def test_legacy_paths(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        _, start = await c.get(
            "/auth_start", version=3470, agent="WebManager", login=1000, type="manager"
        )
        _status, answer = await c.get(
            "/auth_answer",
            srv_rand_answer=mt5_rand_answer(
                mt5_password_hash("Password1"), start["srv_rand"]
            ),
            cli_rand=OFFICIAL_CLI_RAND,
        )
        assert answer["retcode"] == "0 Done"
        assert await c.get("/test_access") == (200, {"retcode": "0 Done"})
        _, body = await c.get("/sim_echo", name="legacy")
        assert body["answer"]["get"]["name"] == "legacy"
        # Mixed styles on one connection.
        _, body = await c.get("sim/echo", name="rest")
        assert body["answer"]["get"]["name"] == "rest"
        assert await c.get("/quit") == (200, {"retcode": "0 Done"})


async def test_case_insensitive_names(client: Any) -> None:
    _, body = await client.get("sim/echo", raw_query="NAME=a&Login=1,2&GrOuP=demo")
    got = body["answer"]["get"]
    assert (got["name"], got["login"], got["group"]) == ("a", "1,2", "demo")
    assert body["answer"]["list"] == ["1", "2"]


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        ("name=John%20Smith", "John Smith"),
        ("name=John+Smith", "John+Smith"),
        ("name=John\\|Smith", "John|Smith"),
        ("name=a%5C%3Db", "a=b"),  # \= percent-encoded
        ("name=manager\\administrators", "manager\\administrators"),
        ("name=manager\\\\administrators", "manager\\administrators"),
        ("name=line\\%0Abreak", "line\nbreak"),
        ("name=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82", "Привет"),
        ("name=", ""),
        ("name=first&name=second", "first"),
    ],
)
async def test_query_decoding(client: Any, raw_query, expected) -> None:
    _, body = await client.get("sim/echo", raw_query=raw_query)
    assert body["answer"]["get"]["name"] == expected


async def test_long_query_line(client: Any) -> None:
    value = "Forex\\Major\\EURUSD," * 300  # 5.4 KB, ~9 KB once percent-encoded
    _, body = await client.get("sim/echo", name=value)
    assert body["answer"]["get"]["name"] == value


async def test_helper_escaping_round_trip(client: Any) -> None:
    value = "a=b|c\\d e\nf+g"
    _, body = await client.get("sim/echo", name=value)
    assert body["answer"]["get"]["name"] == value


@pytest.mark.parametrize(
    "sim_config", [SimConfig(tls=False, ticks_per_second=0, plus_as_space=True)]
)
async def test_plus_as_space_switch(client: Any) -> None:
    _, body = await client.get("sim/echo", raw_query="name=John+Smith")
    assert body["answer"]["get"]["name"] == "John Smith"


async def test_invalid_utf8_query_is_retcode_3(client: Any) -> None:
    assert await client.get("sim/echo", raw_query="name=%FF") == (
        200,
        {"retcode": "3 Invalid parameters"},
    )


async def test_body_overrides_query(client: Any) -> None:
    status, body = await client.post(
        "sim/echo",
        {"Name": "from body", "login": [1, "2", 3], "amount": 100.5, "comment": None},
        name="from query",
        comment="kept",
        group="g",
    )
    assert status == 200
    got = body["answer"]["get"]
    assert got["name"] == "from body"
    assert got["login"] == "1,2,3"
    assert got["amount"] == "100.5"
    assert got["comment"] == "kept"
    assert got["group"] == "g"
    assert body["answer"]["list"] == ["1", "2", "3"]


async def test_body_parsed_regardless_of_content_type(client: Any) -> None:
    async with client.http.post(
        client.base_url + "/api/sim/echo",
        data=b'{"name":"x"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as resp:
        assert (await resp.json())["answer"]["get"]["name"] == "x"


async def test_invalid_json_body_is_retcode_3(client: Any) -> None:
    assert await client.request("POST", "sim/echo", raw_body=b"login=1&x=2") == (
        200,
        {"retcode": "3 Invalid parameters"},
    )
    # Whitespace-only bodies count as no body.
    _status, body = await client.request("POST", "sim/echo", raw_body=b"  \n")
    assert body["retcode"] == "0 Done"


async def test_other_methods(client: Any) -> None:
    assert (await client.request("PUT", "sim/echo"))[0] == 405


# -- stats ----------------------------------------------------------------------------


async def test_stats_counters(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        await c.get("sim/echo")
        await c.get("/sim_echo")
        await c.get("test/access")
        status, stats = await control.get("/_sim/stats")
        assert status == 200
        assert stats["handshakes"] == {"started": 1, "completed": 1, "failed": 0}
        assert stats["sessions_live"] == 1
        assert stats["connections_live"] == 2
        assert stats["connections_opened"] == 2
        assert stats["requests"]["sim/echo"] == 2
        assert stats["requests"]["test/access"] == 1
        assert stats["requests"]["auth/start"] == 1
        assert stats["trans_id"] == "7"
        assert stats["balance_operations"] == {"count": 0, "per_login": {}}


async def test_start_fails_cleanly_on_busy_port(sim: Simulator) -> None:
    other = Simulator(
        SimConfig(tls=True, port=sim.port, ticks_per_second=0),
        commands=STAND_INS,
        broker_factory=FakeBroker,
    )
    with pytest.raises(OSError, match="address already in use"):
        await other.start()
    assert other.ca_file is None  # the generated certificate was cleaned up
    await other.stop()
