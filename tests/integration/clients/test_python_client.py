"""mt5gateway.client (async and sync) against the real gateway with mt5sim upstream.

Flows from issue 6: create a user; deposit with a request_id and repeat it (applied
once); read account, positions and deals page by page; stream quotes; typed errors for
INVALID_ARGUMENT (field violations) and NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from mt5gateway.client import (
    AsyncGatewayClient,
    AsyncQuoteStream,
    GatewayClient,
    NotFound,
    Unavailable,
    ValidationFailed,
    money,
    money_from_proto,
)
from mt5gateway.v1 import (
    quote_service_pb2,
    trade_pb2,
    trade_service_pb2,
    user_pb2,
    user_service_pb2,
)
from mt5gateway_server.app import open_app
from mt5gateway_server.settings import (
    GrpcSettings,
    Mt5ServerSettings,
    QuoteSettings,
    Settings,
    TelemetrySettings,
)
from mt5sim import SimConfig, Simulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from .conftest import RunningGateway, TlsFiles

pytestmark = pytest.mark.integration

RICH = 100_041  # seeded account with positions and history (mt5sim seed 1)
DEPOSITOR = 100_000


STREAM_QUOTES = 5
STREAM_SECONDS = 15.0


def check_stream(messages: list[quote_service_pb2.StreamQuotesResponse]) -> None:
    """At least the snapshot (one quote per symbol), contiguous sequence numbers."""
    quotes = [m.quote for m in messages if m.HasField("quote")]
    assert {q.symbol for q in quotes} == {"EURUSD", "GBPUSD"}
    assert len(quotes) <= STREAM_QUOTES
    assert [m.sequence for m in messages] == list(range(1, len(messages) + 1))


def all_time() -> tuple[Timestamp, Timestamp]:
    return Timestamp(seconds=1), Timestamp(seconds=int(time.time()) + 86_400)


def new_user_request(name: str) -> user_service_pb2.CreateUserRequest:
    return user_service_pb2.CreateUserRequest(
        user=user_pb2.User(group="demo\\forex", name=name, leverage=100),
        main_password="Main#Pass1",
        investor_password="Invest#Pass1",
    )


def deposit(amount: str, login: int = DEPOSITOR) -> Any:
    return trade_service_pb2.CreateBalanceOperationRequest(
        login=login,
        type=trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
        amount=money(amount, "USD"),
        comment="client test",
    )


def balance_ops(gateway: RunningGateway) -> int:
    return int(gateway.stats()["balance_operations"]["count"])


async def collect_async(
    call: Callable[[Any], Awaitable[Any]], request: Any, items: str
) -> tuple[list[Any], int]:
    out: list[Any] = []
    pages = 0
    while True:
        reply = await call(request)
        pages += 1
        out.extend(getattr(reply, items))
        if not reply.next_page_token:
            return out, pages
        request.page_token = reply.next_page_token


def collect_sync(
    call: Callable[[Any], Any], request: Any, items: str
) -> tuple[list[Any], int]:
    out: list[Any] = []
    pages = 0
    while True:
        reply = call(request)
        pages += 1
        out.extend(getattr(reply, items))
        if not reply.next_page_token:
            return out, pages
        request.page_token = reply.next_page_token


# ---------------------------------------------------------------------- asyncio


async def test_async_create_user(live_gateway: RunningGateway) -> None:
    async with AsyncGatewayClient(live_gateway.target) as gw:
        request = new_user_request("Async Client")
        created = (await gw.users.CreateUser(request)).user
        assert request.request_id  # filled by the client
        assert created.login >= 100_000
        got = (
            await gw.users.GetUser(user_service_pb2.GetUserRequest(login=created.login))
        ).user
        assert got.name == "Async Client"
        assert got.group == "demo\\forex"


async def test_async_deposit_applied_once(live_gateway: RunningGateway) -> None:
    async with AsyncGatewayClient(live_gateway.target) as gw:
        # The user record's balance: mt5sim answers user/account/get only for accounts
        # with open trades or activity since start (as MT5 does).
        user = user_service_pb2.GetUserRequest(login=DEPOSITOR)
        before = money_from_proto((await gw.users.GetUser(user)).user.balance)
        ops_before = balance_ops(live_gateway)
        request = deposit("250.75")
        first = await gw.trades.CreateBalanceOperation(request)
        again = await gw.trades.CreateBalanceOperation(request)  # same request_id
        assert not first.replayed
        assert again.replayed
        assert again.balance_operation == first.balance_operation
        after = money_from_proto((await gw.users.GetUser(user)).user.balance)
        assert after == before + Decimal("250.75")
        assert balance_ops(live_gateway) == ops_before + 1


async def test_async_account_positions_deals_paged(
    live_gateway: RunningGateway,
) -> None:
    async with AsyncGatewayClient(live_gateway.target) as gw:
        account = (
            await gw.users.GetAccount(user_service_pb2.GetAccountRequest(login=RICH))
        ).account
        assert account.login == RICH
        assert account.balance.currency_code == "USD"

        whole = await gw.trades.ListPositions(
            trade_service_pb2.ListPositionsRequest(login=RICH, page_size=100)
        )
        assert len(whole.positions) >= 2
        paged, pages = await collect_async(
            gw.trades.ListPositions,
            trade_service_pb2.ListPositionsRequest(login=RICH, page_size=1),
            "positions",
        )
        assert pages == len(whole.positions)
        assert [p.ticket for p in paged] == [p.ticket for p in whole.positions]

        start, end = all_time()
        deals = await gw.trades.ListDeals(
            trade_service_pb2.ListDealsRequest(
                login=RICH, start_time=start, end_time=end
            )
        )
        paged_deals, pages = await collect_async(
            gw.trades.ListDeals,
            trade_service_pb2.ListDealsRequest(
                login=RICH, start_time=start, end_time=end, page_size=3
            ),
            "deals",
        )
        assert len(deals.deals) > 3
        assert pages == -(-len(deals.deals) // 3)
        assert [d.ticket for d in paged_deals] == [d.ticket for d in deals.deals]


async def test_async_typed_errors(live_gateway: RunningGateway) -> None:
    async with AsyncGatewayClient(live_gateway.target) as gw:
        with pytest.raises(ValidationFailed) as invalid:
            await gw.trades.CreateBalanceOperation(deposit("1", login=0))
        assert [v.field for v in invalid.value.field_violations] == ["login"]
        assert invalid.value.reason == "VALIDATION_FAILED"

        with pytest.raises(NotFound) as missing:
            await gw.users.GetUser(user_service_pb2.GetUserRequest(login=999_999))
        assert missing.value.reason == "MT5_NOT_FOUND"
        assert missing.value.retcode == 13


async def test_async_stream_quotes(live_gateway: RunningGateway) -> None:
    async with AsyncGatewayClient(live_gateway.target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD", "GBPUSD"]),
            max_reopens=0,
            heartbeats=True,  # every message, so sequence numbers must be contiguous
        )
        messages: list[quote_service_pb2.StreamQuotesResponse] = []
        try:
            # Bounded: the snapshot comes at once, live ticks need a few seconds.
            async with asyncio.timeout(STREAM_SECONDS):
                async for message in stream:
                    messages.append(message)
                    if sum(m.HasField("quote") for m in messages) == STREAM_QUOTES:
                        stream.cancel()
        except TimeoutError:
            stream.cancel()
    check_stream(messages)


@contextlib.asynccontextmanager
async def own_gateway(**quotes: Any) -> AsyncIterator[tuple[Simulator, str]]:
    """A gateway of this test's own (its MT5 simulator may be stopped or faulted)."""
    config = SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=60.0)
    async with Simulator(config) as sim:
        settings = Settings(
            mt5={
                "main": Mt5ServerSettings.model_validate(
                    {
                        "name": "main",
                        "url": sim.url,
                        "login": 1000,
                        "password": "Password1",
                        "pool_size": 2,
                        "backoff_cap_seconds": 0.1,
                    }
                )
            },
            grpc=GrpcSettings(listen="127.0.0.1:0", grace_period_seconds=1.0),
            telemetry=TelemetrySettings(metrics_listen=None, log_format="json"),
            quotes=QuoteSettings(poll_interval_ms=50, **quotes),
        )
        async with open_app(settings) as app:
            yield sim, f"127.0.0.1:{app.port}"


