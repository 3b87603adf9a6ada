from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from mt5gateway_server.settings import (
    CONFIG_FILE_ENV,
    Mt5ServerSettings,
    Settings,
    SettingsError,
    is_server_name,
    mask_url_password,
    parse_host_port,
)
from mt5gateway_server.webapi import ServerConfig
from pydantic import SecretStr, ValidationError

SERVER = {"url": "https://mt5.example.com:443", "login": 1001, "password": "hunter2"}


def demo(**overrides: Any) -> Settings:
    """Settings.load() needs an MT5 server or demo; these tests need neither."""
    return Settings.load(demo=True, **overrides)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os  # noqa: PLC0415

    for name in list(os.environ):
        if name.upper().startswith("MT5GW_"):
            monkeypatch.delenv(name)


def test_no_server_and_no_demo_refuses_to_load():
    with pytest.raises(SettingsError) as info:
        Settings.load()
    text = str(info.value)
    assert "no MT5 server configured" in text
    assert "MT5GW_MT5__<NAME>__URL" in text
    assert "--demo (MT5GW_DEMO=true)" in text


def test_demo_is_an_explicit_opt_in(monkeypatch: pytest.MonkeyPatch):
    assert not Settings().demo
    monkeypatch.setenv("MT5GW_DEMO", "true")
    assert Settings.load().demo


def test_demo_and_servers_together_are_refused():
    with pytest.raises(SettingsError, match="not both"):
        Settings.load(demo=True, mt5={"main": SERVER})


def test_defaults():
    s = demo()
    assert s.mt5 == {}
    assert s.default_server_name == ""
    assert s.grpc.listen == "127.0.0.1:50051"
    assert s.grpc.reflection
    assert not s.grpc.auth_enabled
    assert s.redis.url is None
    assert s.telemetry.metrics_listen == "127.0.0.1:9464"
    assert s.idempotency.ttl_seconds == 86_400
    assert s.quotes.poll_interval_ms == 100
    assert s.quotes.heartbeat_seconds == 15


def test_frozen():
    s = Settings()
    with pytest.raises(ValidationError):
        s.default_server = "x"  # type: ignore[misc]


def test_nested_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MT5GW_GRPC__LISTEN", "0.0.0.0:6000")
    monkeypatch.setenv("MT5GW_GRPC__API_KEYS", '["k1", "k2"]')
    monkeypatch.setenv("MT5GW_MT5__MAIN__URL", "https://mt5.example.com:443")
    monkeypatch.setenv("MT5GW_MT5__MAIN__LOGIN", "1001")
    monkeypatch.setenv("MT5GW_MT5__MAIN__PASSWORD", "hunter2")
    monkeypatch.setenv("MT5GW_MT5__MAIN__POOL_SIZE", "8")
    monkeypatch.setenv("MT5GW_REDIS__URL", "redis://127.0.0.1:6379/2")
    monkeypatch.setenv("MT5GW_TELEMETRY__LOG_LEVEL", "DEBUG")
    s = Settings.load()
    assert s.grpc.listen == "0.0.0.0:6000"
    assert [k.get_secret_value() for k in s.grpc.api_keys] == ["k1", "k2"]
    assert s.grpc.auth_enabled
    main = s.mt5["main"]
    assert main.name == "main"
    assert main.pool_size == 8
    assert main.read_password().get_secret_value() == "hunter2"
    assert s.default_server_name == "main"
    assert str(s.redis.url) == "redis://127.0.0.1:6379/2"
    assert s.telemetry.log_level == "debug"


def test_toml_file_with_env_override(tmp_path, monkeypatch: pytest.MonkeyPatch):
    secret = tmp_path / "main.pw"
    secret.write_text("from-file\n")
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        f"""
default_server = "live"
[grpc]
listen = "127.0.0.1:7000"
[mt5.live]
url = "https://live.example.com"
login = 5
password_file = "{secret}"
[mt5.demo]
url = "https://demo.example.com"
login = 6
password = "demo-pw"
pool_size = 2
[idempotency]
ttl_seconds = 172800
"""
    )
    monkeypatch.setenv("MT5GW_GRPC__LISTEN", "127.0.0.1:7001")
    s = Settings.load(cfg)
    assert s.grpc.listen == "127.0.0.1:7001"  # env beats the file
    assert set(s.mt5) == {"live", "demo"}
    assert s.default_server_name == "live"
    assert s.mt5["live"].read_password().get_secret_value() == "from-file"
    assert s.mt5["demo"].pool_size == 2
    assert s.idempotency.ttl_seconds == 172_800

    monkeypatch.setenv(CONFIG_FILE_ENV, str(cfg))
    assert set(Settings.load().mt5) == {"live", "demo"}


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="config file not found"):
        Settings.load(tmp_path / "nope.toml")


