"""History reads (``tick/history``, ``chart/get``) a page at a time, in bounded memory.

MT5 answers a range whole (up to 16 MB, then retcode 14 with the first part), so one
read asks answer by answer and stops once it has ``limit`` rows; the returned
``HistoryPage.next`` says where the rest starts. A read holds at most one answer and
one page, whatever the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from mt5gateway_server.webapi._prices import HistoryPage, HistoryPosition, HistoryRow
from mt5gateway_server.webapi.errors import (
    NOT_READY_RETCODE,
    PARTIAL_RETCODE,
    NotReady,
    Partial,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from mt5gateway_server.webapi._prices import ChartBar, TickRow
    from mt5gateway_server.webapi._requests import RequestInterface
    from mt5gateway_server.webapi.retry import RetryPolicy
    from mt5gateway_server.webapi.wire import Envelope, QueryValue, TimeConvention

# The most rows one read collects: fetching stops there (the rest is reached with
# ``resume``), so one read holds at most this plus one answer.
MAX_HISTORY_ROWS = 100_000
# The widest time range of one read.
MAX_TICK_SPAN = timedelta(days=31)
MAX_BAR_SPAN = timedelta(days=366)

_ACCEPT = frozenset({NOT_READY_RETCODE, PARTIAL_RETCODE})


@dataclass(frozen=True, slots=True)
class HistoryBounds:
    max_span: timedelta
    limit: int
    resume: HistoryPosition | None

    def check(self, from_: datetime, to: datetime) -> None:
        if to - from_ > self.max_span:
            raise ValueError(f"history range longer than {self.max_span}")
        if not 1 <= self.limit <= MAX_HISTORY_ROWS:
            raise ValueError(f"need 1 <= limit <= {MAX_HISTORY_ROWS}")
        start = from_.replace(microsecond=0)
        if self.resume is not None and self.resume.time < start:
            raise ValueError("resume position before the range")


class HistoryReader:
    def __init__(
        self,
        transport: RequestInterface,
        server: str,
        time_convention: TimeConvention,
        not_ready: RetryPolicy,
    ) -> None:
        self._transport = transport
        self._server = server
        self._tc = time_convention
        self._not_ready = not_ready

    async def read(
        self,
        command: str,
        query: tuple[str, datetime, datetime, str],
        parse: Callable[[object], list[HistoryRow]],
        bounds: HistoryBounds,
    ) -> HistoryPage[HistoryRow]:
        """Answer by answer until ``limit`` rows. Retcode 1 (not loaded yet): asked
        again (``not_ready``). Retcode 14 (partial): keep the rows before the last
        row's second, continue from it."""
        symbol, from_, to, data = query
        bounds.check(from_, to)
        resume = bounds.resume or HistoryPosition(from_.replace(microsecond=0))
        if resume.time > to:
            return HistoryPage([], None)
        first = start = self._tc.to_seconds(resume.time)
        end = self._tc.to_seconds(to)
        out: list[HistoryRow] = []
        while True:
            env = await self._answer(
                command, {"symbol": symbol, "from": start, "to": end, "data": data}
            )
            rows = parse(env.answer)
            cut = self._partial_cut(env, rows, start, command)
            if cut is not None:
                rows = [r for r in rows if self._second(r) < cut]
            if start == first and resume.skip:
                rows = self._after_seen(rows, first, resume.skip)
            room = bounds.limit - len(out)
            out.extend(rows[:room])
            if len(rows) > room:  # the page is full inside this answer
                second = self._second(rows[room])
                seen = self._count_at(out, second)
                if second == first:
                    seen += resume.skip
                return HistoryPage(out, self._position(second, seen))
            if cut is None:
                return HistoryPage(out, None)
            if len(out) == bounds.limit:
                return HistoryPage(out, self._position(cut, 0))
            start = cut

    async def _answer(self, command: str, params: Mapping[str, QueryValue]) -> Envelope:
        async def attempt() -> Envelope:
            env = await self._transport.request(command, params, accept=_ACCEPT)
            if env.retcode == NOT_READY_RETCODE:
                raise NotReady(
                    env.retcode, env.text, server=self._server, command=command
                )
            return env

        return await self._not_ready.call(
            attempt, is_retryable=lambda exc: isinstance(exc, NotReady)
        )

    def _partial_cut(
        self,
        env: Envelope,
        rows: Sequence[TickRow | ChartBar],
        start: int,
        command: str,
    ) -> int | None:
        """Retcode 14: the second from which the rest has to be asked again."""
        if env.retcode != PARTIAL_RETCODE or not rows:
            return None
        cut = self._second(rows[-1])
        if rows[-1].time is None or cut <= start:
            # One second holds more than a whole answer: cannot make progress.
            raise Partial(env.retcode, env.text, server=self._server, command=command)
        return cut

    def _position(self, second: int, skip: int) -> HistoryPosition:
        return HistoryPosition(self._tc.at_second(second), skip)

    def _second(self, row: TickRow | ChartBar) -> int:
        return 0 if row.time is None else self._tc.to_seconds(row.time)

    def _after_seen(
        self, rows: list[HistoryRow], second: int, skip: int
    ) -> list[HistoryRow]:
        """``rows`` without the first ``skip`` rows of ``second`` (an earlier page)."""
        n = 0
        while n < len(rows) and n < skip and self._second(rows[n]) == second:
            n += 1
        return rows[n:]

    def _count_at(self, rows: list[HistoryRow], second: int) -> int:
        """Rows of ``second`` at the end of ``rows`` (sorted oldest first)."""
        n = 0
        for row in reversed(rows):
            if self._second(row) != second:
                break
            n += 1
        return n
