from __future__ import annotations

import pytest
from mt5gateway_server.settings import (
    CONFIG_FILE_ENV,
    Mt5ServerSettings,
    Settings,
    SettingsError,
    mask_url_password,
    parse_host_port,
)
from pydantic import SecretStr, ValidationError

SERVER = {"url": "https://mt5.example.com:443", "login": 1001, "password": "hunter2"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os  # noqa: PLC0415

    for name in list(os.environ):
        if name.upper().startswith("MT5GW_"):
            monkeypatch.delenv(name)


def test_defaults_are_demo_mode():
    s = Settings.load()
    assert s.demo_mode
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


def test_unknown_key_in_file_is_an_error(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text("[grpc]\nlisten_typo = 'x'\n")
    with pytest.raises(SettingsError, match=r"grpc\.listen_typo"):
        Settings.load(cfg)


def test_validation_errors_are_readable_and_name_the_env_var():
    with pytest.raises(SettingsError) as info:
        Settings.load(
            mt5={"main": {**SERVER, "pool_size": 0}},
            idempotency={"ttl_seconds": 60},
        )
    text = str(info.value)
    assert "mt5.main.pool_size (MT5GW_MT5__MAIN__POOL_SIZE)" in text
    assert "idempotency.ttl_seconds (MT5GW_IDEMPOTENCY__TTL_SECONDS)" in text
    assert "greater than or equal to 86400" in text
    assert "hunter2" not in text


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


def test_bad_server_name():
    with pytest.raises(SettingsError, match="use letters"):
        Settings.load(mt5={"ma in": SERVER})


@pytest.mark.parametrize("listen", ["nohost", "host:abc", "h:70000", ":50051"])
def test_bad_listen(listen: str):
    with pytest.raises(SettingsError, match=r"grpc\.listen"):
        Settings.load(grpc={"listen": listen})


def test_parse_host_port():
    assert parse_host_port("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_host_port("[::1]:50051") == ("::1", 50051)


def test_metrics_listen_can_be_disabled():
    s = Settings.load(telemetry={"metrics_listen": None, "log_format": "json"})
    assert s.telemetry.metrics_listen is None


@pytest.mark.parametrize("value", ["", "off", "NONE"])
def test_metrics_listen_can_be_disabled_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    monkeypatch.setenv("MT5GW_TELEMETRY__METRICS_LISTEN", value)
    assert Settings.load().telemetry.metrics_listen is None


def test_tracing_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MT5GW_TELEMETRY__TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("MT5GW_TELEMETRY__OTLP_ENDPOINT", "https://otel:4317")
    monkeypatch.setenv("MT5GW_TELEMETRY__TRACE_SAMPLE_RATIO", "0.25")
    tel = Settings.load().telemetry
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
        Settings.load(telemetry={field: value})


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
    s = Settings.load(grpc={"api_keys": ["alpha", "beta"]})
    caller = s.grpc.authenticate("beta")
    assert caller is not None
    assert caller.startswith("key-")
    assert len(caller) == 16
    assert "beta" not in caller
    assert s.grpc.authenticate("alpha") != caller
    assert s.grpc.authenticate("gamma") is None
    assert Settings().grpc.authenticate("") is None
