"""QuotePoller with a fake pool and session: trans_id cursor, restarts, change-only
emission, chunking. Time and sleep are injected; nothing sleeps for real."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mt5gateway_server.feeds.hub import FeedKey, FeedTick
from mt5gateway_server.feeds.poller import MAX_SYMBOL_CHARS, QuotePoller, chunk_names
from mt5gateway_server.webapi.wire import Envelope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def wire(symbol: str, ms: int, bid: str = "1.10000") -> dict[str, str]:
    return {
        "Symbol": symbol,
        "Digits": "5",
        "Datetime": str(ms // 1000),
        "DatetimeMsc": str(ms),
        "Bid": bid,
        "Ask": "1.20000",
        "Last": "0",
        "Volume": "0",
        "VolumeReal": "0",
    }


@dataclass
class FakeSession:
    answers: list[tuple[list[dict[str, str]], int]]
    handshakes: int = 1
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reauth_on_call: int | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    async def request(self, command: str, params: dict[str, Any]) -> Envelope:
        self.calls.append((command, dict(params)))
        if self.reauth_on_call == len(self.calls):
            self.handshakes += 1
        if not self.answers:
            self.idle.set()
            await asyncio.Event().wait()  # no more scripted answers: block
        ticks, trans_id = self.answers.pop(0)
        return Envelope(0, "Done", ticks, {"trans_id": str(trans_id)})


@dataclass
class FakeConfig:
    server_utc_offset: timedelta = timedelta(0)


@dataclass
class FakePool:
    session: FakeSession
    name: str = "main"
    config: FakeConfig = field(default_factory=FakeConfig)
    leases: int = 0

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[FakeSession]:
        self.leases += 1
        yield self.session


async def run_poller(
    session: FakeSession, names: set[str], *, group: str = ""
) -> tuple[QuotePoller, list[list[FeedTick]], list[float]]:
    emitted: list[list[FeedTick]] = []
    sleeps: list[float] = []

    async def sink(ticks: list[FeedTick]) -> None:
        emitted.append(ticks)

    now = [0.0]

    def clock() -> float:
        now[0] += 0.03  # each poll "takes" 30 ms
        return now[0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    poller = QuotePoller(
        FakePool(session),  # type: ignore[arg-type]
        FeedKey("main", group),
        sink,
        interval=0.1,
        clock=clock,
        sleep=sleep,
    )
    poller.set_symbols(names)
    poller.start()
    await asyncio.wait_for(session.idle.wait(), 5)
    await poller.aclose()
    return poller, emitted, sleeps


def test_chunk_names_respects_the_limit() -> None:
    names = [f"SYM{i:05d}" for i in range(1000)]  # 8 chars + comma each
    chunks = chunk_names(names)
    assert sorted(n for c in chunks for n in c) == sorted(names)
    assert all(len(",".join(c)) <= MAX_SYMBOL_CHARS for c in chunks)
    assert len(chunks) == 3  # 4096 // 9 = 455 names per chunk
    assert chunk_names(["B", "A"]) == [("A", "B")]
    assert chunk_names([]) == []


async def test_cursor_follows_trans_id_and_emits_changes_only() -> None:
    session = FakeSession(
        [
            ([wire("EURUSD", 1000), wire("GBPUSD", 1000)], 10),
            ([wire("EURUSD", 2000, "1.10001")], 12),
            ([], 12),
            ([wire("EURUSD", 2000, "1.10001")], 13),  # the same tick again
        ]
    )
    poller, emitted, _ = await run_poller(session, {"EURUSD", "GBPUSD"})
    cursors = [params["trans_id"] for _, params in session.calls]
    assert cursors == [0, 10, 12, 12, 13]
    assert session.calls[0][1]["symbol"] == ["EURUSD", "GBPUSD"]
    assert [[(t.symbol, t.stamp) for t in batch] for batch in emitted] == [
        [("EURUSD", 1000), ("GBPUSD", 1000)],
        [("EURUSD", 2000)],
    ]
    assert poller.polls == 4


async def test_restart_from_zero_after_reauth() -> None:
    session = FakeSession(
        [([wire("EURUSD", 1000)], 10), ([wire("EURUSD", 2000)], 11), ([], 11)],
        reauth_on_call=2,
    )
    await run_poller(session, {"EURUSD"})
    assert [p["trans_id"] for _, p in session.calls] == [0, 10, 0, 11]


async def test_restart_from_zero_when_trans_id_goes_back() -> None:
    session = FakeSession(
        [([wire("EURUSD", 1000)], 500), ([wire("EURUSD", 2000)], 3), ([], 3)]
    )
    poller, emitted, _ = await run_poller(session, {"EURUSD"})
    assert [p["trans_id"] for _, p in session.calls] == [0, 500, 0, 3]
    assert len(emitted) == 2
    assert poller.restarts >= 2  # the lease's start and the backwards id


async def test_group_view_uses_last_group() -> None:
    session = FakeSession([([wire("EURUSD", 1000)], 1)])
    await run_poller(session, {"EURUSD"}, group="real\\vip")
    command, params = session.calls[0]
    assert command == "tick/last_group"
    assert params["group"] == "real\\vip"


async def test_fixed_rate_measured_start_to_start() -> None:
    session = FakeSession([([], 1), ([], 1), ([], 1)])
    _, _, sleeps = await run_poller(session, {"EURUSD"})
    # Each poll takes 30 ms: the sleep makes up the rest of the 100 ms interval.
    assert sleeps
    assert all(abs(s - 0.07) < 1e-9 for s in sleeps), sleeps


async def test_symbol_change_restarts_the_cursor() -> None:
    session = FakeSession([([wire("EURUSD", 1000)], 10)])
    emitted: list[list[FeedTick]] = []

    async def sink(ticks: list[FeedTick]) -> None:
        emitted.append(ticks)

    poller = QuotePoller(
        FakePool(session),  # type: ignore[arg-type]
        FeedKey("main"),
        sink,
        interval=0.1,
        sleep=lambda _s: asyncio.sleep(0),
    )
    poller.set_symbols({"EURUSD"})
    assert poller.symbols == {"EURUSD"}
    poller.set_symbols({"EURUSD", "GBPUSD"})
    poller.start()
    await asyncio.wait_for(session.idle.wait(), 5)
    assert session.calls[-1][1]["trans_id"] == 10
    poller.set_symbols({"EURUSD"})
    session.answers.append(([], 11))
    await poller.aclose()
    assert "running" not in repr(poller)
