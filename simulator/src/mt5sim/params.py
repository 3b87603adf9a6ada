"""Request parameters: query string + optional JSON body (docs/mt5-webapi.md#requests).

Query decoding: split on ``&`` and the first ``=``, percent-decode as UTF-8 (``%20``
is a space), then MT5-unescape (``\\=``, ``\\|``, ``\\\\``, ``\\<LF>``; any other
backslash is literal). Whether the real server turns ``+`` into a space is unknown; MT5
says spaces must be ``%20``, so by default ``+`` stays a literal plus
(``plus_as_space`` switches).
Query names are case-insensitive; the first occurrence of a name wins. JSON body field
names are case-sensitive (docs/mt5-webapi.md#requests): a handler asking for
``pass_main`` finds the body field ``pass_main`` or ``PassMain``, never ``PASSMAIN``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from collections.abc import Mapping

_UNESCAPABLE = frozenset("=|\\\n")


def mt5_unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n and value[i + 1] in _UNESCAPABLE:
            out.append(value[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def url_decode(value: str, *, plus_as_space: bool = False) -> str:
    """Percent-decode (strict UTF-8; malformed bytes → retcode 3)."""
    if plus_as_space and "+" in value:
        value = value.replace("+", " ")
    if "%" not in value:
        return value
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as exc:
        raise Mt5Error(Retcode.ERR_PARAMS, "query is not valid UTF-8") from exc


def parse_query(raw_query: str, *, plus_as_space: bool = False) -> dict[str, str]:
    """Lower-cased names → decoded, MT5-unescaped values (first occurrence wins)."""
    result: dict[str, str] = {}
    if not raw_query:
        return result
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        key = url_decode(name, plus_as_space=plus_as_space).lower()
        if key and key not in result:
            result[key] = mt5_unescape(url_decode(value, plus_as_space=plus_as_space))
    return result


def parse_body(raw: bytes) -> Any:  # noqa: ANN401 - any JSON value
    """The JSON body regardless of Content-Type; None when empty; bad JSON → 3."""
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Mt5Error(Retcode.ERR_PARAMS, "body is not valid JSON") from exc


def json_scalar_text(value: object) -> str | None:  # noqa: PLR0911
    """A body value as a query would carry it (numbers as their decimal text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Plain decimal notation, never 1e-05 style.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, list):
        items = [json_scalar_text(v) for v in value]
        return ",".join(i for i in items if i is not None)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=512)
def record_name(name: str) -> str:
    """The record (JSON body) spelling of a query name: ``check_margin`` →
    ``CheckMargin``, ``login`` → ``Login``; names with capitals stay as they are."""
    if any(c.isupper() for c in name):
        return name
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _split_list(value: str) -> list[str]:
    return [item for item in (p.strip() for p in value.split(",")) if item]


class RequestParams:
    """Implements ``mt5sim.commands.base.Params``."""

    __slots__ = ("_body", "_query", "json_value", "raw_body")

    def __init__(
        self, query: Mapping[str, str], json_value: object = None, raw_body: bytes = b""
    ) -> None:
        self._query = query
        # Any JSON value (object, array, ...) as sent; ``body`` is only for objects.
        self.json_value = json_value
        self.raw_body = raw_body
        self._body: Mapping[str, Any] | None = (
            json_value if isinstance(json_value, dict) else None
        )

    @classmethod
    def from_request(
        cls, raw_query: str, raw_body: bytes = b"", *, plus_as_space: bool = False
    ) -> RequestParams:
        query = parse_query(raw_query, plus_as_space=plus_as_space)
        return cls(query, parse_body(raw_body), raw_body)

    @property
    def body(self) -> Mapping[str, Any] | None:
        return self._body

    @property
    def query(self) -> Mapping[str, str]:
        return self._query

    def _body_value(self, name: str) -> object:
        """A body field by its exact name or its record spelling (``pass_main`` →
        ``PassMain``). JSON field names are case-sensitive (docs/mt5-webapi.md#requests:
        the entry ``{"LEADCAMPAIGN": ...}`` is incorrect), so no other case variant
        matches."""
        body = self._body
        if not body:
            return None
        value = body.get(name)
        if value is None:
            value = body.get(record_name(name))
        return value

    def get(self, name: str) -> str | None:
        value = self._body_value(name)
        if value is not None:
            return json_scalar_text(value)
        return self._query.get(name.lower())

    def get_list(self, name: str) -> list[str] | None:
        value = self._body_value(name)
        if isinstance(value, list):
            items = [json_scalar_text(v) for v in value]
            return [i.strip() for i in items if i is not None and i.strip()]
        if value is not None:
            text = json_scalar_text(value)
            return _split_list(text) if text is not None else None
        raw = self._query.get(name.lower())
        return None if raw is None else _split_list(raw)

    def __repr__(self) -> str:
        # Names only: values may hold passwords.
        return (
            f"RequestParams(query={sorted(self._query)}, "
            f"body={sorted(self._body) if self._body else None})"
        )
