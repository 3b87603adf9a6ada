"""Metrics hooks; the server turns them into OpenTelemetry/Prometheus instruments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
    def pool_state(self, snapshot: PoolSnapshot) -> None: ...

    def acquire(self, server: str, wait_seconds: float, *, ok: bool) -> None: ...

    def handshake(self, server: str, seconds: float, *, ok: bool) -> None: ...

    def request(
        self, server: str, command: str, seconds: float, error: str | None
    ) -> None: ...

    def reconnect(self, server: str, reason: str) -> None: ...


class NullMetrics:
    def pool_state(self, snapshot: PoolSnapshot) -> None:
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
