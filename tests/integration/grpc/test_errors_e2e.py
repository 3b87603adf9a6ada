"""Error details end to end: permissions, several MT5 servers, MT5 down, rate limits,
caller authentication."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
import structlog
from mt5gateway.v1 import server_service_pb2 as spb
from mt5gateway.v1 import trade_service_pb2 as tpb
from mt5gateway.v1 import user_service_pb2 as pb
from mt5sim import ManagerSpec, SimConfig
from pydantic import SecretStr

if TYPE_CHECKING:
    from conftest import Gateway
    from mt5sim import Simulator

FIRST = 100_000
LIMITED_LOGIN = 1001
LIMITED_PASSWORD = "Limited#1"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        tls=False,
        seed=1,
        ticks_per_second=0,
        idle_timeout=30.0,
        managers=(
            ManagerSpec(1000, "Password1"),
            ManagerSpec(LIMITED_LOGIN, LIMITED_PASSWORD, ("demo\\*",)),
        ),
    )


def _logins_in(sim: Simulator, prefix: str) -> list[int]:
    return sorted(
        u.login for u in sim.broker.users.values() if u.group.name.startswith(prefix)
    )


async def test_permission_denied_for_a_limited_manager(
    sim: Simulator, make_gateway, rpc_error, mt5_server_settings
) -> None:
    servers = {
        "main": mt5_server_settings(sim, "main"),
        "limited": mt5_server_settings(
            sim, "limited", login=LIMITED_LOGIN, password=LIMITED_PASSWORD
        ),
    }
    async with make_gateway(sim, mt5=servers, default_server="main") as gateway:
        real = _logins_in(sim, "real\\")[0]
        demo = _logins_in(sim, "demo\\")[0]
        # The default server's manager sees everything.
        await gateway.users.GetUser(pb.GetUserRequest(login=real))
        allowed = await gateway.users.GetUser(
            pb.GetUserRequest(server="limited", login=demo)
        )
        assert allowed.user.login == demo
        failure = await rpc_error(
            gateway.users.GetUser(pb.GetUserRequest(server="limited", login=real))
        )
        assert failure.code is grpc.StatusCode.PERMISSION_DENIED
        assert failure.reason == "MT5_PERMISSION_DENIED"
        assert failure.metadata["retcode"] == "8"
        assert failure.metadata["server"] == "limited"
        assert failure.metadata["login"] == str(real)
        assert failure.retry is None
        listed = await gateway.server.ListServers(spb.ListServersRequest())
        assert {s.name: s.default_server for s in listed.servers} == {
            "main": True,
            "limited": False,
        }


async def test_server_down_is_unavailable_with_retry_info(
    gateway: Gateway, rpc_error
) -> None:
    await gateway.users.GetUser(pb.GetUserRequest(login=FIRST))
    await gateway.sim.stop()
    failure = await rpc_error(
        gateway.users.GetUser(pb.GetUserRequest(login=FIRST), timeout=20)
    )
    assert failure.code is grpc.StatusCode.UNAVAILABLE
    assert failure.reason in {"MT5_UNAVAILABLE", "POOL_EXHAUSTED"}
    assert failure.retry is not None
    assert failure.retry.retry_delay.ToNanoseconds() > 0
    assert "127.0.0.1" not in failure.message  # no upstream address leaks


async def test_rate_limited_is_resource_exhausted(gateway: Gateway, rpc_error) -> None:
    await gateway.faults(error_rate=1.0, error_retcode=12, commands=["user/get"])
    failure = await rpc_error(
        gateway.users.GetUser(pb.GetUserRequest(login=FIRST), timeout=10)
    )
    assert failure.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.reason == "MT5_RATE_LIMITED"
    assert failure.metadata["retcode"] == "12"
    assert failure.retry is not None


async def test_unclassified_retcode_is_unknown(gateway: Gateway, rpc_error) -> None:
    await gateway.faults(error_rate=1.0, error_retcode=2, commands=["user/get"])
    failure = await rpc_error(gateway.users.GetUser(pb.GetUserRequest(login=FIRST)))
    assert failure.code is grpc.StatusCode.UNKNOWN
    assert failure.reason == "MT5_ERROR"
    assert failure.metadata["retcodeName"] == "MT_RET_ERROR"


async def test_api_keys(sim: Simulator, make_gateway, rpc_error) -> None:
    key = "k-" + "s3cr3t" * 4
    async with make_gateway(sim, grpc={"api_keys": (SecretStr(key),)}) as gateway:
        failure = await rpc_error(gateway.users.GetUser(pb.GetUserRequest(login=FIRST)))
        assert failure.code is grpc.StatusCode.UNAUTHENTICATED
        assert failure.reason == "CALLER_UNAUTHENTICATED"
        wrong = await rpc_error(
            gateway.users.GetUser(
                pb.GetUserRequest(login=FIRST), metadata=(("x-api-key", "nope"),)
            )
        )
        assert wrong.code is grpc.StatusCode.UNAUTHENTICATED
        ok = await gateway.users.GetUser(
            pb.GetUserRequest(login=FIRST), metadata=(("x-api-key", key),)
        )
        assert ok.user.login == FIRST
        bearer = await gateway.users.GetUser(
            pb.GetUserRequest(login=FIRST),
            metadata=(("authorization", f"Bearer {key}"),),
        )
        assert bearer.user.login == FIRST


async def test_a_huge_server_name_is_refused_not_echoed(
    gateway: Gateway, rpc_error
) -> None:
    # Before: ErrorInfo repeated all 100 kB, so the caller saw RESOURCE_EXHAUSTED
    # (the response metadata limit) instead of the gateway's answer.
    huge = "x" * 100_000
    failure = await rpc_error(
        gateway.users.GetUser(pb.GetUserRequest(server=huge, login=FIRST))
    )
    assert failure.code in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}
    assert failure.reason in {"SERVER_NOT_FOUND", "VALIDATION_FAILED"}
    assert len(failure.message) < 200
    assert all(len(value) <= 67 for value in failure.metadata.values())
    if "server" in failure.metadata:
        assert failure.metadata["server"] == "x" * 64 + "..."


async def test_the_access_line_shows_a_bounded_request_id(
    gateway: Gateway, rpc_error
) -> None:
    huge = "r" * 100_000
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        await rpc_error(
            gateway.trade.CreateBalanceOperation(
                tpb.CreateBalanceOperationRequest(request_id=huge, login=FIRST)
            )
        )
    (line,) = [e for e in logs if e["event"] == "rpc_finished"]
    assert line["code"] == "INVALID_ARGUMENT"
    assert line["request_id"] == "r" * 64 + "..."


async def test_malformed_request_bytes_name_the_message_type(
    sim: Simulator, make_gateway, rpc_error
) -> None:
    """Bytes that do not parse are a VALIDATION_FAILED answer naming the request type,
    for unary and streaming RPCs, after the caller check, before MT5."""
    key = "k-malformed"
    bad_utf8 = b"\x0a\x02\xff\xfe"  # field 1 (server), two bytes of invalid UTF-8
    async with make_gateway(sim, grpc={"api_keys": (SecretStr(key),)}) as gateway:
        before = await gateway.requests()
        get_user = gateway.channel.unary_unary(
            "/mt5gateway.v1.UserService/GetUser",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        refused = await rpc_error(get_user(bad_utf8))
        assert refused.code is grpc.StatusCode.UNAUTHENTICATED
        failure = await rpc_error(get_user(bad_utf8, metadata=(("x-api-key", key),)))
        assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
        assert failure.reason == "VALIDATION_FAILED"
        assert (
            failure.message == "the request is not a valid mt5gateway.v1.GetUserRequest"
        )
        assert failure.fields == [""]
        stream = gateway.channel.unary_stream(
            "/mt5gateway.v1.QuoteService/StreamQuotes",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        streamed = await rpc_error(
            anext(aiter(stream(bad_utf8, metadata=(("x-api-key", key),))))
        )
        assert streamed.code is grpc.StatusCode.INVALID_ARGUMENT
        assert streamed.reason == "VALIDATION_FAILED"
        assert "mt5gateway.v1.StreamQuotesRequest" in streamed.message
        assert await gateway.requests() == before