async def test_async_stream_tells_since_when_mt5_is_unreachable() -> None:
    async with (
        own_gateway(heartbeat_seconds=30.0) as (sim, target),
        AsyncGatewayClient(target) as gw,
    ):
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"]), heartbeats=True
        )
        async with asyncio.timeout(10.0):
            async for message in stream:
                if message.HasField("snapshot_complete"):
                    assert stream.upstream_outage_start is None
                    stopped_at = datetime.now(UTC)
                    await sim.stop()
                elif message.HasField("heartbeat"):
                    break  # at once, not after the 30 s heartbeat interval
        since = stream.upstream_outage_start
        assert since is not None
        assert stopped_at - timedelta(seconds=0.1) <= since <= datetime.now(UTC)
        stream.cancel()


async def test_async_stream_reopens_after_a_retryable_refusal() -> None:
    # RESOURCE_EXHAUSTED with RetryInfo (MT5 "too frequent" on the snapshot fetch) is
    # retryable: the stream waits the server's hint and re-opens instead of raising.
    async with (
        own_gateway() as (sim, target),
        AsyncGatewayClient(target) as gw,
    ):
        sim.set_faults_json(
            {"error_rate": 1.0, "error_retcode": 12, "commands": ["tick/last"]}
        )
        delays: list[float] = []

        async def wait_then_heal(seconds: float) -> None:
            delays.append(seconds)
            sim.clear_faults()

        stream = AsyncQuoteStream(
            gw.quotes.StreamQuotes,
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"]),
            sleep=wait_then_heal,
        )
        async with asyncio.timeout(10.0):
            first = await anext(aiter(stream))
        assert first.quote.symbol == "EURUSD"
        assert stream.reopens == 1
        assert delays == [1.0]  # the gateway's RetryInfo
        stream.cancel()


# ------------------------------------------------------------------------- sync