def test_unknown_keys_in_file_are_named_with_the_nearest_setting(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        "demo = true\nlisten = 'x'\n[grpc]\nlisten_typo = 'x'\n"
        "[mt5.main]\nurl = 'https://a'\nlogin = 1\npassword = 'p'\npool_szie = 2\n"
        "[nonsense]\nx = 1\n"
    )
    with pytest.raises(SettingsError) as info:
        Settings.load(cfg)
    lines = str(info.value).splitlines()
    assert lines[0] == f"invalid settings (config file {cfg}):"
    assert "  grpc.listen_typo: unknown setting; did you mean grpc.listen?" in lines
    assert (
        "  mt5.main.pool_szie: unknown setting; did you mean mt5.main.pool_size?"
        in (lines)
    )
    assert "  nonsense: unknown setting" in lines
    assert any(line.startswith("  listen: unknown setting") for line in lines)


def test_toml_syntax_error_is_a_settings_error_without_the_text(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text("[grpc]\napi_keys = s3cret-key\n")
    with pytest.raises(SettingsError, match="cannot read it") as info:
        Settings.load(cfg)
    assert "s3cret-key" not in str(info.value)
    assert "line" in str(info.value)


# -- the environment ----------------------------------------------------------------


def test_mistyped_server_variable_is_an_error_not_demo(monkeypatch: pytest.MonkeyPatch):
    # The bug: one underscore, and the gateway used to start on the simulator.
    monkeypatch.setenv("MT5GW_MT5_MAIN__URL", "https://mt5.example.com:443")
    monkeypatch.setenv("MT5GW_MT5__MAIN__LOGIN", "1001")
    monkeypatch.setenv("MT5GW_MT5__MAIN__PASSWORD", "hunter2")
    with pytest.raises(SettingsError) as info:
        Settings.load()
    text = str(info.value)
    assert "MT5GW_MT5_MAIN__URL: not a setting; did you mean MT5GW_MT5__MAIN__URL?" in (
        text
    )
    assert "mt5.example.com" not in text
    assert "hunter2" not in text


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("MT5GW_GRPC_LISTEN", "MT5GW_GRPC__LISTEN"),
        ("mt5gw_grpc__listn", "MT5GW_GRPC__LISTEN"),
        ("MT5GW_MT5__MAIN__URLL", "MT5GW_MT5__MAIN__URL"),
        ("MT5GW_MT5__EU__POOLSIZE", "MT5GW_MT5__EU__POOL_SIZE"),
        ("MT5GW_TELEMETRY__LOGLEVEL", "MT5GW_TELEMETRY__LOG_LEVEL"),
        ("MT5GW_DEMO__X", "MT5GW_DEMO"),
        ("MT5GW_CONFIGFILE", "MT5GW_CONFIG_FILE"),
    ],
)
def test_unknown_variable_names_the_nearest_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, nearest: str
):
    monkeypatch.setenv(name, "1")
    with pytest.raises(SettingsError) as info:
        demo()
    assert f"  {name.upper()}: not a setting; did you mean {nearest}?" in str(
        info.value
    )


def test_every_unknown_variable_is_listed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MT5GW_NOTHING_LIKE_IT", "1")
    monkeypatch.setenv("MT5GW_GRPC__LISTEN_TYPO", "1")
    monkeypatch.setenv("MT5GW_GRPC__LISTEN", "127.0.0.1:1")  # valid: not listed
    with pytest.raises(SettingsError) as info:
        demo()
    assert str(info.value).splitlines() == [
        "invalid environment variables:",
        "  MT5GW_GRPC__LISTEN_TYPO: not a setting; did you mean MT5GW_GRPC__LISTEN?",
        "  MT5GW_NOTHING_LIKE_IT: not a setting",
    ]


