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
import difflib
import hashlib
import hmac
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
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
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError

from mt5gateway_server.webapi.config import ServerConfig, ServerConfigError

__all__ = [
    "CONFIG_FILE_ENV",
    "MIN_MONEY_IDEMPOTENCY_TTL_SECONDS",
    "SERVER_NAME_MAX_LENGTH",
    "SERVER_NAME_RULE",
    "AuditSettings",
    "GrpcSettings",
    "IdempotencySettings",
    "Mt5ServerSettings",
    "QuoteSettings",
    "RedisSettings",
    "Settings",
    "SettingsError",
    "TelemetrySettings",
    "format_host_port",
    "is_server_name",
    "mask_url_password",
    "parse_host_port",
]

CONFIG_FILE_ENV = "MT5GW_CONFIG_FILE"
# AIP-155 and the issue: a money request_id must be remembered for at least a day.
MIN_MONEY_IDEMPOTENCY_TTL_SECONDS = 86_400

# An MT5 server's name: its ``mt5.<name>`` key, and a request's ``server`` field
# (rpc/validation.py applies the same rule). It becomes a metrics label and part of
# health service names and Redis keys, so: short, ASCII, no separators.
SERVER_NAME_MAX_LENGTH = 64
SERVER_NAME_RULE = (
    f"letters, digits, '-' and '_', at most {SERVER_NAME_MAX_LENGTH} characters"
)
_SERVER_NAME = re.compile("[A-Za-z0-9_-]+")


def is_server_name(text: str) -> bool:
    """Whether ``text`` may name an MT5 server (``SERVER_NAME_RULE``)."""
    return (
        len(text) <= SERVER_NAME_MAX_LENGTH and _SERVER_NAME.fullmatch(text) is not None
    )


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


