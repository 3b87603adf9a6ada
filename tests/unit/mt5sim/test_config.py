import pytest
from mt5sim.config import ManagerSpec, SimConfig


def test_manager_spec_parse() -> None:
    assert ManagerSpec.parse("1000:Password1") == ManagerSpec(1000, "Password1", ("*",))
    spec = ManagerSpec.parse("1001:Secret#12:demo\\*,!demo\\vip")
    assert spec == ManagerSpec(1001, "Secret#12", ("demo\\*", "!demo\\vip"))
    assert "Secret" not in repr(spec)


@pytest.mark.parametrize("bad", ["1000", "1000:", "abc:pw", "0:pw", "1000:pw:", ":pw"])
def test_manager_spec_rejects(bad) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        ManagerSpec.parse(bad)


def test_defaults() -> None:
    cfg = SimConfig()
    assert cfg.tls
    assert cfg.port == 0
    assert cfg.managers == (ManagerSpec(1000, "Password1"),)
    assert cfg.idle_timeout == 180.0
    assert cfg.auth_answer_timeout == 10.0
    assert cfg.auth_failure == "http403"
    assert cfg.unauthenticated == "http403"
    assert not cfg.plus_as_space


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth_failure": "teapot"},
        {"unauthenticated": "nope"},
        {"cert_file": "c.pem"},
        {"srv_rand": "xyz"},
        {"srv_rand": "00"},
        {"idle_timeout": 0},
        {"ticks_per_second": -1},
        {"server_timezone": 900},
        {"trans_id_scope": "galaxy"},
        {"server_timezone": -721},
        {"managers": ()},
        {"managers": (ManagerSpec(1, "a"), ManagerSpec(1, "b"))},
    ],
)
def test_validation(kwargs) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        SimConfig(**kwargs)
