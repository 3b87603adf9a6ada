from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from mt5gateway_server.webapi import (
    MAX_HISTORY_ROWS,
    MAX_TICK_SPAN,
    HistoryPosition,
    NewUser,
    NotReady,
    Partial,
    ServerConfig,
    UserUpdate,
    WebApiClient,
)
from mt5gateway_server.webapi._requests import user_body
from mt5gateway_server.webapi.models import parse_tick_rows
from mt5gateway_server.webapi.session import scrub
from mt5gateway_server.webapi.wire import Envelope
from pydantic import SecretStr

T0 = datetime(2024, 1, 1, tzinfo=UTC)
S0 = int(T0.timestamp())


class FakePool:
    """Stands in for SessionPool: records calls, answers from a script."""

    def __init__(self, answers):
        self.config = ServerConfig(url="http://x.invalid", login=1, password="p")
        self.answers = list(answers)
        self.calls = []
        self.sleeps = []

    async def request(
        self, command, params=None, *, body=None, write=False, accept=frozenset()
    ):
        self.calls.append((command, dict(params or {}), body, write))
        env = self.answers.pop(0)
        assert env.retcode == 0 or env.retcode in accept
        return env

    async def sleep(self, delay):
        self.sleeps.append(delay)

    def client(self):
        return WebApiClient(self, self.config, sleep=self.sleep)


def ms(sec, frac=0):
    return (S0 + sec) * 1000 + frac


async def test_tick_history_continues_after_partial_without_duplicates():
    first = [[ms(0), 1.1, 1.2], [ms(1), 1.1, 1.2], [ms(2, 100), 1.1, 1.2]]
    second = [[ms(2, 100), 1.1, 1.2], [ms(2, 900), 1.3, 1.4], [ms(3), 1.1, 1.2]]
    pool = FakePool(
        [
            Envelope(1, "OK/None"),
            Envelope(14, "Operation has not been completed", first),
            Envelope(0, "Done", second),
        ]
    )
    client = pool.client()
    page = await client.tick_history(
        "EURUSD", T0, datetime(2024, 1, 2, tzinfo=UTC), "ba"
    )
    assert page.next is None
    rows = page.rows
    assert [r.time.timestamp() for r in rows if r.time] == [
        S0,
        S0 + 1,
        S0 + 2.1,
        S0 + 2.9,
        S0 + 3,
    ]
    assert rows[3].bid == Decimal("1.3")
    froms = [c[1]["from"] for c in pool.calls]
    assert froms == [S0, S0, S0 + 2]
    assert pool.calls[0][1]["data"] == "dba"
    assert pool.sleeps == [0.1]


def tick_rows(*stamps):
    return [[ms(sec, frac), 1.1, 1.2] for sec, frac in stamps]


async def test_history_stops_at_the_limit_and_resumes_inside_a_second():
    # Three rows share second 2; the page ends after the first of them.
    answer = tick_rows((0, 0), (1, 0), (2, 100), (2, 200), (2, 300), (3, 0))
    pool = FakePool([Envelope(0, "Done", answer)])
    client = pool.client()
    end = T0 + timedelta(days=1)
    first = await client.tick_history("EURUSD", T0, end, "ba", limit=3)
    assert [r.time for r in first.rows] == [r.time for r in parse(answer[:3])]
    assert first.next == HistoryPosition(T0 + timedelta(seconds=2), 1)
    # The next page asks from that second and drops the row already returned.
    pool.answers.append(Envelope(0, "Done", answer[2:]))
    second = await client.tick_history(
        "EURUSD", T0, end, "ba", limit=1, resume=first.next
    )
    assert pool.calls[1][1]["from"] == S0 + 2
    assert [r.time for r in second.rows] == [r.time for r in parse(answer[3:4])]
    assert second.next == HistoryPosition(T0 + timedelta(seconds=2), 2)
    pool.answers.append(Envelope(0, "Done", answer[2:]))
    last = await client.tick_history(
        "EURUSD", T0, end, "ba", limit=2, resume=second.next
    )
    assert [r.time for r in last.rows] == [r.time for r in parse(answer[4:])]
    assert last.next is None  # the range ended inside the page