def format_host_port(host: str, port: int) -> str:
    """``parse_host_port`` reversed (``[::1]:50051`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_listen(value: str) -> str:
    parse_host_port(value)
    return value


# ServerConfig's defaults: written once, there (webapi/ cannot import the settings, and
# tests and scripts build ServerConfig directly).
_WEBAPI_DEFAULTS = ServerConfig(url="", login=1, password=SecretStr(""))
# ServerConfig field -> its setting, where the names differ (settings carry the unit),
# so a broken ServerConfig rule is reported under the variable an operator sets.
_SETTING_NAMES = {
    "ping_interval": "ping_interval_seconds",
    "connect_timeout": "connect_timeout_seconds",
    "read_timeout": "read_timeout_seconds",
    "total_timeout": "total_timeout_seconds",
    "acquire_timeout": "acquire_timeout_seconds",
    "backoff_base": "backoff_base_seconds",
    "backoff_cap": "backoff_cap_seconds",
    "breaker_failure_threshold": "breaker_threshold",
    "breaker_reset_timeout": "breaker_reset_seconds",
    "version": "client_build",
    "server_utc_offset": "server_utc_offset_minutes",
}


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
    """One MT5 server (a manager account on its Web API).

    The names carry their unit; every default and every rule about the values is
    ``ServerConfig``'s (webapi/config.py, written once there), and those rules are
    checked here too, so a bad value is a settings error naming its variable.
    """

    # Filled from the key under ``mt5`` when omitted; must equal it otherwise.
    name: str = ""
    url: AnyHttpUrl
    login: int
    # Exactly one of password / password_file. Never taken from argv.
    password: SecretStr | None = None
    password_file: Path | None = None
    pool_size: int = _WEBAPI_DEFAULTS.pool_size
    # MT5 drops a session idle for 180 s: ping well
    # before (docs/mt5-webapi.md#keep-alive).
    ping_interval_seconds: float = _WEBAPI_DEFAULTS.ping_interval
    connect_timeout_seconds: float = _WEBAPI_DEFAULTS.connect_timeout
    read_timeout_seconds: float = _WEBAPI_DEFAULTS.read_timeout
    total_timeout_seconds: float = _WEBAPI_DEFAULTS.total_timeout
    # false: no certificate or host name checks (a self-signed test server).
    tls_verify: bool = _WEBAPI_DEFAULTS.tls_verify
    ca_file: Path | None = None
    acquire_timeout_seconds: float = _WEBAPI_DEFAULTS.acquire_timeout
    backoff_base_seconds: float = _WEBAPI_DEFAULTS.backoff_base
    backoff_cap_seconds: float = _WEBAPI_DEFAULTS.backoff_cap
    breaker_threshold: int = _WEBAPI_DEFAULTS.breaker_failure_threshold
    breaker_reset_seconds: float = _WEBAPI_DEFAULTS.breaker_reset_timeout
    # Extra attempts of an idempotent read after a transport error.
    read_retries: int = _WEBAPI_DEFAULTS.read_retries
    # Attempts while MT5 answers retcode 1 (history not loaded yet).
    not_ready_retries: int = _WEBAPI_DEFAULTS.not_ready_retries
    # Sent at login; shown in the server's log. No spaces.
    agent: str = _WEBAPI_DEFAULTS.agent
    # The Web API client build sent at login (>= 484).
    client_build: int = _WEBAPI_DEFAULTS.version
    # The server's clock: MT5 record times are its wall clock, not UTC.
    server_utc_offset_minutes: int = (
        int(_WEBAPI_DEFAULTS.server_utc_offset.total_seconds()) // 60
    )
    # Retcodes this server answers instead of HTTP 403 for a forgotten session on a
    # live connection (inferred behaviour, off by default): log in again and repeat.
    reauth_retcodes: tuple[int, ...] = tuple(sorted(_WEBAPI_DEFAULTS.reauth_retcodes))

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[tuple[str, str]] = []
        if (self.password is None) == (self.password_file is None):
            problems.append(
                ("password", "set exactly one of password or password_file")
            )
        if self.ca_file is not None and not self.tls_verify:
            problems.append(("ca_file", "is set but tls_verify is false"))
        try:
            # ServerConfig's rules, without reading the password file yet.
            self._to_server_config(SecretStr(""))
        except ServerConfigError as exc:
            problems += [(_SETTING_NAMES.get(f, f), text) for f, text in exc.problems]
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "mt5_server", "{problem}", {"problem": text}
                        ),
                        loc=(name,),
                        input=getattr(self, name),
                    )
                    for name, text in problems
                ],
            )
        return self

    def to_server_config(self) -> ServerConfig:
        """This server as the Web API client's config; the password is read now."""
        return self._to_server_config(self.read_password())

    def _to_server_config(self, password: SecretStr) -> ServerConfig:
        return ServerConfig(
            url=str(self.url).rstrip("/"),
            login=self.login,
            password=password,
            # A password file is re-read before every handshake: rotate without restart.
            password_source=None if self.password_file is None else self.read_password,
            name=self.name,
            pool_size=self.pool_size,
            ping_interval=self.ping_interval_seconds,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            total_timeout=self.total_timeout_seconds,
            acquire_timeout=self.acquire_timeout_seconds,
            tls_verify=self.tls_verify,
            ca_file=None if self.ca_file is None else str(self.ca_file),
            backoff_base=self.backoff_base_seconds,
            backoff_cap=self.backoff_cap_seconds,
            breaker_failure_threshold=self.breaker_threshold,
            breaker_reset_timeout=self.breaker_reset_seconds,
            read_retries=self.read_retries,
            not_ready_retries=self.not_ready_retries,
            agent=self.agent,
            version=self.client_build,
            server_utc_offset=timedelta(minutes=self.server_utc_offset_minutes),
            reauth_retcodes=frozenset(self.reauth_retcodes),
        )

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
    """The write store: every MT5 write's request_id, state and audit trail."""

    # auto: Redis when redis.url is set (replicas share it), else SQLite in data_dir
    # (durable: survives kill -9). memory: tests only, forgets on restart.
    store: Literal["auto", "sqlite", "redis", "memory"] = "auto"
    # The SQLite file; default <data_dir>/mt5gateway.sqlite3.
    sqlite_path: Path | None = None
    # How long a final outcome is remembered; money needs at least 24 h.
    ttl_seconds: Annotated[int, Field(ge=MIN_MONEY_IDEMPOTENCY_TTL_SECONDS)] = (
        MIN_MONEY_IDEMPOTENCY_TTL_SECONDS
    )
    # The executing replica renews its claim every third of this; if it dies, the
    # claim expires after this long and the next caller reconciles (the SQLite store
    # ends a dead process's leases when it restarts).
    pending_lease_seconds: Annotated[float, Field(gt=0)] = 10.0
    # A concurrent duplicate waits this long for the first call to finish.
    wait_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # In-memory store bound (final outcomes evicted oldest first; open ones never).
    max_entries: Annotated[int, Field(ge=1)] = 100_000
    # After a write's answer is lost, "not applied" is only concluded this long after
    # it was sent (until then: MT5_OUTCOME_UNKNOWN). None: 3 x the MT5 server's
    # read_timeout_seconds. Raise it if anything between the gateway and MT5 (a
    # proxy, a load balancer) can hold a request longer.
    settle_seconds: Annotated[float, Field(gt=0)] | None = None
    # Base32 characters of the reconciliation tag in balance comments ("gw:" + tag +
    # " " take 4 + tag_chars of MT5's 31). Fewer leave more to the caller's comment
    # and raise the (tiny) chance of a false match: see writes/balance.py.
    tag_chars: Annotated[int, Field(ge=6, le=16)] = 10


