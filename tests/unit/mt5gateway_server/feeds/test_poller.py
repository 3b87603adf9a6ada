"""QuotePoller with a fake pool and sessions under the real ``WebApiClient``: a session
borrowed per round, a trans_id cursor per session and login, restarts, change-only
emission, chunking. Time and sleep are injected; nothing sleeps for real."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mt5gateway_server.feeds.hub import FeedKey, FeedTick
from mt5gateway_server.feeds.poller import MAX_SYMBOL_CHARS, QuotePoller, chunk_names
from mt5gateway_server.webapi import ServerConfig, WebApiClient
from mt5gateway_server.webapi.wire import Envelope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

CONFIG = ServerConfig(url="http://mt5.invalid", login=1, password="p")


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


@dataclass(eq=False)  # compared by identity, as the poller keys cursors by session
class FakeSession:
    answers: list[tuple[list[dict[str, str]], int]]
    handshakes: int = 1
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reauth_on_call: int | None = None  # re-authenticates while answering call n
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    fed: asyncio.Event = field(default_factory=asyncio.Event)

    async def request(
        self, command: str, params: Mapping[str, Any] | None = None, **_: object
    ) -> Envelope:
        self.calls.append((command, dict(params or {})))
        if self.reauth_on_call == len(self.calls):
            self.handshakes += 1
        while not self.answers:  # no more scripted answers: block until fed
            self.fed.clear()
            self.idle.set()
            await self.fed.wait()
        ticks, trans_id = self.answers.pop(0)
        return Envelope(0, "Done", ticks, {"trans_id": str(trans_id)})

    def feed(self, ticks: list[dict[str, str]], trans_id: int) -> None:
        self.idle.clear()
        self.answers.append((ticks, trans_id))
        self.fed.set()

    def sent_ids(self) -> list[int]:
        return [params["trans_id"] for _, params in self.calls]


@dataclass
class FakePool:
    """Hands out its sessions in turn, as the pool's least-recently-used pick does."""

    sessions: list[FakeSession]
    name: str = "main"
    leases: int = 0
    held: int = 0
    reauth_on_lease: int | None = None  # re-authenticated in the pool before lease n

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[FakeSession]:
        session = self.sessions[self.leases % len(self.sessions)]
        self.leases += 1
        if self.reauth_on_lease == self.leases:
            session.handshakes += 1
        self.held += 1
        try:
            yield session
        finally:
            self.held -= 1

    def client(self, session: FakeSession) -> WebApiClient:
        return WebApiClient(session, CONFIG)


@dataclass
class Run:
    poller: QuotePoller
    emitted: list[list[FeedTick]]
    sleeps: list[float]
    held_while_sleeping: list[int]

    def stamps(self) -> list[list[tuple[str, int]]]:
        return [[(t.symbol, t.stamp) for t in batch] for batch in self.emitted]


