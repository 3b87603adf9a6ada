"""Connection settings for one MT5 server: the defaults and the rules, in one place.

The gateway builds these from its settings (``Mt5ServerSettings.to_server_config()``,
which takes every default from here and reports these rules as settings errors);
tests and scripts may build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from mt5gateway_server.webapi.errors import OUTCOME_OPEN_RETCODES

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["IDLE_DROP_SECONDS", "ServerConfig", "ServerConfigError"]

# The server drops a session's connection idle this
# long (docs/mt5-webapi.md#keep-alive).
IDLE_DROP_SECONDS = 180.0
# MT5 servers run on their broker's wall clock: UTC-12:00 .. UTC+14:00.
_MIN_UTC_OFFSET, _MAX_UTC_OFFSET = timedelta(hours=-12), timedelta(hours=14)


class ServerConfigError(ValueError):
    """Every rule a ServerConfig breaks, as (field, problem) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{name} {problem}" for name, problem in problems))


@dataclass(frozen=True, slots=True)
class ServerConfig:
    url: str  # "https://mt5.broker.example:443"
    login: int  # manager login
    password: SecretStr = field(repr=False)
    name: str = "main"  # registry key and metrics label
    pool_size: int = 5
    # Idle seconds before /api/test/access; must stay below IDLE_DROP_SECONDS.
    ping_interval: float = 20.0
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0  # one request end to end, >= connect_timeout
    acquire_timeout: float = 5.0  # bounded wait for a free session, then PoolTimeout
    tls_verify: bool = True
    ca_file: str | None = None  # read only when tls_verify is on
    backoff_base: float = 0.1
    backoff_cap: float = 10.0
    breaker_failure_threshold: int = 5
    breaker_reset_timeout: float = 30.0
    read_retries: int = 3  # extra attempts for idempotent reads on transport errors
    not_ready_retries: int = 5  # retcode 1 (history not loaded yet) attempts
    agent: str = "mt5gateway"  # no spaces (docs/mt5-webapi.md#handshake)
    version: int = 3470  # the client build sent at login; any build >= 484
    server_utc_offset: timedelta = timedelta(0)  # see wire.TimeConvention
    # Retcodes this server sends instead of HTTP 403 when it has forgotten a session
    # but kept the connection (docs/mt5-webapi.md#forgotten-sessions, inferred: off by
    # default). Such an answer on an established session triggers one re-authentication
    # and a repeat.
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
        problems = [(name, text) for name, ok, text in _RULES if not ok(self)]
        if problems:
            raise ServerConfigError(problems)

    @property
    def keepalive_timeout(self) -> float:
        # A session's connection idle longer than this is closed locally and the next
        # request re-authenticates on a new one (the server drops idle connections
        # after 180 s, docs/mt5-webapi.md#keep-alive); pings keep it below.
        return max(60.0, self.ping_interval * 3)


# (field, holds, problem otherwise): every rule of a ServerConfig, checked together.
_RULES: tuple[tuple[str, Callable[[ServerConfig], bool], str], ...] = (
    ("login", lambda c: c.login > 0, "must be positive"),
    ("pool_size", lambda c: 1 <= c.pool_size <= 64, "must be within 1..64"),
    (
        "ping_interval",
        lambda c: 0 < c.ping_interval < IDLE_DROP_SECONDS,
        "must be > 0 and < 180 (the server's idle drop)",
    ),
    ("connect_timeout", lambda c: c.connect_timeout > 0, "must be positive"),
    ("read_timeout", lambda c: c.read_timeout > 0, "must be positive"),
    (
        "total_timeout",
        lambda c: c.total_timeout >= c.connect_timeout,
        "must be >= the connect timeout",
    ),
    ("acquire_timeout", lambda c: c.acquire_timeout > 0, "must be positive"),
    ("backoff_base", lambda c: c.backoff_base > 0, "must be positive"),
    (
        "backoff_cap",
        lambda c: c.backoff_cap >= c.backoff_base,
        "must be >= the backoff base",
    ),
    (
        "breaker_failure_threshold",
        lambda c: c.breaker_failure_threshold >= 1,
        "must be >= 1",
    ),
    (
        "breaker_reset_timeout",
        lambda c: c.breaker_reset_timeout > 0,
        "must be positive",
    ),
    ("read_retries", lambda c: c.read_retries >= 0, "must be >= 0"),
    ("not_ready_retries", lambda c: c.not_ready_retries >= 0, "must be >= 0"),
    (
        "agent",
        lambda c: bool(c.agent) and " " not in c.agent,
        "must be non-empty and without spaces",
    ),
    ("version", lambda c: c.version >= 484, "must be >= 484"),
    (
        "server_utc_offset",
        lambda c: _MIN_UTC_OFFSET <= c.server_utc_offset <= _MAX_UTC_OFFSET,
        "must be within -12 h .. +14 h",
    ),
    (
        "reauth_retcodes",
        lambda c: all(code > 0 for code in c.reauth_retcodes),
        "must be positive retcodes",
    ),
    (
        "reauth_retcodes",
        # A write answered 9/10012 may have been applied (the write engine reconciles
        # it); a re-login and a repeat would send it twice.
        lambda c: not c.reauth_retcodes & OUTCOME_OPEN_RETCODES,
        (
            "must not contain 9 or 10012 (a write so answered has an unknown "
            "outcome and is never repeated)"
        ),
    ),
)
