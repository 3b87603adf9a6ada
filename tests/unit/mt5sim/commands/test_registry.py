from __future__ import annotations

from mt5sim.commands.registry import COMMANDS

FAMILIES = ("position", "order", "history", "deal")


def test_paths_and_raw_names() -> None:
    assert COMMANDS["user/get"].raw == "USER_GET"
    assert COMMANDS["user/account/get_batch"].raw == "USER_ACCOUNT_GET_BATCH"
    assert COMMANDS["user/check_password"].raw == "USER_PASS_CHECK"
    assert COMMANDS["user/change_password"].raw == "USER_PASS_CHANGE"
    assert COMMANDS["tick/history"].raw == "TICK_HISTORY_GET"
    assert COMMANDS["chart/get"].raw == "CHART_GET"
    assert COMMANDS["trade/balance"].raw == "TRADE_BALANCE"
    for path, command in COMMANDS.items():
        assert command.path == path


def test_transport_commands_are_not_registered() -> None:
    for path in ("auth/start", "auth/answer", "test/access", "quit"):
        assert path not in COMMANDS


def test_catalogue_is_complete() -> None:
    expected = {
        "common/get", "time/get", "time/server",
        "user/add", "user/update", "user/delete", "user/get", "user/get_batch",
        "user/logins", "user/total", "user/group", "user/check_password",
        "user/change_password", "user/account/get", "user/account/get_batch",
        "trade/balance",
        "tick/last", "tick/last_group", "tick/stat", "tick/history", "chart/get",
        "symbol/list", "symbol/total", "symbol/next", "symbol/get", "symbol/get_group",
        "group/list", "group/total", "group/next", "group/get",
    }  # fmt: skip
    for family in FAMILIES:
        expected |= {
            f"{family}/{op}" for op in ("get", "get_total", "get_page", "get_batch")
        }
    assert set(COMMANDS) == expected
