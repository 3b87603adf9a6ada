"""Request checks before any MT5 call; every failure is a BadRequest field violation.

v = Violations()
v.login("login", request.login)
v.masks("groups", request.groups, required=True)
v.check()   # raises ValidationError listing every violation at once
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from mt5gateway_server.errors import FieldViolation, ValidationError
from mt5gateway_server.mapping.money import decimal_from_proto
from mt5gateway_server.mapping.time import datetime_from_timestamp

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal

    from google.protobuf.message import Message
    from google.protobuf.timestamp_pb2 import Timestamp
    from google.type.decimal_pb2 import Decimal as DecimalPb

    from mt5gateway_server.mapping.enums import EnumTable

__all__ = [
    "MAX_GROUP_MASKS",
    "MAX_LOGINS",
    "MAX_MASK_LENGTH",
    "MAX_SYMBOLS_TEXT",
    "Violations",
]

MAX_LOGINS = 1000
MAX_GROUP_MASKS = 100
MAX_MASK_LENGTH = 128  # group paths are at most 63, symbol paths a bit longer
MAX_SYMBOLS_TEXT = 4096  # MT5's limit for a joined symbol list
MAX_NAME_LENGTH = 64  # a symbol or group name
# Characters MT5 treats as mask syntax or list separators.
_MASK_SYNTAX = frozenset("*!,")


class Violations:
    """Collects field violations; ``check()`` raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self) -> None:
        if self.items:
            raise ValidationError(self.items)

    # ------------------------------------------------------------------ scalars

    def login(self, field: str, value: int) -> None:
        if value <= 0:
            self.add(field, "must be a login of 1 or more")

    def logins(
        self, field: str, values: Sequence[int], *, required: bool = False
    ) -> None:
        if required and not values:
            self.add(field, "at least one login is required")
        if len(values) > MAX_LOGINS:
            self.add(field, f"at most {MAX_LOGINS} logins")
        for index, value in enumerate(values):
            if value <= 0:
                self.add(f"{field}[{index}]", "must be a login of 1 or more")

    def text(
        self,
        field: str,
        value: str,
        *,
        required: bool = True,
        min_length: int = 1,
        max_length: int,
    ) -> None:
        if not value:
            if required:
                self.add(field, "is required")
            return
        if not min_length <= len(value) <= max_length:
            self.add(field, f"must be {min_length}..{max_length} characters")
        elif any(ord(c) < 0x20 for c in value):
            self.add(field, "must not contain control characters")

    def name(self, field: str, value: str) -> None:
        """An exact symbol or group name: required, no mask characters."""
        self.text(field, value, max_length=MAX_NAME_LENGTH)
        if value and _MASK_SYNTAX & set(value):
            self.add(field, "must be a name, not a mask (no '*', '!' or ',')")

    def masks(
        self,
        field: str,
        values: Sequence[str],
        *,
        required: bool = False,
        max_count: int = MAX_GROUP_MASKS,
    ) -> None:
        if required and not values:
            self.add(field, "at least one entry is required")
        if len(values) > max_count:
            self.add(field, f"at most {max_count} entries")
        for index, value in enumerate(values):
            where = f"{field}[{index}]"
            if not value or value == "!":
                self.add(where, "must not be empty")
            elif len(value) > MAX_MASK_LENGTH:
                self.add(where, f"at most {MAX_MASK_LENGTH} characters")
            elif "," in value or any(ord(c) < 0x20 for c in value):
                self.add(where, "must not contain ',' or control characters")

    def symbols(self, field: str, values: Sequence[str]) -> None:
        """Symbol names or masks for tick commands: at least one, MT5's text limit."""
        self.masks(field, values, required=True, max_count=MAX_LOGINS)
        if len(",".join(values)) > MAX_SYMBOLS_TEXT:
            self.add(field, f"joined with ',' at most {MAX_SYMBOLS_TEXT} characters")

    def names(self, field: str, values: Sequence[str], *, max_count: int) -> None:
        if not values:
            self.add(field, "at least one name is required")
        if len(values) > max_count:
            self.add(field, f"at most {max_count} names")
        for index, value in enumerate(values):
            self.name(f"{field}[{index}]", value)

    def enum(self, field: str, value: int, table: EnumTable[Any]) -> None:
        if value == 0:
            self.add(field, "is required (UNSPECIFIED is not allowed)")
        elif not table.accepts(value):
            self.add(field, f"unknown value {value}")

    def page_size(self, field: str, value: int) -> None:
        if value < 0:
            self.add(field, "must be 0 or more")

    def request_id(self, field: str, value: str) -> None:
        if not value:
            self.add(field, "is required (a UUID)")
            return
        try:
            uuid.UUID(value)
        except ValueError:
            self.add(field, "must be a UUID")

    # ------------------------------------------------------------------ values

    def decimal(
        self, field: str, message: DecimalPb, *, required: bool = True
    ) -> Decimal | None:
        if not message.value:
            if required:
                self.add(field, "is required")
            return None
        try:
            value = decimal_from_proto(message)
        except ValueError as exc:
            self.add(f"{field}.value", str(exc))
            return None
        if not value.is_finite():
            self.add(f"{field}.value", "must be finite")
            return None
        return value

    def timestamp(
        self, field: str, parent: Message, *, required: bool = True
    ) -> datetime | None:
        name = field.rsplit(".", 1)[-1]
        if not parent.HasField(name):
            if required:
                self.add(field, "is required")
            return None
        stamp: Timestamp = getattr(parent, name)
        try:
            return datetime_from_timestamp(stamp)
        except (ValueError, OverflowError):
            self.add(field, "is not a valid time")
            return None

    def time_range(
        self,
        start_field: str,
        start: datetime | None,
        end_field: str,
        end: datetime | None,
    ) -> None:
        del start_field
        if start is not None and end is not None and end < start:
            self.add(end_field, "must not be before start_time")