def test_sync_create_user_and_deposit_once(live_gateway: RunningGateway) -> None:
    with GatewayClient(live_gateway.target, default_timeout=10.0) as gw:
        created = gw.users.CreateUser(new_user_request("Sync Client")).user
        # The user record's balance: a brand-new user may have no account (trade
        # state) record yet, so GetAccount can answer NOT_FOUND before the deposit.
        user = user_service_pb2.GetUserRequest(login=created.login)
        before = money_from_proto(gw.users.GetUser(user).user.balance)
        ops_before = balance_ops(live_gateway)
        request = deposit("100.5", login=created.login)
        request.request_id = str(uuid.uuid4())  # a caller-chosen id is kept
        first = gw.trades.CreateBalanceOperation(request)
        again = gw.trades.CreateBalanceOperation(request)
        assert (first.replayed, again.replayed) == (False, True)
        after = money_from_proto(gw.users.GetUser(user).user.balance)
        assert after == before + Decimal("100.5")
        assert balance_ops(live_gateway) == ops_before + 1


def test_sync_positions_and_deals_paged(live_gateway: RunningGateway) -> None:
    with GatewayClient(live_gateway.target) as gw:
        whole = gw.trades.ListPositions(
            trade_service_pb2.ListPositionsRequest(login=RICH)
        )
        paged, _ = collect_sync(
            gw.trades.ListPositions,
            trade_service_pb2.ListPositionsRequest(login=RICH, page_size=1),
            "positions",
        )
        assert [p.ticket for p in paged] == [p.ticket for p in whole.positions]
        start, end = all_time()
        deals = gw.trades.ListDeals(
            trade_service_pb2.ListDealsRequest(
                login=RICH, start_time=start, end_time=end
            )
        )
        paged_deals, pages = collect_sync(
            gw.trades.ListDeals,
            trade_service_pb2.ListDealsRequest(
                login=RICH, start_time=start, end_time=end, page_size=2
            ),
            "deals",
        )
        assert pages > 1
        assert [d.ticket for d in paged_deals] == [d.ticket for d in deals.deals]


def test_sync_typed_errors(live_gateway: RunningGateway) -> None:
    with GatewayClient(live_gateway.target) as gw:
        with pytest.raises(ValidationFailed) as invalid:
            gw.trades.CreateBalanceOperation(deposit("1", login=0))
        assert [v.field for v in invalid.value.field_violations] == ["login"]
        with pytest.raises(NotFound) as missing:
            gw.users.GetAccount(user_service_pb2.GetAccountRequest(login=999_999))
        assert missing.value.code.name == "NOT_FOUND"


def test_sync_stream_quotes(live_gateway: RunningGateway) -> None:
    with GatewayClient(live_gateway.target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD", "GBPUSD"]),
            max_reopens=0,
            heartbeats=True,  # every message, so sequence numbers must be contiguous
        )
        timer = threading.Timer(STREAM_SECONDS, stream.cancel)
        timer.start()
        messages: list[quote_service_pb2.StreamQuotesResponse] = []
        try:
            for message in stream:
                messages.append(message)
                if sum(m.HasField("quote") for m in messages) == STREAM_QUOTES:
                    stream.cancel()
        finally:
            timer.cancel()
    check_stream(messages)


# ---------------------------------------------------------------------- TLS


def _pem(path: str) -> bytes:
    with open(path, "rb") as f:  # noqa: PTH123 - fixture paths are str
        return f.read()


async def test_async_client_over_mutual_tls(
    live_tls_gateway: RunningGateway, tls_files: TlsFiles
) -> None:
    trusted = {
        "tls": True,
        "root_certificates": _pem(tls_files.server_ca),
        "default_timeout": 5.0,
    }
    async with AsyncGatewayClient(
        live_tls_gateway.target,
        certificate_chain=_pem(tls_files.client_cert),
        private_key=_pem(tls_files.client_key),
        **trusted,
    ) as gw:
        reply = await gw.users.GetUser(user_service_pb2.GetUserRequest(login=RICH))
        assert reply.user.login == RICH
    # The gateway only lets in certificates its client CA issued.
    for client in (
        AsyncGatewayClient(live_tls_gateway.target, **trusted),
        AsyncGatewayClient(
            live_tls_gateway.target,
            certificate_chain=_pem(tls_files.rogue_cert),
            private_key=_pem(tls_files.rogue_key),
            **trusted,
        ),
    ):
        async with client as gw:
            with pytest.raises(Unavailable):
                await gw.users.GetUser(user_service_pb2.GetUserRequest(login=RICH))


def test_sync_client_over_mutual_tls(
    live_tls_gateway: RunningGateway, tls_files: TlsFiles
) -> None:
    with GatewayClient(
        live_tls_gateway.target,
        tls=True,
        root_certificates=_pem(tls_files.server_ca),
        certificate_chain=_pem(tls_files.client_cert),
        private_key=_pem(tls_files.client_key),
        default_timeout=5.0,
    ) as gw:
        reply = gw.users.GetUser(user_service_pb2.GetUserRequest(login=RICH))
        assert reply.user.login == RICH
