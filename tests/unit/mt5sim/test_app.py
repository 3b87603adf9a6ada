from mt5sim.app import Kind, build_routes, envelope
from mt5sim.commands.base import Command, Reply


def _handler(ctx, params) -> Reply:
    return Reply()


def test_routes_rest_and_legacy() -> None:
    cmd = Command("user/check_password", "USER_PASS_CHECK", _handler)
    routes = build_routes({"user/check_password": cmd})
    assert routes["/api/user/check_password"].command is cmd
    assert routes["/user_pass_check"].command is cmd
    assert routes["/api/auth/start"].kind is Kind.AUTH_START
    assert routes["/auth_answer"].kind is Kind.AUTH_ANSWER
    assert routes["/test_access"].kind is Kind.TEST_ACCESS
    assert routes["/api/quit"].kind is Kind.QUIT
    assert routes["/quit"].name == "quit"


def test_builtins_win_over_commands() -> None:
    routes = build_routes({"quit": Command("quit", "QUIT", _handler)})
    assert routes["/api/quit"].kind is Kind.QUIT


def test_envelope_order_and_omitted_answer() -> None:
    resp = envelope(0, {"trans_id": "5"}, [1])
    assert resp.body == b'{"retcode":"0 Done","trans_id":"5","answer":[1]}'
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert envelope(13).body == b'{"retcode":"13 Not found"}'
    assert envelope(0, answer={"Name": "Пётр"}).body.decode().endswith('"Пётр"}}')
