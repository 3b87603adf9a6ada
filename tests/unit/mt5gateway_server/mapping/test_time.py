"""datetime <-> Timestamp / Duration, always UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.mapping.time import (
    datetime_from_timestamp,
    duration_from_timedelta,
    optional_timestamp,
    timedelta_from_duration,
    timestamp_from_datetime,
)

aware = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), UTC]),
)


@given(aware)
def test_round_trip(value: datetime) -> None:
    back = datetime_from_timestamp(timestamp_from_datetime(value))
    assert back == value
    assert back.tzinfo is UTC


def test_epoch_and_before() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert timestamp_from_datetime(epoch) == timestamp_pb2.Timestamp()
    before = timestamp_from_datetime(epoch - timedelta(microseconds=1))
    assert (before.seconds, before.nanos) == (-1, 999_999_000)


def test_offset_is_converted_to_utc() -> None:
    local = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_from_datetime(local).seconds == int(
        datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp()
    )


def test_naive_rejected_and_none_stays_unset() -> None:
    with pytest.raises(ValueError, match="naive"):
        timestamp_from_datetime(datetime(2026, 1, 1))  # noqa: DTZ001
    assert optional_timestamp(None) is None


@given(st.timedeltas(min_value=timedelta(days=-9000), max_value=timedelta(days=9000)))
def test_duration_round_trip(value: timedelta) -> None:
    assert timedelta_from_duration(duration_from_timedelta(value)) == value
