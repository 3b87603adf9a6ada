"""Metrics hooks; the server turns them into OpenTelemetry/Prometheus instruments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class PoolSnapshot:
    server: str
    size: int
    connecting: int
    ready: int  # authenticated and idle
    busy: int
    reauthenticating: int
    broken: int
    waiting: int  # callers queued for a session


class WebApiMetrics(Protocol):
    # A started pool registers its ``snapshot``; metrics call it when scraped.
    def watch_pool(self, server: str, snapshot: Callable[[], PoolSnapshot]) -> None: ...

    def unwatch_pool(self, server: str) -> None: ...

    def acquire(self, server: str, wait_seconds: float, *, ok: bool) -> None: ...

    def handshake(self, server: str, seconds: float, *, ok: bool) -> None: ...

    # ``error``: None when MT5 answered retcode 0, else the retcode as text ("13")
    # or the class name of the failure ("ReadTimeout").
    def request(
        self, server: str, command: str, seconds: float, error: str | None
    ) -> None: ...

    def reconnect(self, server: str, reason: str) -> None: ...


class NullMetrics:
    def watch_pool(self, server: str, snapshot: Callable[[], PoolSnapshot]) -> None:
        pass

    def unwatch_pool(self, server: str) -> None:
        pass

    def acquire(self, server: str, wait_seconds: float, *, ok: bool) -> None:
        pass

    def handshake(self, server: str, seconds: float, *, ok: bool) -> None:
        pass

    def request(
        self, server: str, command: str, seconds: float, error: str | None
    ) -> None:
        pass

    def reconnect(self, server: str, reason: str) -> None:
        pass