async def test_history_does_not_ask_again_once_the_page_is_full():
    first = tick_rows((0, 0), (1, 0), (2, 0))
    pool = FakePool([Envelope(14, "partial", first)])
    client = pool.client()
    page = await client.tick_history("EURUSD", T0, T0 + timedelta(days=1), limit=2)
    assert len(page.rows) == 2
    assert len(pool.calls) == 1  # the partial answer's rest is never fetched
    assert page.next == HistoryPosition(T0 + timedelta(seconds=2), 0)


async def test_read_limits_are_checked_before_any_request():
    pool = FakePool([])
    client = pool.client()
    with pytest.raises(ValueError, match="longer than 31 days"):
        await client.tick_history("EURUSD", T0, T0 + MAX_TICK_SPAN + timedelta(1))
    with pytest.raises(ValueError, match="limit"):
        await client.chart_get("EURUSD", T0, T0, limit=MAX_HISTORY_ROWS + 1)
    with pytest.raises(ValueError, match="at most 1000 logins"):
        await client.deal_get_batch(logins=range(1001), from_=T0, to=T0)
    assert pool.calls == []


def parse(rows):
    return parse_tick_rows(rows, "dba")


async def test_history_not_ready_is_bounded():
    pool = FakePool([Envelope(1, "OK/None")] * 10)
    client = pool.client()
    with pytest.raises(NotReady):
        await client.chart_get("EURUSD", T0, T0)
    assert len(pool.calls) == 6  # 1 + not_ready_retries
    assert pool.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6]


async def test_partial_without_progress_raises():
    rows = [[S0, 1, 2, 0.5, 1.5]]
    pool = FakePool([Envelope(14, "partial", rows)])
    client = pool.client()
    with pytest.raises(Partial):
        await client.chart_get("EURUSD", T0, T0, "ohlc")


async def test_passwords_only_in_bodies_and_hidden_from_repr():
    user = {"Login": "7", "Group": "demo\\forex", "Name": "A"}
    pool = FakePool([Envelope(0, "Done", user, {"login": "7"}), Envelope(0, "Done")])
    client = pool.client()
    new = NewUser(
        group="demo\\forex",
        name="A",
        leverage=100,
        password_main=SecretStr("Main1234!x"),
        password_investor="Inv1234!xy",
    )
    assert "1234" not in repr(new)
    await client.user_add(new)
    command, params, body, write = pool.calls[0]
    assert (command, params, write) == ("user/add", {}, True)
    assert body["PassMain"] == "Main1234!x"
    assert body["PassInvestor"] == "Inv1234!xy"
    assert body["Leverage"] == "100"
    await client.user_change_password(7, SecretStr("Secret99!z"))
    command, params, body, write = pool.calls[1]
    assert params == {}
    assert body == {"Login": "7", "Type": "main", "Password": "Secret99!z"}


def test_scrub_redacts_passwords():
    out = scrub(
        {"Login": 7, "Password": "x", "PassMain": "y", "comment": "c", "n": None}
    )
    assert out == {
        "Login": "7",
        "Password": "<redacted>",
        "PassMain": "<redacted>",
        "comment": "c",
    }


async def test_long_batch_lists_move_to_the_body():
    pool = FakePool([Envelope(0, "Done", []), Envelope(0, "Done", [])])
    client = pool.client()
    await client.user_get_batch(logins=[1, 2])
    assert pool.calls[0][1] == {"login": ["1", "2"], "group": None}
    assert pool.calls[0][2] is None
    many = list(range(100_000, 100_500))
    await client.deal_get_batch(logins=many, from_=T0, to=T0, symbols=["EURUSD"])
    _, query, body, write = pool.calls[1]
    assert body == {"login": [str(x) for x in many]}
    assert query == {
        "group": None,
        "ticket": None,
        "symbol": ["EURUSD"],
        "from": S0,
        "to": S0,
    }
    assert not write


def test_user_bodies_use_mt5_field_names():
    update = UserUpdate(zip_code="1010", lead_campaign="spring", first_name="Ann")
    assert user_body(update) == {
        "ZipCode": "1010",
        "LeadCampaign": "spring",
        "FirstName": "Ann",
    }
    new = NewUser(
        group="demo",
        name="A",
        leverage=50,
        password_main="Main1234!x",
        password_investor="Inv1234!xy",
    )
    assert user_body(new) == {
        "Group": "demo",
        "Name": "A",
        "Leverage": "50",
        "Login": "0",
    }  # passwords are added by the caller, as secrets
