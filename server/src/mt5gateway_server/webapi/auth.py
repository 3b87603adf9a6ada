"""The MT5 Web API password hash (docs/mt5-webapi.md#password-hash).

Written from the protocol description only; the simulator has its own implementation so
that a shared bug cannot make both sides agree on a wrong hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os

_SALT = b"WebAPI"


def password_hash(password: str) -> bytes:
    # MD5 over UTF-16LE without BOM, then MD5 over the *binary* digest + "WebAPI".
    first = hashlib.md5(password.encode("utf-16-le"), usedforsecurity=False).digest()
    return hashlib.md5(first + _SALT, usedforsecurity=False).digest()


def rand_answer(pw_hash: bytes, rand_hex: str) -> str:
    # The random value is hex on the wire but hashed as its 16 raw bytes.
    raw = bytes.fromhex(rand_hex)
    return hashlib.md5(pw_hash + raw, usedforsecurity=False).hexdigest()


def new_cli_rand() -> str:
    return os.urandom(16).hex()


def answers_match(expected: str, received: str) -> bool:
    # Constant-time compare; the server may send upper-case hex.
    return hmac.compare_digest(expected.lower(), received.strip().lower())