class QuoteSettings(_Section):
    poll_interval_ms: Annotated[int, Field(ge=10, le=60_000)] = 100
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 15.0
    subscriber_queue_size: Annotated[int, Field(ge=1)] = 1024


class AuditSettings(_Section):
    # The durable trail is in the write store (SQLite table or Redis stream); this
    # feed also writes each record as a JSON line here. None: the structlog logger
    # "audit" (stdout).
    file: Path | None = None
    # With Redis, the audit stream mt5gw:v1:audit is trimmed to about this.
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
    # MT5 servers by name. Serving needs at least one, or demo.
    mt5: dict[str, Mt5ServerSettings] = Field(default_factory=dict)
    # Serve the embedded MT5 simulator (fake money) instead of MT5 servers. Only ever
    # an explicit opt-in (--demo): a mistyped server variable must not end up here.
    demo: bool = False
    # Used when a request names no server; defaults to the only server, if one.
    default_server: str = ""
    redis: RedisSettings = RedisSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    quotes: QuoteSettings = QuoteSettings()
    audit: AuditSettings = AuditSettings()
    # Where the gateway keeps state that must survive a restart (the write store).
    data_dir: Path = Path("mt5gateway-data")

    @model_validator(mode="after")
    def _check_write_store(self) -> Self:
        if self.idempotency.store == "redis" and self.redis.url is None:
            raise ValueError("idempotency.store = redis needs redis.url")
        return self

    @property
    def write_store_backend(self) -> Literal["sqlite", "redis", "memory"]:
        """The write store in use (``idempotency.store`` with auto resolved)."""
        chosen = self.idempotency.store
        if chosen == "auto":
            return "redis" if self.redis.url is not None else "sqlite"
        return chosen

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
        if self.demo and self.mt5:
            raise ValueError(
                "demo serves the embedded simulator instead of MT5 servers: "
                "configure mt5 servers or demo (--demo, MT5GW_DEMO), not both"
            )
        for key, server in self.mt5.items():
            if not is_server_name(key):
                raise ValueError(f"mt5 server name {key!r}: use {SERVER_NAME_RULE}")
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
        """Build the settings to serve with; SettingsError lists every problem.

        Nothing is guessed: a ``config_file`` (it wins over ``MT5GW_CONFIG_FILE``)
        that does not exist, an unknown ``MT5GW_*`` variable or config key, and
        neither an MT5 server nor demo are errors. No message carries a value.
        """
        problems = _environment_problems(os.environ)
        if problems:
            raise SettingsError(
                "\n".join(["invalid environment variables:", *problems])
            )
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
            settings = cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(_describe(exc, path)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            # TOML errors say where (line, column), never the text there.
            raise SettingsError(f"config file {path}: cannot read it: {exc}") from None
        except SourceError as exc:  # a source's own parse error (values not shown)
            raise SettingsError(f"invalid settings: {exc}") from None
        finally:
            _config_file.reset(token)
        if not settings.mt5 and not settings.demo:
            raise SettingsError(_NO_SERVER)
        return settings


_NO_SERVER = """no MT5 server configured. Either configure one:
  MT5GW_MT5__<NAME>__URL=https://mt5.example.com:443
  MT5GW_MT5__<NAME>__LOGIN=<manager login>
  MT5GW_MT5__<NAME>__PASSWORD_FILE=<file holding its password>
(or an [mt5.<name>] table in the config file), or pass --demo (MT5GW_DEMO=true) to
serve the embedded MT5 simulator: simulated accounts, fake money."""


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" (config file {path})" if path is not None else ""
    lines = [f"invalid settings{where}:"]
    for error in exc.errors(include_url=False, include_input=False):
        parts = [str(part) for part in error["loc"]]
        loc = ".".join(parts)
        if not parts:
            lines.append(f"  {_message(error)}")
        elif error["type"] == "extra_forbidden":
            # From the config file: unknown environment variables are caught earlier.
            found = difflib.get_close_matches(parts[-1], _fields_at(parts[:-1]), 1)
            nearest = ".".join([*parts[:-1], *found])
            hint = f"; did you mean {nearest}?" if found else ""
            lines.append(f"  {loc}: unknown setting{hint}")
        else:
            env_name = _ENV_PREFIX + _ENV_DELIMITER.join(parts).upper()
            lines.append(f"  {loc} ({env_name}): {_message(error)}")
    return "\n".join(lines)


def _message(error: ErrorDetails) -> str:
    # Our own rules read better without pydantic's "Value error, " in front.
    return error["msg"].removeprefix("Value error, ")


# -- the environment ------------------------------------------------------------------

_ENV_PREFIX = "MT5GW_"
_ENV_DELIMITER = "__"


def _section_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _setting_at(loc: list[str]) -> object | None:
    """The type of the setting at ``loc`` (``[]`` is Settings, ``["mt5", "main"]`` a
    server, ``["grpc", "listen"]`` a str), or None if no setting is there."""
    target: object = Settings
    while loc:
        model = _section_model(target)
        if model is None:
            return None
        if model is Settings and loc[0] == "mt5" and len(loc) > 1:
            # Below mt5 comes the server's name, any name.
            target, loc = (Mt5ServerSettings if loc[1] else None), loc[2:]
            continue
        info = model.model_fields.get(loc[0])
        if info is None:
            return None
        target, loc = info.annotation, loc[1:]
    return target


def _fields_at(loc: list[str]) -> list[str]:
    model = _section_model(_setting_at(loc))
    return list(model.model_fields) if model is not None else []


def _needs_json(annotation: object) -> bool:
    """pydantic-settings reads lists, tuples, dicts and sections as JSON."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in {types.UnionType, typing.Union}:
        return any(_needs_json(arg) for arg in typing.get_args(annotation))
    origin = typing.get_origin(annotation) or annotation
    return origin in {list, tuple, dict, set, frozenset} or (
        _section_model(origin) is not None
    )


def _valid_env_names(servers: set[str]) -> list[str]:
    names = [CONFIG_FILE_ENV]
    for field in Settings.model_fields:
        top = _ENV_PREFIX + field.upper()
        names.append(top)
        if field == "mt5":
            for server in servers:
                names.append(f"{top}__{server}")
                names += (
                    f"{top}__{server}__{f.upper()}" for f in _fields_at([field, server])
                )
        else:
            names += (f"{top}__{f.upper()}" for f in _fields_at([field]))
    return names


def _server_names(name: str) -> set[str]:
    """Server names ``name`` may mean, typos included (``MT5GW_MT5_MAIN__URL``)."""
    rest = name.removeprefix(_ENV_PREFIX + "MT5")
    if rest == name or not rest.startswith("_"):
        return set()
    rest = rest.lstrip("_")
    return {rest.split(_ENV_DELIMITER)[0], rest.split("_")[0]} - {""}


def _environment_problems(environ: Mapping[str, str]) -> list[str]:
    """One line per ``MT5GW_*`` variable that names no setting (with the nearest one
    that does) or holds a list or section that is not JSON. Values are never shown."""
    ours = {
        key.upper(): value
        for key, value in environ.items()
        if key.upper().startswith(_ENV_PREFIX) and key.upper() != CONFIG_FILE_ENV
    }
    problems: list[str] = []
    for name, value in sorted(ours.items()):
        target = _setting_at(
            name.removeprefix(_ENV_PREFIX).lower().split(_ENV_DELIMITER)
        )
        if target is None:
            problems.append(f"  {name}: not a setting{_nearest_env_name(name)}")
        elif _needs_json(target) and not _is_json(value):
            if _section_model(target) is None and typing.get_origin(target) is not dict:
                problems.append(f'  {name}: must be JSON (a list is ["a", "b"])')
            else:  # most likely a mistyped "__" (MT5GW_MT5__MAIN_URL)
                problems.append(
                    f"  {name}: must be a JSON object (it sets a whole section)"
                    f"{_nearest_env_name(name)}"
                )
    return problems


def _nearest_env_name(name: str) -> str:
    candidates = [n for n in _valid_env_names(_server_names(name)) if n != name]
    nearest = difflib.get_close_matches(name, candidates, 1, cutoff=0.75)
    return f"; did you mean {nearest[0]}?" if nearest else ""


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