def test_every_documented_kind_of_variable_is_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path
):
    cfg = tmp_path / "gw.toml"
    cfg.write_text("")
    monkeypatch.setenv("MT5GW_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("MT5GW_DEFAULT_SERVER", "eu")
    monkeypatch.setenv("MT5GW_MT5__EU__URL", "https://eu.example.com")
    monkeypatch.setenv("MT5GW_MT5__EU__LOGIN", "7")
    monkeypatch.setenv("MT5GW_MT5__EU__PASSWORD", "pw")
    monkeypatch.setenv("MT5GW_MT5__EU__REAUTH_RETCODES", "[8]")
    monkeypatch.setenv(
        "MT5GW_MT5__ASIA", '{"url": "https://a", "login": 8, "password": "p"}'
    )
    monkeypatch.setenv("MT5GW_QUOTES", '{"poll_interval_ms": 50}')
    monkeypatch.setenv("MT5GW_TELEMETRY__LOG_FORMAT", "json")
    s = Settings.load()
    assert set(s.mt5) == {"eu", "asia"}
    assert s.mt5["eu"].reauth_retcodes == (8,)
    assert s.quotes.poll_interval_ms == 50


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("MT5GW_GRPC__API_KEYS", "s3cret-key", 'must be JSON (a list is ["a", "b"])'),
        ("MT5GW_GRPC__API_KEYS", "['s3cret-key']", "must be JSON"),
        ("MT5GW_MT5__MAIN__REAUTH_RETCODES", "8,9", "must be JSON"),
        ("MT5GW_GRPC", "s3cret-key", "must be a JSON object (it sets a whole section)"),
        (
            "MT5GW_MT5__MAIN_URL",
            "s3cret-key",
            (
                "must be a JSON object (it sets a whole section); "
                "did you mean MT5GW_MT5__MAIN__URL?"
            ),
        ),
    ],
)
def test_non_json_value_is_a_settings_error_without_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        demo()
    text = str(info.value)
    assert f"  {name}: {problem}" in text
    assert "s3cret-key" not in text


def test_validation_errors_are_readable_and_name_the_env_var():
    with pytest.raises(SettingsError) as info:
        Settings.load(
            mt5={"main": {**SERVER, "pool_size": 0}},
            idempotency={"ttl_seconds": 60},
        )
    text = str(info.value)
    assert "mt5.main.pool_size (MT5GW_MT5__MAIN__POOL_SIZE): must be within 1..64" in (
        text
    )
    assert "idempotency.ttl_seconds (MT5GW_IDEMPOTENCY__TTL_SECONDS)" in text
    assert "greater than or equal to 86400" in text
    assert "hunter2" not in text


def test_server_config_rules_are_reported_under_the_settings_names():
    # The rules are ServerConfig's (webapi); every broken one is listed at once.
    bad = {
        **SERVER,
        "login": 0,
        "connect_timeout_seconds": 5,
        "total_timeout_seconds": 1,
        "backoff_base_seconds": 2,
        "backoff_cap_seconds": 1,
        "breaker_threshold": 0,
        "client_build": 100,
        "server_utc_offset_minutes": 15 * 60,
        "agent": "with space",
        "reauth_retcodes": [9],
    }
    with pytest.raises(SettingsError) as info:
        Settings.load(mt5={"main": bad})
    lines = str(info.value).splitlines()[1:]
    assert [line.split(" (")[0].strip() for line in lines] == [
        "mt5.main.login",
        "mt5.main.total_timeout_seconds",
        "mt5.main.backoff_cap_seconds",
        "mt5.main.breaker_threshold",
        "mt5.main.agent",
        "mt5.main.client_build",
        "mt5.main.server_utc_offset_minutes",
        "mt5.main.reauth_retcodes",
    ]
    assert (
        "(MT5GW_MT5__MAIN__REAUTH_RETCODES): must not contain 9 or 10012" in (lines[-1])
    )


@pytest.mark.parametrize("pool_size", [1, 64])
def test_pool_size_bounds_ok(pool_size: int):
    assert Mt5ServerSettings(**SERVER, pool_size=pool_size).pool_size == pool_size


@pytest.mark.parametrize("pool_size", [0, 65])
def test_pool_size_bounds_rejected(pool_size: int):
    with pytest.raises(ValidationError):
        Mt5ServerSettings(**SERVER, pool_size=pool_size)


def test_password_xor_password_file(tmp_path):
    no_pw = {k: v for k, v in SERVER.items() if k != "password"}
    with pytest.raises(ValidationError, match="exactly one of password"):
        Mt5ServerSettings(**no_pw)
    with pytest.raises(ValidationError, match="exactly one of password"):
        Mt5ServerSettings(**SERVER, password_file=tmp_path / "x")


def test_unreadable_password_file_error_has_no_secret(tmp_path):
    no_pw = {k: v for k, v in SERVER.items() if k != "password"}
    server = Mt5ServerSettings(**no_pw, name="main", password_file=tmp_path / "missing")
    with pytest.raises(SettingsError, match="cannot read password_file"):
        server.read_password()


