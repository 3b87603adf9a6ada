from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.cache import keys


def test_every_key_has_the_prefix():
    names = [
        keys.AUDIT_STREAM,
        keys.idempotency("/a.B/C", "r"),
        keys.idempotency_lease("/a.B/C", "r"),
        keys.quote_lease("main", "raw"),
        keys.quote_channel("main", "raw"),
        keys.quote_snapshot("main", "raw"),
        keys.quote_interest("main", "raw"),
    ]
    assert all(n.startswith("mt5gw:v1:") for n in names)
    assert len(set(names)) == len(names)


def test_documented_formats():
    method = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
    rid = "7f1c0a4e-2b7d-4c1e-9a51-0d3f1b2c3d4e"
    assert keys.idempotency(method, rid) == f"mt5gw:v1:idem:{method}:{rid}"
    assert keys.quote_lease("main", "raw") == "mt5gw:v1:quotes:lease:main:raw"
    assert keys.quote_channel("main", "raw") == "mt5gw:v1:quotes:main:raw"
    assert keys.quote_interest("a:b", "raw") == "mt5gw:v1:quotes:interest:a%3Ab:raw"
    assert keys.AUDIT_STREAM == "mt5gw:v1:audit"


def test_views():
    assert keys.quote_view() == "raw"
    assert keys.quote_view("") == "raw"
    assert keys.quote_view("real\\pro") == "group:real\\pro"
    assert keys.quote_channel("main", keys.quote_view("demo")) == (
        "mt5gw:v1:quotes:main:group%3Ademo"
    )


def test_colons_in_parts_cannot_collide():
    assert keys.idempotency("a:b", "c") != keys.idempotency("a", "b:c")


def test_empty_parts_rejected():
    with pytest.raises(ValueError, match="empty"):
        keys.idempotency("", "r")


_part = st.text(min_size=1, max_size=12)


@given(_part, _part, _part, _part)
def test_distinct_parts_give_distinct_keys(m1, r1, m2, r2):
    if (m1, r1) != (m2, r2):
        assert keys.idempotency(m1, r1) != keys.idempotency(m2, r2)
