"""Opaque page tokens bound to the request's filters."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.errors import InvalidPageTokenError, ValidationError
from mt5gateway_server.mapping.pagination import (
    Page,
    decode_page,
    encode_page,
    next_token,
    request_fingerprint,
)

offsets = st.integers(min_value=0, max_value=2**63 - 1)
prints = st.text(min_size=1, max_size=40)


@given(offsets, prints, st.integers(min_value=0, max_value=5000))
def test_token_round_trip(offset: int, fp: str, size: int) -> None:
    token = encode_page(offset, fp)
    assert "=" not in token
    assert set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    page = decode_page(token, size, fp, default=100, maximum=1000)
    assert page.offset == offset
    assert page.size == (100 if size == 0 else min(size, 1000))


@given(offsets, prints, prints)
def test_token_bound_to_fingerprint(offset: int, fp: str, other: str) -> None:
    token = encode_page(offset, fp)
    if other != fp:
        with pytest.raises(InvalidPageTokenError):
            decode_page(token, 0, other, default=10, maximum=10)


@given(st.binary(max_size=40))
def test_garbage_tokens_rejected(raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if not token:
        return
    with pytest.raises(InvalidPageTokenError):
        decode_page(token, 0, "fp", default=10, maximum=10)


@pytest.mark.parametrize("token", ["%%%", "a", "AQ", "!"])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(InvalidPageTokenError) as caught:
        decode_page(token, 0, "fp", default=10, maximum=10)
    assert caught.value.violations[0].field == "page_token"


def test_page_size_rules() -> None:
    assert decode_page("", 0, "fp", default=100, maximum=1000) == Page(0, 100)
    assert decode_page("", 5000, "fp", default=100, maximum=1000) == Page(0, 1000)
    with pytest.raises(ValidationError) as caught:
        decode_page("", -1, "fp", default=100, maximum=1000)
    assert caught.value.violations[0].field == "page_size"


def test_next_token_empty_only_at_the_end() -> None:
    assert next_token(Page(0, 10), 10, "fp") == ""
    token = next_token(Page(0, 10), 11, "fp")
    assert decode_page(token, 10, "fp", default=10, maximum=10) == Page(10, 10)


def test_fingerprint_ignores_paging_fields_only() -> None:
    base = pb.BatchGetUsersRequest(groups=["demo\\*"])
    paged = pb.BatchGetUsersRequest(groups=["demo\\*"], page_size=7, page_token="x")
    other = pb.BatchGetUsersRequest(groups=["real\\*"])
    other_server = pb.BatchGetUsersRequest(server="b", groups=["demo\\*"])
    assert request_fingerprint(base) == request_fingerprint(paged)
    assert request_fingerprint(base) != request_fingerprint(other)
    assert request_fingerprint(base) != request_fingerprint(other_server)
    # Same fields, different request type: different fingerprint.
    accounts = pb.BatchGetAccountsRequest(groups=["demo\\*"])
    assert request_fingerprint(base) != request_fingerprint(accounts)
