"""Fault injection controlled through ``/_sim/faults`` (or ``Simulator.set_faults``).

Scope: ``commands`` (REST names such as ``"user/get"``; legacy paths count under the
same name) limits latency, errors and drops. With ``None``, latency applies to every
request (so a slow handshake can be simulated) while errors and drops spare the
handshake (auth/start, auth/answer) unless it is named explicitly —
``reject_handshakes`` is the handshake fault. The rate limit is one server-wide token
bucket over all non-handshake commands.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

HANDSHAKE_COMMANDS = frozenset({"auth/start", "auth/answer"})


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.pop(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")  # noqa: TRY004 - a 400
    if value < 0:
        raise ValueError(f"{key} must be >= 0")
    return float(value)


def _rate(data: dict[str, Any], key: str) -> float:
    value = _number(data, key, 0.0)
    if value > 1:
        raise ValueError(f"{key} must be within 0..1")
    return value


def _retcode(data: dict[str, Any], key: str, default: int) -> int:
    value = data.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_retcode: int = 2
    drop_rate: float = 0.0
    # Run the handler, then drop: "request applied, answer lost".
    drop_after_apply: bool = False
    commands: tuple[str, ...] | None = None
    # auth/start answered with this retcode (e.g. 1018); None = handshakes allowed.
    reject_handshakes: int | None = None
    rate_limit_rps: float | None = None

    @classmethod
    def from_json(cls, raw: object) -> FaultConfig:
        """Validate a ``POST /_sim/faults`` body; unknown keys are an error."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ValueError("faults must be a JSON object")  # noqa: TRY004
        data: dict[str, Any] = dict(raw)
        commands_raw = data.pop("commands", None)
        commands: tuple[str, ...] | None = None
        if commands_raw is not None:
            if not isinstance(commands_raw, list) or not all(
                isinstance(c, str) for c in commands_raw
            ):
                raise ValueError("commands must be a list of strings")
            commands = tuple(c.strip("/").lower() for c in commands_raw)
        reject_raw = data.pop("reject_handshakes", None)
        reject: int | None
        if reject_raw is None or reject_raw is False:
            reject = None
        elif reject_raw is True:
            reject = 1018
        elif isinstance(reject_raw, int) and reject_raw > 0:
            reject = reject_raw
        else:
            raise ValueError("reject_handshakes must be a boolean or a retcode")
        rps_raw = data.pop("rate_limit_rps", None)
        rps = None if rps_raw is None else _number({"r": rps_raw}, "r", 0.0)
        drop_after = data.pop("drop_after_apply", False)
        if not isinstance(drop_after, bool):
            raise ValueError("drop_after_apply must be a boolean")  # noqa: TRY004
        config = cls(
            latency_ms=_number(data, "latency_ms", 0.0),
            jitter_ms=_number(data, "jitter_ms", 0.0),
            error_rate=_rate(data, "error_rate"),
            error_retcode=_retcode(data, "error_retcode", 2),
            drop_rate=_rate(data, "drop_rate"),
            drop_after_apply=drop_after,
            commands=commands,
            reject_handshakes=reject,
            rate_limit_rps=rps or None,
        )
        if data:
            raise ValueError(f"unknown fault keys: {sorted(data)}")
        return config

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["commands"] = list(self.commands) if self.commands is not None else None
        return data

    @property
    def active(self) -> bool:
        return self != FaultConfig()


class FaultInjector:
    """Decisions for one request; randomness is seeded for repeatable runs."""

    __slots__ = ("_bucket_at", "_rng", "_tokens", "config", "enabled")

    def __init__(self, seed: int = 0) -> None:
        self.config = FaultConfig()
        # Checked first on the hot path: no fault configured, no further work.
        self.enabled = False
        self._rng = random.Random(seed)
        self._tokens = 0.0
        self._bucket_at = 0.0

    def set(self, config: FaultConfig, now: float) -> None:
        self.config = config
        self.enabled = config.active
        # A fresh bucket starts full: one second's worth of requests.
        self._tokens = config.rate_limit_rps or 0.0
        self._bucket_at = now

    def clear(self) -> None:
        self.config = FaultConfig()
        self.enabled = False

    def in_scope(self, command: str) -> bool:
        commands = self.config.commands
        if commands is None:
            return command not in HANDSHAKE_COMMANDS
        return command in commands

    def latency(self, command: str) -> float:
        """Seconds to wait before handling (0 when none)."""
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.jitter_ms <= 0:
            return 0.0
        commands = cfg.commands
        if commands is not None and command not in commands:
            return 0.0
        jitter = self._rng.uniform(0.0, cfg.jitter_ms) if cfg.jitter_ms > 0 else 0.0
        return (cfg.latency_ms + jitter) / 1000.0

    def error(self, command: str) -> int | None:
        cfg = self.config
        if cfg.error_rate <= 0 or not self.in_scope(command):
            return None
        if cfg.error_rate >= 1 or self._rng.random() < cfg.error_rate:
            return cfg.error_retcode
        return None

    def drop(self, command: str) -> bool:
        cfg = self.config
        if cfg.drop_rate <= 0 or not self.in_scope(command):
            return False
        return cfg.drop_rate >= 1 or self._rng.random() < cfg.drop_rate

    def rate_limited(self, command: str, now: float) -> bool:
        """Token bucket: rps tokens per second, burst of one second's worth."""
        rps = self.config.rate_limit_rps
        if rps is None or command in HANDSHAKE_COMMANDS:
            return False
        self._tokens = min(rps, self._tokens + (now - self._bucket_at) * rps)
        self._bucket_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return False
        return True
