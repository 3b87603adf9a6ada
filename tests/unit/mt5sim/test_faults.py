import pytest
from mt5sim.faults import FaultConfig, FaultInjector


def test_defaults_inactive() -> None:
    assert not FaultConfig().active
    assert FaultConfig.from_json(None) == FaultConfig()
    assert FaultConfig.from_json({}) == FaultConfig()
    inj = FaultInjector()
    assert not inj.enabled
    assert inj.latency("user/get") == 0.0
    assert inj.error("user/get") is None
    assert not inj.drop("user/get")
    assert not inj.rate_limited("user/get", 0.0)


def test_from_json_round_trip() -> None:
    cfg = FaultConfig.from_json(
        {
            "latency_ms": 10,
            "jitter_ms": 5,
            "error_rate": 0.5,
            "error_retcode": 10019,
            "drop_rate": 0.1,
            "drop_after_apply": True,
            "commands": ["/api/user/get", "Trade/Balance"],
            "reject_handshakes": True,
            "rate_limit_rps": 100,
        }
    )
    assert cfg.commands == ("api/user/get", "trade/balance")
    assert cfg.reject_handshakes == 1018
    assert FaultConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency_ms": True},
        {"error_retcode": -1},
        {"error_retcode": 1.5},
        {"reject_handshakes": 0},
        {"commands": [1]},
        {"unknown": 1},
    ],
)
def test_from_json_rejects(bad) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        FaultConfig.from_json(bad)


def test_scope_spares_handshake_by_default() -> None:
    inj = FaultInjector()
    inj.set(FaultConfig(error_rate=1.0, error_retcode=9, drop_rate=1.0), 0.0)
    assert inj.error("user/get") == 9
    assert inj.error("auth/start") is None
    assert inj.drop("test/access")
    assert not inj.drop("auth/answer")


def test_scope_commands() -> None:
    inj = FaultInjector()
    inj.set(FaultConfig(error_rate=1.0, latency_ms=50, commands=("auth/answer",)), 0.0)
    assert inj.error("auth/answer") == 2
    assert inj.error("user/get") is None
    assert inj.latency("auth/answer") == 0.05
    assert inj.latency("user/get") == 0.0


def test_latency_jitter_bounds() -> None:
    inj = FaultInjector(seed=3)
    inj.set(FaultConfig(latency_ms=100, jitter_ms=20), 0.0)
    values = [inj.latency("x") for _ in range(200)]
    assert all(0.1 <= v <= 0.12 for v in values)
    assert len(set(values)) > 1


def test_error_rate_is_seeded() -> None:
    def run() -> list[int | None]:
        inj = FaultInjector(seed=42)
        inj.set(FaultConfig(error_rate=0.3), 0.0)
        return [inj.error("x") for _ in range(100)]

    first = run()
    assert first == run()
    assert 10 < sum(1 for v in first if v is not None) < 50


def test_rate_limit_token_bucket() -> None:
    inj = FaultInjector()
    inj.set(FaultConfig(rate_limit_rps=10), 100.0)
    allowed = sum(not inj.rate_limited("user/get", 100.0) for _ in range(30))
    assert allowed == 10
    assert not inj.rate_limited("auth/start", 100.0)
    # Half a second refills five tokens.
    allowed = sum(not inj.rate_limited("user/get", 100.5) for _ in range(30))
    assert allowed == 5


def test_clear() -> None:
    inj = FaultInjector()
    inj.set(FaultConfig(error_rate=1.0), 0.0)
    assert inj.enabled
    inj.clear()
    assert not inj.enabled
    assert inj.config == FaultConfig()
