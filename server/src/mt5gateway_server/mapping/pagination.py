"""Opaque page tokens (AIP-158) hiding MT5's offset paging.

A token is base64url (no padding) of: version byte, offset (8 bytes) and the first 8
bytes of the request's fingerprint, so a token only works with the filters it was
issued for. ``page_size`` is not part of the fingerprint: callers may change it
between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mt5gateway_server.errors import InvalidPageTokenError, ValidationError

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ["Page", "decode_page", "encode_page", "next_token", "request_fingerprint"]

_VERSION = 1
_LAYOUT = struct.Struct(">BQ8s")
# Fields that select a page rather than what is listed.
_PAGING_FIELDS = ("page_size", "page_token")


@dataclass(frozen=True, slots=True)
class Page:
    offset: int  # records to skip
    size: int  # records to return at most (1..maximum)

    @property
    def end(self) -> int:
        return self.offset + self.size


def request_fingerprint(request: Message) -> str:
    """Hex SHA-256 of the request without its paging fields (deterministic bytes)."""
    copy = type(request)()
    copy.CopyFrom(request)
    for name in _PAGING_FIELDS:
        if name in copy.DESCRIPTOR.fields_by_name:
            copy.ClearField(name)
    data = copy.SerializeToString(deterministic=True)
    kind = request.DESCRIPTOR.full_name.encode()
    return hashlib.sha256(kind + b"\0" + data).hexdigest()


def _fp_bytes(fingerprint: str) -> bytes:
    return hashlib.sha256(fingerprint.encode()).digest()[:8]


def encode_page(offset: int, fingerprint: str) -> str:
    if offset < 0:
        raise ValueError("offset must be >= 0")
    raw = _LAYOUT.pack(_VERSION, offset, _fp_bytes(fingerprint))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_page(
    token: str, page_size: int, fingerprint: str, *, default: int, maximum: int
) -> Page:
    """The page a request asks for; raises ValidationError / InvalidPageTokenError."""
    if page_size < 0:
        raise ValidationError.single("page_size", "must be 0 or more")
    size = default if page_size == 0 else min(page_size, maximum)
    if not token:
        return Page(0, size)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPageTokenError("not a page token") from None
    if len(raw) != _LAYOUT.size:
        raise InvalidPageTokenError("not a page token")
    version, offset, fp = _LAYOUT.unpack(raw)
    if version != _VERSION:
        raise InvalidPageTokenError("not a page token")
    if fp != _fp_bytes(fingerprint):
        raise InvalidPageTokenError(
            "the token was issued for a request with other filters"
        )
    return Page(offset, size)


def next_token(page: Page, total: int, fingerprint: str) -> str:
    """The token after ``page`` when ``total`` records exist, "" at the end."""
    return encode_page(page.end, fingerprint) if page.end < total else ""
