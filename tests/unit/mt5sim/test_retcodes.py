from mt5sim.retcodes import Mt5Error, Retcode, retcode_string


def test_retcode_wire_form() -> None:
    assert retcode_string(Retcode.OK) == "0 Done"
    assert retcode_string(13) == "13 Not found"
    assert retcode_string(10019) == "10019 No money"
    assert retcode_string(99999) == "99999 Unknown error"


def test_mt5_error_carries_code() -> None:
    err = Mt5Error(Retcode.ERR_PARAMS, "login")
    assert err.code == 3
    assert "3 Invalid parameters: login" in str(err)
