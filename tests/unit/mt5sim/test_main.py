import pytest
from mt5sim.__main__ import parse_config
from mt5sim.config import ManagerSpec


def test_defaults() -> None:
    cfg, level = parse_config([], env={})
    assert (cfg.host, cfg.port, cfg.tls, cfg.seed) == ("127.0.0.1", 8443, True, 1)
    assert cfg.managers == (ManagerSpec(1000, "Password1"),)
    assert level == "INFO"


def test_flags() -> None:
    cfg, _ = parse_config(
        [
            "--host", "0.0.0.0",  # noqa: S104
            "--port", "9000", "--no-tls", "--seed", "7",
            "--manager", "1000:Password1", "--manager", "1001:Secret#12:demo\\*",
            "--idle-timeout", "5", "--ticks-per-second", "0",
            "--auth-failure", "retcode", "--unauthenticated", "retcode",
            "--plus-as-space", "--max-sessions-per-login", "3",
            "--unknown-trans-id", "empty", "--echo-unchanged-trans-id",
            "--case-sensitive-hex", "--issue-cookie", "--server-timezone", "-300",
            "--all-accounts-available", "--trans-id-scope", "connection",
        ],
        env={},
    )  # fmt: skip
    assert not cfg.tls
    assert cfg.port == 9000
    assert cfg.seed == 7
    assert cfg.managers[1] == ManagerSpec(1001, "Secret#12", ("demo\\*",))
    assert cfg.idle_timeout == 5.0
    assert cfg.ticks_per_second == 0.0
    assert cfg.auth_failure == "retcode"
    assert cfg.unauthenticated == "retcode"
    assert cfg.plus_as_space
    assert cfg.max_sessions_per_login == 3
    assert cfg.case_sensitive_hex
    assert cfg.issue_cookie
    assert cfg.server_timezone == -300
    assert cfg.trans_id_scope == "connection"
    assert cfg.broker_options is not None
    assert not cfg.broker_options.unknown_trans_id_full
    assert cfg.broker_options.no_change_echo
    assert not cfg.broker_options.accounts_need_activity


def test_env_and_flag_precedence() -> None:
    env = {
        "MT5SIM_PORT": "9100",
        "MT5SIM_TLS": "0",
        "MT5SIM_SEED": "5",
        "MT5SIM_MANAGERS": "1000:Password1 2000:Other#99:real\\*",
        "MT5SIM_AUTH_FAILURE": "retcode",
        "MT5SIM_ECHO_UNCHANGED_TRANS_ID": "yes",
        "MT5SIM_IDLE_TIMEOUT": "2.5",
        "MT5SIM_SERVER_TIMEZONE": "180",
    }
    cfg, _ = parse_config(["--seed", "6"], env=env)
    assert cfg.port == 9100
    assert not cfg.tls
    assert cfg.seed == 6
    assert [m.login for m in cfg.managers] == [1000, 2000]
    assert cfg.auth_failure == "retcode"
    assert cfg.idle_timeout == 2.5
    assert cfg.server_timezone == 180
    assert cfg.broker_options is not None
    assert cfg.broker_options.no_change_echo
    cfg, _ = parse_config(["--tls"], env=env)
    assert cfg.tls


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--manager", "nope"], {}),
        (["--auth-failure", "x"], {}),
        (["--cert", "c.pem"], {}),
        ([], {"MT5SIM_TLS": "maybe"}),
        ([], {"MT5SIM_PORT": "http"}),
        ([], {"MT5SIM_AUTH_FAILURE": "x"}),
    ],
)
def test_errors_exit_2(argv, env) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_config(argv, env=env)
    assert exc.value.code == 2
