"""Request checks before any MT5 call; every failure is a BadRequest field violation.

    v = Violations.of(request)      # server, page_size, page_token already checked
    v.login("login", request.login)
    v.masks("groups", request.groups, required=True)
    v.check()   # raises ValidationError listing the violations at once

Every request field is bounded here. Text MT5 stores is measured as MT5 measures it,
in UTF-16 code units (its records keep ``wchar_t`` buffers), and may not carry C0/C1
control characters or bidi controls (a comment with U+202E reads backwards in the MT5
terminal and in reports). Selectors (names, masks, lists, page tokens, server names)
get the gateway's limits, numbers MT5's ranges. Descriptions echo at most a short
prefix of a value, never a password.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mt5gateway_server.errors import ECHO_LIMIT, FieldViolation, ValidationError
from mt5gateway_server.mapping.money import decimal_from_proto
from mt5gateway_server.mapping.time import datetime_from_timestamp
from mt5gateway_server.settings import SERVER_NAME_RULE, is_server_name
from mt5gateway_server.webapi import MAX_SYMBOL_CHARS, mt5_length

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal

    from google.protobuf.message import Message
    from google.protobuf.timestamp_pb2 import Timestamp
    from google.type.decimal_pb2 import Decimal as DecimalPb

    from mt5gateway_server.mapping.enums import EnumTable

__all__ = [
    "MAX_CURRENCY_LENGTH",
    "MAX_GROUP_LENGTH",
    "MAX_GROUP_MASKS",
    "MAX_LOGINS",
    "MAX_MASK_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PAGE_TOKEN_LENGTH",
    "MAX_TICKETS",
    "MAX_VIOLATIONS",
    "MT5_TIME_MAX_SECONDS",
    "Violations",
    "has_forbidden_characters",
    "mt5_length",
    "shown",
]

# ------------------------------------------------------------------ limits

MAX_LOGINS = 1000
MAX_TICKETS = 1000
MAX_GROUP_MASKS = 100
MAX_MASK_LENGTH = 128  # group paths are at most 63, symbol paths a bit longer
MAX_NAME_LENGTH = 64  # a symbol name or path
MAX_GROUP_LENGTH = 63  # MT5 group paths: 64 wchar including the terminator
MAX_PAGE_TOKEN_LENGTH = 64  # the gateway's tokens are 23 characters
MAX_CURRENCY_LENGTH = 16  # MT5 currency names are a few letters
MAX_DECIMAL_TEXT = 64  # a decimal string; far more digits than any MT5 double
# A BadRequest lists at most this many violations: clients accept 8 KiB of trailers
# by default (16 KiB at most), beyond that they see RESOURCE_EXHAUSTED, no details.
MAX_VIOLATIONS = 20
# MT5 datetimes run from 1970.01.01 to 3000.12.31 23:59:59 (MQL5 ``datetime``).
MT5_TIME_MAX_SECONDS = 32_535_215_999

# C0 controls, DEL, C1 controls, and the bidi controls: the Arabic letter mark, LRM and
# RLM, the embeddings and overrides U+202A..U+202E and the isolates U+2066..U+2069.
_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Characters MT5 treats as mask syntax or list separators.
_MASK_SYNTAX = frozenset("*!,")
# RFC 4122 text form only: uuid.UUID also takes braces, "urn:uuid:" and any number of
# hyphens, which would let one id have many spellings.
_UUID_TEXT = re.compile(
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_FORBIDDEN_TEXT = "must not contain control or bidi-control characters"


def has_forbidden_characters(text: str) -> bool:
    return _FORBIDDEN.search(text) is not None


def shown(value: str) -> str:
    """``value`` for a description: quoted with control and bidi characters escaped,
    cut to ``errors.ECHO_LIMIT`` characters like every value the gateway echoes."""
    if len(value) > ECHO_LIMIT:
        return repr(value[:ECHO_LIMIT]) + "..."
    return repr(value)


class Violations:
    """Collects field violations; ``check()`` raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    @classmethod
    def of(cls, request: Message) -> Violations:
        """Violations with the fields many requests share already checked:
        ``server``, ``page_size`` and ``page_token`` (those the message has)."""
        v = cls()
        fields = request.DESCRIPTOR.fields_by_name
        values: Any = request
        if "server" in fields:
            v.server("server", values.server)
        if "page_size" in fields:
            v.page_size("page_size", values.page_size)
        if "page_token" in fields:
            v.page_token("page_token", values.page_token)
        return v

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self) -> None:
        items = self.items
        if not items:
            return
        if len(items) > MAX_VIOLATIONS:
            # The last entry stands for the rest, named after the first one left out.
            rest = items[MAX_VIOLATIONS - 1 :]
            note = FieldViolation(rest[0].field, f"and {len(rest)} more violations")
            items = [*items[: MAX_VIOLATIONS - 1], note]
        raise ValidationError(items)

    # ------------------------------------------------------------------ numbers

    def number(self, field: str, value: int, *, low: int, high: int) -> None:
        if not low <= value <= high:
            self.add(field, f"must be within {low}..{high}")

    def login(self, field: str, value: int, *, zero_means: str = "") -> None:
        """A login (1 or more); with ``zero_means``, 0 is allowed and means that."""
        if value > 0 or (value == 0 and zero_means):
            return
        if zero_means:
            self.add(field, f"must be 0 ({zero_means}) or a login of 1 or more")
        else:
            self.add(field, "must be a login of 1 or more")

    def logins(
        self, field: str, values: Sequence[int], *, required: bool = False
    ) -> None:
        self._identifiers(field, values, "login", MAX_LOGINS, required=required)

    def ticket(self, field: str, value: int) -> None:
        if value <= 0:
            self.add(field, "must be a ticket of 1 or more")

    def tickets(self, field: str, values: Sequence[int]) -> None:
        self._identifiers(field, values, "ticket", MAX_TICKETS, required=False)

    def _identifiers(
        self,
        field: str,
        values: Sequence[int],
        kind: str,
        max_count: int,
        *,
        required: bool,
    ) -> None:
        if required and not values:
            self.add(field, f"at least one {kind} is required")
        if len(values) > max_count:
            self.add(field, f"at most {max_count} {kind}s")
            return  # entries of an oversized list are not worth listing
        for index, value in enumerate(values):
            if value <= 0:
                self.add(f"{field}[{index}]", f"must be a {kind} of 1 or more")

    def enum(self, field: str, value: int, table: EnumTable[Any]) -> None:
        if value == 0:
            self.add(field, "is required (UNSPECIFIED is not allowed)")
        elif not table.accepts(value):
            self.add(field, f"unknown value {value}")

    # ------------------------------------------------------------------ text

    def text(
        self,
        field: str,
        value: str,
        *,
        required: bool = True,
        min_length: int = 1,
        max_length: int,
        why: str = "",
    ) -> None:
        """Text MT5 stores: length in UTF-16 code units, no control characters.

        Never echoes ``value`` (passwords go through here too)."""
        if not value or (required and value.isspace()):
            if required:
                self.add(field, "is required" if not value else "must not be blank")
            return
        length = mt5_length(value)
        if not min_length <= length <= max_length:
            bounds = f"at most {max_length}"
            if min_length > 1:
                bounds = f"{min_length}..{max_length}"
            reason = f": {why}" if why else ""
            self.add(field, f"must be {bounds} characters (UTF-16 code units){reason}")
        elif has_forbidden_characters(value):
            self.add(field, _FORBIDDEN_TEXT)

    def name(
        self, field: str, value: str, *, max_length: int = MAX_NAME_LENGTH
    ) -> None:
        """An exact symbol or group name: required, no mask characters."""
        self.text(field, value, max_length=max_length)
        if any(c in value for c in _MASK_SYNTAX):
            self.add(field, "must be a name, not a mask (no '*', '!' or ',')")

    def group(self, field: str, value: str) -> None:
        """An exact group path such as ``demo\\forex``."""
        self.name(field, value, max_length=MAX_GROUP_LENGTH)

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
            return
        for index, value in enumerate(values):
            where = f"{field}[{index}]"
            if not value.strip() or value.strip() == "!":
                self.add(where, "must not be empty")
            elif mt5_length(value) > MAX_MASK_LENGTH:
                self.add(where, f"at most {MAX_MASK_LENGTH} characters")
            elif "," in value or has_forbidden_characters(value):
                self.add(where, "must not contain ',', control or bidi characters")

    def symbols(self, field: str, values: Sequence[str]) -> None:
        """Symbol names or masks for tick commands: at least one, MT5's text limit."""
        self.masks(field, values, required=True, max_count=MAX_LOGINS)
        if len(values) <= MAX_LOGINS and len(",".join(values)) > MAX_SYMBOL_CHARS:
            self.add(field, f"joined with ',' at most {MAX_SYMBOL_CHARS} characters")

    def names(self, field: str, values: Sequence[str], *, max_count: int) -> None:
        if not values:
            self.add(field, "at least one name is required")
        if len(values) > max_count:
            self.add(field, f"at most {max_count} names")
            return
        for index, value in enumerate(values):
            self.name(f"{field}[{index}]", value)

    def server(self, field: str, value: str) -> None:
        """A configured server's name; empty means the default server."""
        if not value:
            return
        # The rule configured names follow (settings.py).
        if not is_server_name(value):
            self.add(field, f"not a server name ({SERVER_NAME_RULE})")

    def currency_code(self, field: str, value: str) -> None:
        if len(value) > MAX_CURRENCY_LENGTH:
            self.add(field, f"at most {MAX_CURRENCY_LENGTH} characters")
        elif has_forbidden_characters(value) or (value and value.isspace()):
            self.add(field, "not a currency code")

    # ------------------------------------------------------------------ requests

    def page_size(self, field: str, value: int) -> None:
        if value < 0:
            self.add(field, "must be 0 or more")

    def page_token(self, field: str, value: str) -> None:
        # Only the length here: mapping.pagination decodes it (INVALID_PAGE_TOKEN).
        if len(value) > MAX_PAGE_TOKEN_LENGTH:
            self.add(field, "not a page token")

    def request_id(self, field: str, value: str) -> None:
        if not value:
            self.add(field, "is required (a UUID)")
        elif _UUID_TEXT.fullmatch(value) is None:
            self.add(field, "must be a UUID in its RFC 4122 text form")

    # ------------------------------------------------------------------ values

    def decimal(
        self, field: str, message: DecimalPb, *, required: bool = True
    ) -> Decimal | None:
        text = message.value
        if not text:
            if required:
                self.add(field, "is required")
            return None
        if len(text) > MAX_DECIMAL_TEXT:
            self.add(f"{field}.value", f"at most {MAX_DECIMAL_TEXT} characters")
            return None
        try:
            value = decimal_from_proto(message)
        except ValueError:
            self.add(f"{field}.value", f"not a decimal number: {shown(text)}")
            return None
        if not value.is_finite():
            self.add(f"{field}.value", "must be finite")
            return None
        return value

    def timestamp(
        self, field: str, parent: Message, *, required: bool = True
    ) -> datetime | None:
        """A time within MT5's range (1970-01-01 .. 3000-12-31 UTC)."""
        name = field.rsplit(".", 1)[-1]
        if not parent.HasField(name):
            if required:
                self.add(field, "is required")
            return None
        stamp: Timestamp = getattr(parent, name)
        if not 0 <= stamp.seconds <= MT5_TIME_MAX_SECONDS:
            self.add(field, "must be within 1970-01-01 and 3000-12-31 (UTC)")
            return None
        try:
            return datetime_from_timestamp(stamp)
        except ValueError:
            self.add(field, "is not a valid time")
            return None

    def time_range(
        self,
        start_field: str,
        start: datetime | None,
        end_field: str,
        end: datetime | None,
    ) -> None:
        if start is not None and end is not None and end < start:
            self.add(end_field, f"must not be before {start_field}")
