from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mt5sim.params import (
    RequestParams,
    json_scalar_text,
    mt5_unescape,
    parse_body,
    parse_query,
    record_name,
    url_decode,
)
from mt5sim.retcodes import Mt5Error


def mt5_escape(value: str) -> str:
    # MetaQuotes' encoder order (docs/mt5-webapi.md#escaping).
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("|", "\\|")
        .replace("\n", "\\\n")
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("John\\|Smith", "John|Smith"),
        ("a\\=b", "a=b"),
        ("a\\\\b", "a\\b"),
        ("a\\\nb", "a\nb"),
        ("manager\\administrators", "manager\\administrators"),
        ("trailing\\", "trailing\\"),
        ("\\\\\\|", "\\|"),
    ],
)
def test_mt5_unescape(raw, expected) -> None:
    assert mt5_unescape(raw) == expected


@settings(deadline=None)  # timing varies on a loaded CI machine
@given(st.text())
def test_escape_round_trip(value: str) -> None:
    assert mt5_unescape(mt5_escape(value)) == value


def test_url_decode() -> None:
    assert url_decode("a%20b") == "a b"
    assert url_decode("a+b") == "a+b"
    assert url_decode("a+b", plus_as_space=True) == "a b"
    assert url_decode("%zz") == "%zz"
    with pytest.raises(Mt5Error) as exc:
        url_decode("%ff")
    assert exc.value.code == 3


def test_parse_query() -> None:
    q = parse_query("Login=1&NAME=a%20b&&flag&name=second&group=demo\\\\forex")
    assert q == {"login": "1", "name": "a b", "flag": "", "group": "demo\\forex"}
    assert parse_query("") == {}


def test_parse_body() -> None:
    assert parse_body(b"") is None
    assert parse_body(b"  ") is None
    assert parse_body(b'{"a": 1}') == {"a": 1}
    for bad in (b"{", b"login=1", b"\xff"):
        with pytest.raises(Mt5Error) as exc:
            parse_body(bad)
        assert exc.value.code == 3


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("x", "x"),
        (5, "5"),
        (True, "1"),
        (False, "0"),
        (100.5, "100.5"),
        (1e-7, "0.0000001"),
        (1e20, "100000000000000000000"),
        ([1, "2"], "1,2"),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_json_scalar_text(value, text) -> None:
    assert json_scalar_text(value) == text


def test_get_body_overrides_query() -> None:
    p = RequestParams.from_request(
        "login=1&name=q&group=g", b'{"Login": 2, "PassMain": "x", "comment": null}'
    )
    assert p.get("login") == "2"  # record spelling of the query name
    assert p.get("pass_main") == "x"
    assert p.get("PassMain") == "x"
    assert p.get("name") == "q"
    assert p.get("comment") is None
    assert p.get("missing") is None
    assert p.body == {"Login": 2, "PassMain": "x", "comment": None}


def test_body_names_are_case_sensitive() -> None:
    # {"LEADCAMPAIGN": ...} is not LeadCampaign (docs/mt5-webapi.md#requests); the query
    # stays in force.
    p = RequestParams.from_request(
        "leadcampaign=q&login=1",
        b'{"LEADCAMPAIGN": "x", "LOGIN": 2, "passmain": "y", "lOgin": 3}',
    )
    assert p.get("LeadCampaign") == "q"
    assert p.get("login") == "1"
    assert p.get("PassMain") is None
    assert p.get("pass_main") is None


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("login", "Login"),
        ("pass_main", "PassMain"),
        ("check_margin", "CheckMargin"),
        ("PassMain", "PassMain"),
        ("ID", "ID"),
    ],
)
def test_record_name(name, record) -> None:
    assert record_name(name) == record


def test_exact_body_name_wins() -> None:
    p = RequestParams.from_request("", b'{"login": "lower", "Login": "upper"}')
    assert p.get("Login") == "upper"
    assert p.get("login") == "lower"


def test_get_list() -> None:
    p = RequestParams.from_request(
        "login=1,%202,,3&group=demo*",
        b'{"ticket": [5, "6"], "symbol": "EURUSD, GBPUSD"}',
    )
    assert p.get_list("login") == ["1", "2", "3"]
    assert p.get_list("group") == ["demo*"]
    assert p.get_list("ticket") == ["5", "6"]
    assert p.get_list("symbol") == ["EURUSD", "GBPUSD"]
    assert p.get_list("nothing") is None
    assert RequestParams.from_request("login=").get_list("login") == []


def test_non_object_body() -> None:
    p = RequestParams.from_request("a=1", b"[1, 2]")
    assert p.body is None
    assert p.json_value == [1, 2]
    assert p.get("a") == "1"


def test_repr_hides_values() -> None:
    p = RequestParams.from_request("login=1", b'{"Password": "secret"}')
    assert "secret" not in repr(p)
    assert "Password" in repr(p)


@settings(deadline=None)  # timing varies on a loaded CI machine
@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.text(st.characters(exclude_categories=("Cs",))),
        max_size=6,
    )
)
def test_query_round_trip(params: dict[str, str]) -> None:
    raw = "&".join(
        f"{k.upper()}={quote(mt5_escape(v), safe='')}" for k, v in params.items()
    )
    assert parse_query(raw) == params
