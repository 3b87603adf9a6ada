"""``datetime`` <-> ``google.protobuf.Timestamp`` / ``Duration``, always UTC.

The Web API DTOs already hold true UTC instants (``webapi.wire.TimeConvention``
removed the server offset once); this only changes representation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import duration_pb2, timestamp_pb2

__all__ = [
    "datetime_from_timestamp",
    "duration_from_timedelta",
    "optional_timestamp",
    "timedelta_from_duration",
    "timestamp_fields",
    "timestamp_from_datetime",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = 1_000_000


def timestamp_from_datetime(value: datetime) -> timestamp_pb2.Timestamp:
    """An aware datetime as a Timestamp (exact to the microsecond)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: MT5 times must be converted to UTC first")
    delta = value - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * _MICROS + delta.microseconds
    seconds, micro = divmod(micros, _MICROS)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=micro * 1000)


def optional_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """None (MT5's 0 = "never") stays None, so the proto field stays unset."""
    return None if value is None else timestamp_from_datetime(value)


def timestamp_fields(value: datetime | None) -> dict[str, int] | None:
    """``optional_timestamp`` as the dict a message constructor takes for the field
    (no separate Timestamp built and copied in)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: MT5 times must be converted to UTC first")
    delta = value - _EPOCH
    return {
        "seconds": delta.days * 86_400 + delta.seconds,
        "nanos": delta.microseconds * 1000,
    }


def datetime_from_timestamp(message: timestamp_pb2.Timestamp) -> datetime:
    """UTC datetime; nanoseconds below a microsecond are truncated."""
    if not 0 <= message.nanos < 1_000_000_000:
        raise ValueError("Timestamp.nanos must be within 0..999999999")
    return _EPOCH + timedelta(
        seconds=message.seconds, microseconds=message.nanos // 1000
    )


def duration_from_timedelta(value: timedelta) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromTimedelta(value)
    return out


def timedelta_from_duration(message: duration_pb2.Duration) -> timedelta:
    return message.ToTimedelta()
