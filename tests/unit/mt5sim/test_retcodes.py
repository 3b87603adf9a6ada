from mt5sim.retcodes import Mt5Error, Retcode, retcode_string


def test_retcode_wire_form() -> None:
    assert retcode_string(Retcode.OK) == "0 Done"
    assert retcode_string(13) == "13 Not found"
    assert retcode_string(10019) == "10019 No money"
    assert retcode_string(99999) == "99999 Unknown error"
    assert retcode_string(Retcode.AUTH_CLIENT_INVALID) == "1000 Invalid terminal type"
    # The whole auth family 1000-1034 (docs/mt5-webapi.md#retcodes) has its text.
    assert all(
        not retcode_string(c).endswith("Unknown error") for c in range(1000, 1035)
    )


def test_mt5_error_carries_code() -> None:
    err = Mt5Error(Retcode.ERR_PARAMS, "login")
    assert err.code == 3
    assert "3 Invalid parameters: login" in str(err)
