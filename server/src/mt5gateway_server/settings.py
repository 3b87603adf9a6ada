"""Gateway settings: environment (``MT5GW_``, nested ``__``) over an optional TOML file.

Precedence, highest first: keyword arguments, environment variables, the config file,
defaults. ``Settings`` is built once (``Settings.load()``) in ``__main__`` and passed
down; no other module reads the environment.

Example environment::

    MT5GW_GRPC__LISTEN=0.0.0.0:50051
    MT5GW_MT5__MAIN__URL=https://mt5.example.com:443
    MT5GW_MT5__MAIN__LOGIN=1001
    MT5GW_MT5__MAIN__PASSWORD_FILE=/run/secrets/mt5-main
    MT5GW_REDIS__URL=redis://redis:6379/0

The same as TOML (``MT5GW_CONFIG_FILE=/etc/mt5gateway.toml``)::

    default_server = "main"
    [mt5.main]
    url = "https://mt5.example.com:443"
    login = 1001
    password_file = "/run/secrets/mt5-main"
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    RedisDsn,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mt5gateway_server.webapi.errors import OUTCOME_OPEN_RETCODES

__all__ = [
    "CONFIG_FILE_ENV",
    "MIN_MONEY_IDEMPOTENCY_TTL_SECONDS",
    "AuditSettings",
    "GrpcSettings",
    "IdempotencySettings",
    "Mt5ServerSettings",
    "QuoteSettings",
    "RedisSettings",
    "Settings",
    "SettingsError",
    "TelemetrySettings",
    "mask_url_password",
    "parse_host_port",
]

CONFIG_FILE_ENV = "MT5GW_CONFIG_FILE"
# AIP-155 and the issue: a money request_id must be remembered for at least a day.
MIN_MONEY_IDEMPOTENCY_TTL_SECONDS = 86_400

# Set only while Settings.load() builds the object, so the TOML source knows the file.
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "mt5gw_config_file", default=None
)


class SettingsError(ValueError):
    """Settings could not be loaded; the message lists every problem, one per line."""


def parse_host_port(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:50051`` for IPv6); port 0 means "any free port"."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected host:port, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port must be a number in {value!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {value!r}")
    return host, port


def _check_listen(value: str) -> str:
    parse_host_port(value)
    return value


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GrpcSettings(_Section):
    listen: str = "127.0.0.1:50051"
    # None: unlimited; otherwise grpc.aio's maximum_concurrent_rpcs.
    max_concurrent_rpcs: Annotated[int, Field(ge=1)] | None = None
    # Drain: in-flight RPCs get this long after the server stops accepting.
    grace_period_seconds: Annotated[float, Field(ge=0)] = 10.0
    # Pause between health NOT_SERVING and stop(), so load balancers notice.
    drain_pause_seconds: Annotated[float, Field(ge=0)] = 0.0
    reflection: bool = True
    # Processes serving the same port (SO_REUSEPORT) under a supervisor; 1 serves in
    # this process. More than 1 needs Redis and a configured MT5 server (__main__).
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # Caller authentication is off while this is empty; otherwise a caller must send
    # one of these keys (metadata ``x-api-key``). JSON list in the environment.
    api_keys: tuple[SecretStr, ...] = ()
    # TLS on the gRPC port: PEM certificate chain and private key (both or neither;
    # neither = plaintext, for a TLS proxy or mesh in front). Read at start-up.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Mutual TLS: callers must present a certificate issued by one of these CAs.
    tls_client_ca_file: Path | None = None

    _v_listen = field_validator("listen")(_check_listen)

    @model_validator(mode="after")
    def _v_tls(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file, or neither")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        for path in (self.tls_cert_file, self.tls_key_file, self.tls_client_ca_file):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file not found: {str(path)!r}")
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    def authenticate(self, presented: str) -> str | None:
        """The caller identity for a presented API key, or None if it matches none.

        The identity (``key-`` + 12 hex of its SHA-256) is safe to log and audit.
        Every key is compared in constant time.
        """
        found: str | None = None
        given = presented.encode()
        for key in self.api_keys:
            secret = key.get_secret_value().encode()
            if hmac.compare_digest(secret, given) and found is None:
                found = "key-" + hashlib.sha256(secret).hexdigest()[:12]
        return found


class Mt5ServerSettings(_Section):
    """One MT5 server (a manager account on its Web API)."""

    # Filled from the key under ``mt5`` when omitted; must equal it otherwise.
    name: str = ""
    url: AnyHttpUrl
    login: Annotated[int, Field(gt=0)]
    # Exactly one of password / password_file. Never taken from argv.
    password: SecretStr | None = None
    password_file: Path | None = None
    pool_size: Annotated[int, Field(ge=1, le=64)] = 5
    # MT5 drops a session idle for 180 s (PROTOCOL.md §3.3): ping well before that.
    ping_interval_seconds: Annotated[float, Field(gt=0, lt=180)] = 20.0
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    read_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    total_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    tls_verify: bool = True
    ca_file: Path | None = None
    acquire_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    backoff_base_seconds: Annotated[float, Field(gt=0)] = 0.1
    backoff_cap_seconds: Annotated[float, Field(gt=0)] = 10.0
    breaker_threshold: Annotated[int, Field(ge=1)] = 5
    breaker_reset_seconds: Annotated[float, Field(gt=0)] = 30.0
    # Retcodes this server answers instead of HTTP 403 for a forgotten session on a
    # live connection (inferred behaviour, off by default): log in again and repeat.
    reauth_retcodes: tuple[Annotated[int, Field(gt=0)], ...] = ()

    @field_validator("reauth_retcodes")
    @classmethod
    def _v_reauth_retcodes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        # Same rule as ServerConfig, checked here so a bad setting is a settings error.
        if OUTCOME_OPEN_RETCODES.intersection(value):
            raise ValueError(
                "must not contain 9 or 10012 (a write so answered may apply)"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.password is None) == (self.password_file is None):
            raise ValueError("set exactly one of password or password_file")
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_cap_seconds must be >= backoff_base_seconds")
        if self.total_timeout_seconds < self.connect_timeout_seconds:
            raise ValueError("total_timeout_seconds must be >= connect_timeout_seconds")
        if self.ca_file is not None and not self.tls_verify:
            raise ValueError("ca_file is set but tls_verify is false")
        return self

    def read_password(self) -> SecretStr:
        """The manager password, read at the point of use (the file may be rotated)."""
        if self.password is not None:
            return self.password
        if self.password_file is None:  # unreachable after validation
            raise SettingsError(f"mt5 server {self.name!r}: no password configured")
        try:
            text = self.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            # The path is fine to show; the content never is.
            raise SettingsError(
                f"mt5 server {self.name!r}: cannot read password_file "
                f"{str(self.password_file)!r}: {exc.strerror}"
            ) from None
        # Secret files conventionally end with a newline that is not part of the secret.
        return SecretStr(text.rstrip("\r\n"))


class RedisSettings(_Section):
    # None: everything stays in process memory (single replica).
    url: RedisDsn | None = None
    socket_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    # Idle connections are PINGed before reuse after this long.
    health_check_interval_seconds: Annotated[int, Field(ge=0)] = 30
    max_connections: Annotated[int, Field(ge=1)] = 64
    # Transient connection errors on reads: retries with exponential jittered backoff.
    retries: Annotated[int, Field(ge=0)] = 3
    backoff_base_seconds: Annotated[float, Field(gt=0)] = 0.05
    backoff_cap_seconds: Annotated[float, Field(gt=0)] = 1.0

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A redis:// URL may carry a password; never show it.
        for name, value in super().__repr_args__():
            if name == "url" and value is not None:
                yield name, mask_url_password(str(value))
            else:
                yield name, value


def mask_url_password(url: str) -> str:
    """``redis://user:secret@host`` -> ``redis://user:***@host``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class TelemetrySettings(_Section):
    # None: no Prometheus endpoint. Port 0 picks a free port (Telemetry.metrics_port).
    metrics_listen: str | None = "127.0.0.1:9464"
    service_name: str = "mt5gateway"
    log_level: LogLevel = "info"
    # auto: console renderer when stdout is a TTY, JSON otherwise.
    log_format: Literal["auto", "json", "console"] = "auto"
    # Where spans go: none (not recorded; log lines still carry a caller's trace id),
    # console (stdout, for debugging) or otlp (OTLP/gRPC to otlp_endpoint).
    traces_exporter: Literal["none", "console", "otlp"] = "none"
    # http:// = plaintext, https:// = TLS (the standard OTLP/gRPC port is 4317).
    otlp_endpoint: str = "http://127.0.0.1:4317"
    # Share of new traces recorded; a caller's sampled flag is always followed.
    trace_sample_ratio: Annotated[float, Field(ge=0, le=1)] = 1.0

    @field_validator("metrics_listen", mode="before")
    @classmethod
    def _v_metrics_listen(cls, value: object) -> object:
        # "" / "off" / "none" switch the endpoint off (an env var cannot be null).
        if value is None or (
            isinstance(value, str) and value.strip().lower() in {"", "off", "none"}
        ):
            return None
        return _check_listen(value) if isinstance(value, str) else value

    @field_validator("otlp_endpoint")
    @classmethod
    def _v_otlp_endpoint(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in {"http", "https"} or not rest:
            raise ValueError("must look like http://host:4317 or https://host:4317")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _v_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class IdempotencySettings(_Section):
    # How long a final outcome is remembered; money needs at least 24 h.
    ttl_seconds: Annotated[int, Field(ge=MIN_MONEY_IDEMPOTENCY_TTL_SECONDS)] = (
        MIN_MONEY_IDEMPOTENCY_TTL_SECONDS
    )
    # The executing replica renews its claim this often-ish; if it dies the claim
    # expires after this long and the next caller must reconcile.
    pending_lease_seconds: Annotated[float, Field(gt=0)] = 30.0
    # A concurrent duplicate waits this long for the first call to finish.
    wait_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # In-memory store bound (final outcomes evicted oldest first; pending never).
    max_entries: Annotated[int, Field(ge=1)] = 100_000


class QuoteSettings(_Section):
    poll_interval_ms: Annotated[int, Field(ge=10, le=60_000)] = 100
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 15.0
    subscriber_queue_size: Annotated[int, Field(ge=1)] = 1024


class AuditSettings(_Section):
    # JSON lines appended here; None: the structlog logger "audit" (stdout).
    file: Path | None = None
    # With Redis, records are also XADDed to mt5gw:v1:audit, trimmed to about this.
    stream_maxlen: Annotated[int, Field(ge=1)] = 1_000_000


class _ConfigFileSource(TomlConfigSettingsSource):
    """TOML file named by Settings.load(config_file) or MT5GW_CONFIG_FILE."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, toml_file=_config_file.get())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MT5GW_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    grpc: GrpcSettings = GrpcSettings()
    # MT5 servers by name. Empty: demo mode with the embedded simulator.
    mt5: dict[str, Mt5ServerSettings] = Field(default_factory=dict)
    # Used when a request names no server; defaults to the only server, if one.
    default_server: str = ""
    redis: RedisSettings = RedisSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    quotes: QuoteSettings = QuoteSettings()
    audit: AuditSettings = AuditSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if _config_file.get() is not None:
            sources.append(_ConfigFileSource(settings_cls))
        return tuple(sources)

    @field_validator("mt5", mode="before")
    @classmethod
    def _name_servers(cls, value: object) -> object:
        # A TOML array of tables ([[mt5]] name = "main") becomes {name: server}.
        if isinstance(value, list):
            by_name: dict[object, object] = {}
            for server in value:
                name = server.get("name") if isinstance(server, Mapping) else None
                if not name:
                    raise ValueError("every [[mt5]] entry needs a name")
                if name in by_name:
                    raise ValueError(f"mt5 server name {name!r} is used twice")
                by_name[name] = server
            value = by_name
        # The dict key is the server's name; fill `name` from it so each server
        # knows who it is when passed alone.
        if not isinstance(value, Mapping):
            return value
        named: dict[object, object] = {}
        for key, server in value.items():
            if isinstance(server, Mapping) and not server.get("name"):
                named[key] = {**server, "name": key}
            elif isinstance(server, Mt5ServerSettings) and not server.name:
                named[key] = server.model_copy(update={"name": key})
            else:
                named[key] = server
        return named

    @model_validator(mode="after")
    def _check_servers(self) -> Self:
        for key, server in self.mt5.items():
            if not key or not key.replace("-", "").replace("_", "").isalnum():
                raise ValueError(
                    f"mt5 server name {key!r}: use letters, digits, '-' and '_'"
                )
            if server.name != key:
                raise ValueError(
                    f"mt5.{key}.name is {server.name!r}; it must equal its key {key!r}"
                )
        if self.default_server and self.default_server not in self.mt5:
            known = ", ".join(sorted(self.mt5)) or "none configured"
            raise ValueError(
                f"default_server {self.default_server!r} is not a configured mt5 "
                f"server ({known})"
            )
        return self

    @property
    def demo_mode(self) -> bool:
        """No MT5 server configured: serve the embedded simulator."""
        return not self.mt5

    @property
    def default_server_name(self) -> str:
        """The server used when a request names none ("" in demo mode)."""
        if self.default_server:
            return self.default_server
        if len(self.mt5) == 1:
            return next(iter(self.mt5))
        return ""

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        **overrides: Any,  # noqa: ANN401
    ) -> Settings:
        """Build the settings once; raises SettingsError with a readable message.

        ``config_file`` wins over ``MT5GW_CONFIG_FILE``; a named file that does not
        exist is an error (a typo must not silently start in demo mode).
        """
        path_text = (
            os.fspath(config_file)
            if config_file is not None
            else os.environ.get(CONFIG_FILE_ENV)
        )
        path = Path(path_text) if path_text else None
        if path is not None and not path.is_file():
            raise SettingsError(f"config file not found: {path}")
        token = _config_file.set(path)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(_describe(exc, path)) from None
        finally:
            _config_file.reset(token)


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" (config file {path})" if path is not None else ""
    lines = [f"invalid settings{where}:"]
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"]) or "settings"
        env_name = "MT5GW_" + "__".join(str(p).upper() for p in error["loc"])
        lines.append(f"  {loc} ({env_name}): {error['msg']}")
    return "\n".join(lines)
