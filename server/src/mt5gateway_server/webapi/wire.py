"""Wire formats: query building with MT5 escaping, the answer envelope, lenient values.

MT5 sends record fields as JSON strings (``"1.10868"``) but history rows as numbers;
every parser here accepts both. Money and prices become ``Decimal`` straight from the
text, never through ``float``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mt5gateway_server.webapi.errors import ProtocolError

if TYPE_CHECKING:
    import yarl

LOTS_PER_VOLUME = Decimal(10_000)  # Volume, VolumeMin, ...: 1/10 000 lot
LOTS_PER_VOLUME_EXT = Decimal(100_000_000)  # VolumeExt twins: 1/100 000 000 lot
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------- requests

# A JSON request body: an object (or array), sent as text.
JsonBody = Mapping[str, object] | list[object] | None

QueryValue = str | int | Decimal | IntEnum | datetime | Iterable[str | int] | None


def mt5_length(text: str) -> int:
    """Length as MT5 counts it: UTF-16 code units (a character outside the BMP is 2);
    MT5's text fields are fixed wchar buffers."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def mt5_escape(value: str) -> str:
    # Order matters: the backslash first, or the escapes themselves get
    # doubled (docs/mt5-webapi.md#escaping).
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("|", "\\|")
        .replace("\n", "\\\n")
    )


def format_value(value: QueryValue) -> str:  # noqa: PLR0911 - one branch per type
    """One query value as MT5 text (before escaping)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, IntEnum):
        return str(int(value))
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime")
        return str(math.floor((value - _EPOCH).total_seconds()))
    if value is None:
        return ""
    return ",".join(format_value(v) for v in value)


def build_query(params: Mapping[str, QueryValue]) -> str:
    """``a=1&b=x%20y``: MT5 escaping first, then percent-encoding with spaces as %20."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        text = mt5_escape(format_value(value))
        parts.append(f"{quote(name, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def api_root(base: yarl.URL) -> str:
    """The encoded request-target prefix of commands: ``/api/`` under the URL's path."""
    return f"{base.raw_path.rstrip('/')}/api/"


def build_target(root: str, command: str, params: Mapping[str, QueryValue]) -> str:
    """``{root}{command}?{query}``: an HTTP request-target, already encoded."""
    query = build_query(params)
    return f"{root}{command}?{query}" if query else f"{root}{command}"


# ---------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Envelope:
    retcode: int
    text: str
    answer: Any = None
    # Other top-level keys (trans_id, login, srv_rand, ...), as sent.
    fields: Mapping[str, Any] = field(default_factory=dict)


def parse_retcode(raw: object) -> tuple[int, str]:
    text = str(raw).strip()
    head, _, rest = text.partition(" ")
    try:
        return int(head), rest.strip()
    except ValueError:
        raise ProtocolError(f"malformed retcode {text[:40]!r}") from None


def parse_envelope(body: bytes | str) -> Envelope:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("answer is not JSON") from exc
    if not isinstance(data, dict) or "retcode" not in data:
        raise ProtocolError("answer has no retcode")
    code, text = parse_retcode(data["retcode"])
    answer = None
    fields: dict[str, Any] = {}
    for key, value in data.items():
        # The documented common/get example has a stray "answer " key: tolerate it.
        name = key.strip()
        if name == "answer":
            answer = value
        elif name != "retcode":
            fields[name] = value
    return Envelope(code, text, answer, fields)


# ---------------------------------------------------------------------------- values


def to_str(value: object) -> str:
    return "" if value is None else str(value)


def to_int(value: object) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ProtocolError(f"expected an integer, got {value!r}")
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ProtocolError(f"expected an integer, got {text[:40]!r}") from None
    if number != number.to_integral_value():
        raise ProtocolError(f"expected an integer, got {text[:40]!r}")
    return int(number)


def to_decimal(value: object) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # JSON numbers (history rows): repr() is the shortest text that round-trips.
        return Decimal(repr(value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ProtocolError(f"expected a number, got {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ProtocolError("non-finite number")
    return number


@dataclass(frozen=True, slots=True)
class TimeConvention:
    """How MT5 time stamps become aware datetimes.

    MT5 stamps are trade-server wall-clock time written as if it were UTC (standard MT5
    convention, not stated by the Web API docs; docs/mt5-webapi.md#time-zones). With
    ``server_utc_offset`` = 0 (the default, and what mt5sim does) they are taken as UTC;
    set it to the server's offset (``/api/time/get`` TimeZone) to get true UTC instants.
    """

    server_utc_offset: timedelta = timedelta(0)

    def from_seconds(self, value: object) -> datetime | None:
        seconds = to_int(value)
        if seconds == 0:
            return None  # MT5 uses 0 for "never" / "unlimited"
        return self.at_second(seconds)

    def at_second(self, seconds: int) -> datetime:
        """The instant of an MT5 second (a position, so 0 is 1970, not "never")."""
        return _EPOCH + timedelta(seconds=seconds) - self.server_utc_offset

    def from_millis(self, value: object) -> datetime | None:
        millis = to_int(value)
        if millis == 0:
            return None
        return _EPOCH + timedelta(milliseconds=millis) - self.server_utc_offset

    def to_seconds(self, value: datetime) -> int:
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime")
        return math.floor((value + self.server_utc_offset - _EPOCH).total_seconds())


UTC_TIME = TimeConvention()


def lots(record: Mapping[str, Any], ext_key: str, legacy_key: str) -> Decimal:
    """Lots from the 1/10^8 ``...Ext`` field, falling back to the 1/10^4 field."""
    if record.get(ext_key) not in (None, ""):
        return to_decimal(record[ext_key]) / LOTS_PER_VOLUME_EXT
    return to_decimal(record.get(legacy_key)) / LOTS_PER_VOLUME
