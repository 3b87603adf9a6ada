import pytest
from mt5gateway_server.webapi import errors as e


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (13, e.NotFound),
        (3, e.InvalidParams),
        (4, e.InvalidParams),
        (10013, e.InvalidParams),
        (10016, e.InvalidParams),
        (8, e.NoPermission),
        (12, e.TooFrequent),
        (1018, e.TooFrequent),
        (10024, e.TooFrequent),
        (10019, e.NoMoney),
        (17, e.Duplicate),
        (3004, e.Duplicate),
        (4002, e.Duplicate),
        (10017, e.Rejected),
        (10018, e.Rejected),
        (3008, e.Rejected),
        (4005, e.Rejected),
        (1000, e.AuthFailed),
        (1001, e.AuthFailed),
        (1034, e.AuthFailed),
        (3006, e.AuthFailed),
        (7, e.Unavailable),
        (10012, e.Unavailable),
        (1, e.NotReady),
        (14, e.Partial),
        (2, e.RetcodeError),
        (99999, e.RetcodeError),
    ],
)
def test_retcode_family(code, cls):
    err = e.retcode_error(code, "text", server="main", command="user/get")
    assert type(err) is cls
    assert err.retcode == code
    assert err.text == "text"
    assert isinstance(err, e.RetcodeError)
    assert isinstance(err, e.WebApiError)
    assert str(code) in str(err)
    assert "user/get" in str(err)


def test_auth_failed_is_also_auth_error():
    assert isinstance(e.retcode_error(1001, "Invalid account"), e.AuthError)


def test_retryable_flags():
    assert e.retcode_error(12, "x").retryable
    assert e.retcode_error(9, "x").retryable
    assert not e.retcode_error(13, "x").retryable
    assert not e.retcode_error(10019, "x").retryable


def test_taxonomy():
    for cls in (
        e.ConnectError,
        e.ReadError,
        e.ReadTimeout,
        e.PoolTimeout,
        e.DeadlineExceeded,
    ):
        assert issubclass(cls, e.TransportError)
    assert issubclass(e.ServerNotAuthenticated, e.AuthError)
    assert not issubclass(e.OutcomeUnknown, e.TransportError)
    assert not issubclass(e.CircuitOpen, e.TransportError)


def test_outcome_unknown_carries_params_readonly():
    err = e.OutcomeUnknown("lost", command="trade/balance", params={"login": "1"})
    assert err.command == "trade/balance"
    assert dict(err.params) == {"login": "1"}
    with pytest.raises(TypeError):
        err.params["x"] = "y"  # type: ignore[index]


def test_circuit_open_retry_after():
    err = e.CircuitOpen("down", retry_after=2.5, server="eu")
    assert err.retry_after == 2.5
    assert "eu" in str(err)