def test_password_file_is_read_at_point_of_use(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("one\n")
    no_pw = {k: v for k, v in SERVER.items() if k != "password"}
    server = Mt5ServerSettings(**no_pw, password_file=pw)
    assert server.read_password().get_secret_value() == "one"
    pw.write_text("two")  # rotated
    assert server.read_password().get_secret_value() == "two"


def test_default_server_must_exist():
    with pytest.raises(SettingsError, match="default_server 'nope'"):
        Settings.load(mt5={"main": SERVER}, default_server="nope")


def test_ambiguous_default_server_is_empty():
    s = Settings.load(mt5={"a": SERVER, "b": SERVER})
    assert s.default_server_name == ""
    assert s.mt5["b"].name == "b"


def test_name_must_match_key():
    with pytest.raises(SettingsError, match="must equal its key"):
        Settings.load(mt5={"main": {**SERVER, "name": "other"}})


SERVER_NAMES_REFUSED = ["ma in", "", "x" * 65, "caf\u00e9", "a.b", "a/b", "\u0663"]
SERVER_NAMES_ACCEPTED = ["main", "x" * 64, "Live-2_eu"]


@pytest.mark.parametrize("key", SERVER_NAMES_REFUSED)
def test_bad_server_name(key: str):
    assert not is_server_name(key)
    with pytest.raises(
        SettingsError, match="use letters, digits, '-' and '_', at most 64"
    ):
        Settings.load(mt5={key: SERVER})


@pytest.mark.parametrize("key", SERVER_NAMES_ACCEPTED)
def test_good_server_name(key: str):
    assert is_server_name(key)
    assert Settings.load(mt5={key: SERVER}).mt5[key].name == key


@pytest.mark.parametrize("listen", ["nohost", "host:abc", "h:70000", ":50051"])
def test_bad_listen(listen: str):
    with pytest.raises(SettingsError, match=r"grpc\.listen"):
        demo(grpc={"listen": listen})


def test_parse_host_port():
    assert parse_host_port("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_host_port("[::1]:50051") == ("::1", 50051)


def test_metrics_listen_can_be_disabled():
    s = demo(telemetry={"metrics_listen": None, "log_format": "json"})
    assert s.telemetry.metrics_listen is None


@pytest.mark.parametrize("value", ["", "off", "NONE"])
def test_metrics_listen_can_be_disabled_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    monkeypatch.setenv("MT5GW_TELEMETRY__METRICS_LISTEN", value)
    assert demo().telemetry.metrics_listen is None


def test_tracing_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MT5GW_TELEMETRY__TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("MT5GW_TELEMETRY__OTLP_ENDPOINT", "https://otel:4317")
    monkeypatch.setenv("MT5GW_TELEMETRY__TRACE_SAMPLE_RATIO", "0.25")
    tel = demo().telemetry
    assert (tel.traces_exporter, tel.otlp_endpoint, tel.trace_sample_ratio) == (
        "otlp",
        "https://otel:4317",
        0.25,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("traces_exporter", "jaeger"),
        ("otlp_endpoint", "otel:4317"),
        ("trace_sample_ratio", 1.5),
    ],
)
def test_bad_tracing_settings_are_rejected(field: str, value: object):
    with pytest.raises(SettingsError, match=field):
        demo(telemetry={field: value})


def test_defaults_are_server_configs():
    # One source of defaults: an unset setting is ServerConfig's default.
    built = Mt5ServerSettings(**SERVER, name="main").to_server_config()
    assert built.url == "https://mt5.example.com"  # no trailing "/", default port
    assert built == ServerConfig(
        url=built.url, login=1001, password="hunter2", name="main"
    )
    assert built.read_timeout == 10.0
    assert built.breaker_reset_timeout == 30.0


# Every ServerConfig field a gateway operator may set: setting -> (value, field, value).
REACHABLE: dict[str, tuple[object, str, object]] = {
    "pool_size": (9, "pool_size", 9),
    "ping_interval_seconds": (7.5, "ping_interval", 7.5),
    "connect_timeout_seconds": (1.5, "connect_timeout", 1.5),
    "read_timeout_seconds": (3.5, "read_timeout", 3.5),
    "total_timeout_seconds": (9.5, "total_timeout", 9.5),
    "acquire_timeout_seconds": (0.5, "acquire_timeout", 0.5),
    "tls_verify": (False, "tls_verify", False),
    "ca_file": ("/etc/ca.pem", "ca_file", "/etc/ca.pem"),
    "backoff_base_seconds": (0.2, "backoff_base", 0.2),
    "backoff_cap_seconds": (4.0, "backoff_cap", 4.0),
    "breaker_threshold": (2, "breaker_failure_threshold", 2),
    "breaker_reset_seconds": (3.0, "breaker_reset_timeout", 3.0),
    "read_retries": (0, "read_retries", 0),
    "not_ready_retries": (1, "not_ready_retries", 1),
    "agent": ("crm-gw", "agent", "crm-gw"),
    "client_build": (4410, "version", 4410),
    "server_utc_offset_minutes": (150, "server_utc_offset", timedelta(hours=2.5)),
    "reauth_retcodes": ([8, 7], "reauth_retcodes", frozenset({7, 8})),
}


@pytest.mark.parametrize("setting", sorted(REACHABLE))
def test_every_knob_reaches_server_config(setting: str):
    value, field, expected = REACHABLE[setting]
    extra: dict[str, object] = {"tls_verify": True} if setting == "ca_file" else {}
    server = Mt5ServerSettings(**SERVER, name="main", **extra, **{setting: value})
    assert getattr(server.to_server_config(), field) == expected


def test_no_server_config_field_is_left_out():
    # Set by the converter from elsewhere.
    derived = {"url", "login", "password", "password_source", "name"}
    fields = {f.name for f in dataclasses.fields(ServerConfig)}
    assert fields - derived == {field for _, field, _ in REACHABLE.values()}


def test_password_file_is_read_by_the_converter_and_before_each_login(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("one\n")
    no_pw = {k: v for k, v in SERVER.items() if k != "password"}
    config = Mt5ServerSettings(**no_pw, password_file=pw).to_server_config()
    assert config.password.get_secret_value() == "one"
    assert config.password_source is not None
    pw.write_text("two")
    assert config.password_source().get_secret_value() == "two"


def test_missing_password_file_is_not_read_at_load(tmp_path):
    # Checked when the pool starts (docker secrets may not be mounted where the
    # settings are validated, e.g. tests/unit/test_docker_files.py).
    no_pw = {k: v for k, v in SERVER.items() if k != "password"}
    server = Mt5ServerSettings(**no_pw, name="main", password_file=tmp_path / "gone")
    with pytest.raises(SettingsError, match="cannot read password_file"):
        server.to_server_config()


def test_ca_file_needs_tls_verify():
    with pytest.raises(SettingsError, match=r"ca_file.*is set but tls_verify is false"):
        Settings.load(mt5={"main": {**SERVER, "ca_file": "/x", "tls_verify": False}})


def test_ping_interval_must_beat_the_idle_drop():
    with pytest.raises(SettingsError, match="ping_interval_seconds"):
        Settings.load(mt5={"main": {**SERVER, "ping_interval_seconds": 180}})


def test_secrets_never_in_repr_or_str():
    s = Settings.load(
        mt5={"main": SERVER},
        grpc={"api_keys": [SecretStr("api-key-value")]},
        redis={"url": "redis://user:redispw@127.0.0.1:6379/0"},
    )
    for text in (repr(s), str(s), repr(s.mt5["main"]), repr(s.redis)):
        assert "hunter2" not in text
        assert "api-key-value" not in text
        assert "redispw" not in text
    assert "redis://user:***@127.0.0.1:6379/0" in repr(s.redis)


def test_mask_url_password():
    assert mask_url_password("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert mask_url_password("redis://h:1/0") == "redis://h:1/0"
    assert mask_url_password("redis://user@h") == "redis://user@h"


def test_mt5_as_array_of_tables(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        """
[[mt5]]
name = "live"
url = "https://live.example.com"
login = 5
password = "a"
[[mt5]]
name = "demo"
url = "https://demo.example.com"
login = 6
password = "b"
"""
    )
    s = Settings.load(cfg)
    assert list(s.mt5) == ["live", "demo"]
    assert s.mt5["demo"].login == 6


def test_mt5_array_names_unique_and_required():
    with pytest.raises(SettingsError, match="used twice"):
        Settings.load(mt5=[{**SERVER, "name": "a"}, {**SERVER, "name": "a"}])
    with pytest.raises(SettingsError, match="needs a name"):
        Settings.load(mt5=[SERVER])


def test_api_key_authentication():
    s = demo(grpc={"api_keys": ["alpha", "beta"]})
    caller = s.grpc.authenticate("beta")
    assert caller is not None
    assert caller.startswith("key-")
    assert len(caller) == 16
    assert "beta" not in caller
    assert s.grpc.authenticate("alpha") != caller
    assert s.grpc.authenticate("gamma") is None
    assert Settings().grpc.authenticate("") is None