async def run_poller(
    pool: FakePool, names: set[str], *, group: str = "", idle: asyncio.Event
) -> Run:
    """Poll until ``idle`` is set (a session ran out of answers), then stop."""
    emitted: list[list[FeedTick]] = []
    sleeps: list[float] = []
    held: list[int] = []

    async def sink(ticks: list[FeedTick]) -> None:
        emitted.append(ticks)

    now = [0.0]

    def clock() -> float:
        now[0] += 0.03  # each poll "takes" 30 ms
        return now[0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        held.append(pool.held)
        now[0] += seconds
        await asyncio.sleep(0)

    poller = QuotePoller(
        pool,  # type: ignore[arg-type]
        FeedKey("main", group),
        sink,
        interval=0.1,
        clock=clock,
        sleep=sleep,
    )
    poller.set_symbols(names)
    poller.start()
    await asyncio.wait_for(idle.wait(), 5)
    await poller.aclose()
    return Run(poller, emitted, sleeps, held)


async def run_one(session: FakeSession, names: set[str], *, group: str = "") -> Run:
    return await run_poller(FakePool([session]), names, group=group, idle=session.idle)


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
    run = await run_one(session, {"EURUSD", "GBPUSD"})
    assert session.sent_ids() == [0, 10, 12, 12, 13]
    assert session.calls[0][1]["symbol"] == ["EURUSD", "GBPUSD"]
    assert run.stamps() == [
        [("EURUSD", 1000), ("GBPUSD", 1000)],
        [("EURUSD", 2000)],
    ]
    assert run.poller.polls == 4
    assert run.poller.restarts == 1  # the session's first round only


async def test_a_session_is_borrowed_per_round_not_kept() -> None:
    session = FakeSession([([wire("EURUSD", 1000)], 1), ([], 1), ([], 1)])
    pool = FakePool([session])
    run = await run_poller(pool, {"EURUSD"}, idle=session.idle)
    assert run.poller.polls == 3
    assert pool.leases == 4  # three rounds, and the fourth that blocked
    assert run.held_while_sleeping == [0, 0, 0]  # given back before every sleep
    assert pool.held == 0  # and after aclose


async def test_each_session_keeps_its_own_cursor() -> None:
    # Rounds alternate a, b, a, b. Each session is asked from the id it answered,
    # never from the other's; what one brought is not emitted again from the other.
    idle = asyncio.Event()
    a = FakeSession(
        [
            ([wire("EURUSD", 1000), wire("GBPUSD", 1000)], 10),
            ([wire("EURUSD", 2000), wire("GBPUSD", 3000)], 30),  # changed since 10
        ],
        idle=idle,
    )
    b = FakeSession(
        [
            ([wire("EURUSD", 2000), wire("GBPUSD", 1000)], 20),  # full: from 0
            ([wire("GBPUSD", 3000)], 30),  # changed since 20: already emitted
        ],
        idle=idle,
    )
    run = await run_poller(FakePool([a, b]), {"EURUSD", "GBPUSD"}, idle=idle)
    assert a.sent_ids() == [0, 10, 30]
    assert b.sent_ids() == [0, 20]
    assert run.stamps() == [
        [("EURUSD", 1000), ("GBPUSD", 1000)],
        [("EURUSD", 2000)],
        [("GBPUSD", 3000)],
    ]
    assert run.poller.restarts == 2  # one first round per session


async def test_restart_from_zero_after_reauth_during_a_poll() -> None:
    session = FakeSession(
        [([wire("EURUSD", 1000)], 10), ([wire("EURUSD", 2000)], 11), ([], 11)],
        reauth_on_call=2,
    )
    run = await run_one(session, {"EURUSD"})
    assert session.sent_ids() == [0, 10, 0, 11]
    assert run.stamps() == [[("EURUSD", 1000)], [("EURUSD", 2000)]]
    assert run.poller.restarts == 2  # the first round and the re-authentication


async def test_restart_from_zero_after_reauth_between_rounds() -> None:
    # Another caller's request re-authenticated the session while it was in the
    # pool: the ids of its old login are void.
    session = FakeSession([([wire("EURUSD", 1000)], 10), ([wire("EURUSD", 1000)], 11)])
    pool = FakePool([session], reauth_on_lease=2)
    run = await run_poller(pool, {"EURUSD"}, idle=session.idle)
    assert session.sent_ids() == [0, 0, 11]
    assert run.stamps() == [[("EURUSD", 1000)]]  # the full snapshot emits nothing new
    assert run.poller.restarts == 2


async def test_restart_from_zero_when_trans_id_goes_back() -> None:
    session = FakeSession(
        [([wire("EURUSD", 1000)], 500), ([wire("EURUSD", 2000)], 3), ([], 3)]
    )
    run = await run_one(session, {"EURUSD"})
    assert session.sent_ids() == [0, 500, 0, 3]
    assert len(run.emitted) == 2
    assert run.poller.restarts == 2  # the session's first round and the backwards id


async def test_group_view_uses_last_group() -> None:
    session = FakeSession([([wire("EURUSD", 1000)], 1)])
    await run_one(session, {"EURUSD"}, group="real\\vip")
    command, params = session.calls[0]
    assert command == "tick/last_group"
    assert params["group"] == "real\\vip"


async def test_fixed_rate_measured_start_to_start() -> None:
    session = FakeSession([([], 1), ([], 1), ([], 1)])
    run = await run_one(session, {"EURUSD"})
    # Each poll takes 30 ms: the sleep makes up the rest of the 100 ms interval.
    assert run.sleeps
    assert all(abs(s - 0.07) < 1e-9 for s in run.sleeps), run.sleeps


async def test_symbol_change_restarts_the_cursor() -> None:
    session = FakeSession([([wire("EURUSD", 1000)], 10)])
    emitted: list[list[FeedTick]] = []

    async def sink(ticks: list[FeedTick]) -> None:
        emitted.append(ticks)

    poller = QuotePoller(
        FakePool([session]),  # type: ignore[arg-type]
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
    poller.set_symbols({"EURUSD"})  # another list: asked from 0
    session.feed([], 11)  # the answer to the old list, which is no longer wanted
    await asyncio.wait_for(session.idle.wait(), 5)
    assert session.calls[-2][1]["symbol"] == ["EURUSD", "GBPUSD"]
    assert session.calls[-1][1] == {"symbol": ["EURUSD"], "trans_id": 0}
    await poller.aclose()
    assert "running" not in repr(poller)


async def test_a_failed_sink_resends_everything() -> None:
    # E.g. Redis was down: the next round is a full snapshot and emits it all again.
    session = FakeSession([([wire("EURUSD", 1000)], 10), ([wire("EURUSD", 1000)], 10)])
    batches: list[list[tuple[str, int]]] = []

    async def sink(ticks: list[FeedTick]) -> None:
        batches.append([(t.symbol, t.stamp) for t in ticks])
        if len(batches) == 1:
            raise ConnectionError

    poller = QuotePoller(
        FakePool([session]),  # type: ignore[arg-type]
        FeedKey("main"),
        sink,
        interval=0.1,
        sleep=lambda _s: asyncio.sleep(0),
    )
    poller.set_symbols({"EURUSD"})
    poller.start()
    await asyncio.wait_for(session.idle.wait(), 5)
    await poller.aclose()
    assert session.sent_ids() == [0, 0, 10]
    assert batches == [[("EURUSD", 1000)], [("EURUSD", 1000)]]
