"""ErrorReason: the ErrorInfo.reason strings clients branch on; once shipped, fixed."""

import re
from pathlib import Path

from mt5gateway.v1 import error_reason_pb2

README = Path(__file__).resolve().parents[2] / "protos" / "README.md"

# Golden copy: a value may be added here and in the proto, never renamed or renumbered
# (this holds in shallow clones too, where buf breaking is skipped).
GOLDEN = {
    "ERROR_REASON_UNSPECIFIED": 0,
    "VALIDATION_FAILED": 1,
    "MT5_INVALID_PARAMETERS": 2,
    "CALLER_UNAUTHENTICATED": 3,
    "MT5_PERMISSION_DENIED": 4,
    "MT5_NOT_FOUND": 5,
    "MT5_DUPLICATE": 6,
    "MT5_REJECTED": 7,
    "MT5_NO_MONEY": 8,
    "MT5_RATE_LIMITED": 9,
    "MT5_UNAVAILABLE": 10,
    "POOL_EXHAUSTED": 11,
    "MT5_OUTCOME_UNKNOWN": 12,
    "IDEMPOTENCY_CONFLICT": 13,
    "SERVER_NOT_FOUND": 14,
    "INVALID_PAGE_TOKEN": 15,
    "MT5_ERROR": 16,
    "INTERNAL_ERROR": 17,
    "MT5_AUTH_FAILED": 18,
    "GATEWAY_DRAINING": 19,
    "REQUEST_IN_PROGRESS": 20,
    "STATE_STORE_UNAVAILABLE": 21,
}


def test_values_match_golden() -> None:
    enum = error_reason_pb2.ErrorReason.DESCRIPTOR
    assert {v.name: v.number for v in enum.values} == GOLDEN


def test_name_is_the_reason_string() -> None:
    reason = error_reason_pb2.ErrorReason
    assert reason.Name(reason.MT5_NO_MONEY) == "MT5_NO_MONEY"
    assert reason.Value("MT5_OUTCOME_UNKNOWN") == 12


def test_every_reason_has_a_code_in_the_readme_table() -> None:
    rows = [
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    documented = {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}
    missing = set(GOLDEN) - {"ERROR_REASON_UNSPECIFIED"} - documented
    assert missing == set()
