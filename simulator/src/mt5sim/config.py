"""Simulator settings: a frozen dataclass, filled from code, the CLI or ``MT5SIM_*``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mt5sim.market.broker import BrokerOptions

FailureMode = Literal["http403", "retcode"]
FAILURE_MODES: tuple[FailureMode, ...] = ("http403", "retcode")
TransIdScope = Literal["server", "connection"]
TRANS_ID_SCOPES: tuple[TransIdScope, ...] = ("server", "connection")


@dataclass(frozen=True)
class ManagerSpec:
    """A manager account the simulator accepts; ``groups`` are masks with * and !."""

    login: int
    password: str = field(repr=False)
    groups: tuple[str, ...] = ("*",)

    @classmethod
    def parse(cls, text: str) -> ManagerSpec:
        """``LOGIN:PASSWORD[:MASK,MASK...]`` — the password cannot contain ``:``."""
        parts = text.split(":", 2)
        if len(parts) < 2 or not parts[1]:
            raise ValueError("manager must be LOGIN:PASSWORD[:GROUPMASKS]")
        try:
            login = int(parts[0])
        except ValueError:
            raise ValueError("manager login must be an integer") from None
        if login <= 0:
            raise ValueError("manager login must be positive")
        groups: tuple[str, ...] = ("*",)
        if len(parts) == 3:
            groups = tuple(m.strip() for m in parts[2].split(",") if m.strip())
            if not groups:
                raise ValueError("empty group mask list")
        return cls(login, parts[1], groups)


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = True
    # PEM files; when both are None and tls is on, a self-signed pair is generated.
    cert_file: str | None = None
    key_file: str | None = None
    managers: tuple[ManagerSpec, ...] = (ManagerSpec(1000, "Password1"),)
    seed: int = 1
    # Seconds without a request before the server closes a
    # connection (docs/mt5-webapi.md#keep-alive).
    idle_timeout: float = 180.0
    # auth/start → auth/answer window (docs/mt5-webapi.md#handshake).
    auth_answer_timeout: float = 10.0
    # Price ticks per second per the PriceFeed; 0 disables the feed (static prices).
    ticks_per_second: float = 5.0
    # Wrong/late auth/answer: HTTP 403 empty body, or HTTP 200 + auth_failure_retcode.
    auth_failure: FailureMode = "http403"
    auth_failure_retcode: int = 3006
    # /api/* on an unauthenticated connection: HTTP 403, or 200 + this retcode.
    unauthenticated: FailureMode = "http403"
    unauthenticated_retcode: int = 8
    # Fixed srv_rand (32 hex) for deterministic handshake tests; None = random.
    srv_rand: str | None = None
    # Cap on authenticated connections per manager login (None = unlimited);
    # exceeding it answers auth/answer with this retcode.
    max_sessions_per_login: int | None = None
    max_sessions_retcode: int = 1018
    # Query decoding: does "+" mean a space? (unknown, docs/mt5-webapi.md#escaping).
    plus_as_space: bool = False
    # Compare srv_rand_answer hex case-sensitively
    # (unknown, docs/mt5-webapi.md#password-hash).
    case_sensitive_hex: bool = False
    # Set a (never checked) session cookie on a successful auth/answer, as some
    # third parties claim the real server does (docs/mt5-webapi.md#sessions); sessions
    # stay bound to the connection either way.
    issue_cookie: bool = False
    # Trade-server time zone in minutes east of UTC (time/get TimeZone). MT5 stamps
    # are server wall-clock time written as if it were UTC
    # (inferred, docs/mt5-webapi.md#time-zones), so every time the simulator sends or
    # reads is shifted by this much; 0 = a UTC server.
    server_timezone: int = 0
    # Scope of tick/* trans_id cursors (docs/mt5-webapi.md#tick-cursors): "server"
    # honours any id of the global counter; "connection" honours only ids answered to
    # this session (since its last auth), any other id counts as unknown (BrokerOptions.
    # unknown_trans_id_full: full snapshot, or [] with the current id).
    trans_id_scope: TransIdScope = "server"
    # Builds reported in auth answers.
    version_access: int = 3470
    version_trade: int = 3470
    # Market switches for inferred behaviour (trans_id edge cases, password rules).
    broker_options: BrokerOptions | None = None
    # Grace for in-flight requests when stopping.
    shutdown_timeout: float = 1.0

    def server_now(self) -> float:
        """The trade server's clock: UTC seconds shifted by ``server_timezone``."""
        return time.time() + self.server_timezone * 60

    def _check_modes(self) -> None:
        if self.auth_failure not in FAILURE_MODES:
            raise ValueError(f"auth_failure must be one of {FAILURE_MODES}")
        if self.unauthenticated not in FAILURE_MODES:
            raise ValueError(f"unauthenticated must be one of {FAILURE_MODES}")
        if self.trans_id_scope not in TRANS_ID_SCOPES:
            raise ValueError(f"trans_id_scope must be one of {TRANS_ID_SCOPES}")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")

    def __post_init__(self) -> None:
        self._check_modes()
        if self.srv_rand is not None:
            try:
                ok = len(bytes.fromhex(self.srv_rand)) == 16
            except ValueError:
                ok = False
            if not ok:
                raise ValueError("srv_rand must be 32 hex digits")
        if self.idle_timeout <= 0 or self.auth_answer_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if not -720 <= self.server_timezone <= 840:
            raise ValueError("server_timezone must be within -720..840 minutes")
        if self.ticks_per_second < 0:
            raise ValueError("ticks_per_second must be >= 0")
        if not self.managers:
            raise ValueError("at least one manager is required")
        logins = [m.login for m in self.managers]
        if len(set(logins)) != len(logins):
            raise ValueError("duplicate manager login")
