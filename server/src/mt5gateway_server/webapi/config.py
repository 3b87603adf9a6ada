"""Connection settings for one MT5 server (frozen; server Settings map onto it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from mt5gateway_server.webapi.errors import OUTCOME_OPEN_RETCODES

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class ServerConfig:
    url: str  # "https://mt5.broker.example:443"
    login: int  # manager login
    password: SecretStr = field(repr=False)
    name: str = "main"  # registry key and metrics label
    pool_size: int = 5
    ping_interval: float = (
        20.0  # idle seconds before /api/test/access (server drops at 180)
    )
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    acquire_timeout: float = 5.0  # bounded wait for a free session, then PoolTimeout
    tls_verify: bool = True
    ca_file: str | None = None
    # Opt-in for self-signed broker servers: no certificate or host name checks at all.
    tls_insecure: bool = False
    backoff_base: float = 0.1
    backoff_cap: float = 10.0
    breaker_failure_threshold: int = 5
    breaker_reset_timeout: float = 10.0
    read_retries: int = 3  # extra attempts for idempotent reads on transport errors
    not_ready_retries: int = 5  # retcode 1 (history not loaded yet) attempts
    agent: str = "mt5gateway"  # no spaces allowed (§2.1)
    version: int = 3470  # any build >= 484
    server_utc_offset: timedelta = timedelta(0)  # see wire.TimeConvention
    # Retcodes this server sends instead of HTTP 403 when it has forgotten a session
    # but kept the connection (PROTOCOL.md §4.3, inferred: off by default). Such an
    # answer on an established session triggers one re-authentication and a repeat.
    reauth_retcodes: frozenset[int] = frozenset()
    # Called before every handshake when set (e.g. re-reads a password file), so a
    # rotated password is used on the next re-authentication without a restart. If it
    # raises, the last good password is kept.
    password_source: Callable[[], SecretStr] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        password: object = self.password  # callers may pass a plain str
        if not isinstance(password, SecretStr):
            object.__setattr__(self, "password", SecretStr(str(password)))
        if not 1 <= self.pool_size <= 64:
            raise ValueError("pool_size must be within 1..64")
        if self.ping_interval <= 0:
            raise ValueError("ping_interval must be positive")
        if not self.agent or " " in self.agent:
            raise ValueError("agent must be non-empty and without spaces")
        if self.version < 484:
            raise ValueError("version must be >= 484")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.backoff_base <= 0 or self.backoff_cap < self.backoff_base:
            raise ValueError("need 0 < backoff_base <= backoff_cap")
        if self.breaker_failure_threshold < 1:
            raise ValueError("breaker_failure_threshold must be >= 1")
        if self.reauth_retcodes & OUTCOME_OPEN_RETCODES or 0 in self.reauth_retcodes:
            # A write answered 9/10012 may have been applied (balance.py reconciles
            # it); a re-login and a repeat would send it twice.
            raise ValueError(
                "reauth_retcodes must not contain 0, 9 or 10012"
                " (the write's outcome is unknown; it is never repeated)"
            )

    @property
    def keepalive_timeout(self) -> float:
        # A session's connection idle longer than this is closed locally and the next
        # request re-authenticates on a new one (the server drops idle connections
        # after 180 s, §3.2); pings every ping_interval keep it well below.
        return max(60.0, self.ping_interval * 3)
